"""torch's ONNX exporter set up once, for the exporter and the PyTorch importer: opset, quiet, one-line errors.

`export.export_onnx` (a design → `.onnx`) and `importers.torch_import` (an `nn.Module` or `.pt2` → ONNX
in memory → a design) run the same exporter the same way; each passes its own error class and wording.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import torch

# ONNX opset 18: the lowest the torch.export-based exporter emits natively, and read by ONNX Runtime ≥ 1.14,
# OpenVINO, TensorRT 8.6+ and onnx2tf; every NN Studio layer (sine, GELU, BatchNorm, pools) maps onto it.
ONNX_OPSET = 18
_CHATTY_LOGGERS = ("torch.onnx", "torch.export", "torch._export", "torch._dynamo", "torch.fx", "onnxscript")


@contextlib.contextmanager
def quiet_exporter() -> Iterator[None]:
    """The exporters log and warn about things that are no user's business (torchvision missing, ...)."""
    loggers = [logging.getLogger(n) for n in _CHATTY_LOGGERS]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (at most 300 characters), or its type's name."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def run_onnx_exporter(program: Any, args: tuple, *, error: type[Exception], missing: str, failed: str,
                      opset: int = ONNX_OPSET, **options: Any) -> Any:
    """`torch.onnx.export(program, args, dynamo=True, ...)`, quietly, returning its ONNX program.

    Raises `error(missing)` when the onnxscript package the exporter needs is not installed (before any
    tracing), and `error(f"{failed}: <the exporter's first line>")` when the export fails.
    """
    try:
        import onnxscript  # noqa: F401
    except ImportError:
        raise error(missing) from None
    try:
        with quiet_exporter():
            onnx_program = torch.onnx.export(program, args, dynamo=True, opset_version=opset, optimize=True,
                                             verbose=False, **options)
    except Exception as exc:  # noqa: BLE001 - the exporter raises many kinds; the user gets one line
        raise error(f"{failed}: {first_line(exc)}") from None
    if onnx_program is None:  # pragma: no cover - only the legacy exporter returns nothing
        raise error(f"{failed}: the exporter returned no model")
    return onnx_program
