"""Exporters: a trained model leaves NN Studio as safetensors, a state_dict, a PT2 program, ONNX or plain Python.

One function per format, each taking the built model (`DesignModule`) and its `Design` and returning what
it wrote. Files are written atomically (into a hidden temporary folder beside the target, fsync, then
`os.replace`), so a failed export leaves any earlier file whole. Every failure is an `ExportError` a person can act on.
The exporters work on a CPU copy of the model in eval mode: the caller's model is never changed.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from nnstudio import __version__
from nnstudio.core.document import Design
from nnstudio.core.errors import ExportError, NNStudioError
from nnstudio.core.recipe_text import design_output_and_loss
from nnstudio.io.atomic import lock_folder, remove_abandoned
from nnstudio.ml.builder import build_model
from nnstudio.ml.codegen import generate_model_code, generate_train_code, plan_design
from nnstudio.ml.export_budget import check_activation_budget
from nnstudio.ml.onnx_exporter import ONNX_OPSET, run_onnx_exporter
from nnstudio.ml.onnx_exporter import first_line as _first_line
from nnstudio.ml.onnx_exporter import quiet_exporter as _quiet_exporter

INPUT_NAME, OUTPUT_NAME = "input", "output"
# Export traces with two samples: a batch of 1 would let torch.export specialise the batch size to 1.
EXAMPLE_BATCH = 2
DESIGN_METADATA_KEY = "nnstudio.design"  # safetensors and ONNX metadata: the design file's text
PT2_DESIGN_FILE = "nnstudio_design.json"

Writer = Callable[[nn.Module, Design, "str | os.PathLike[str]"], "Path | list[Path]"]


# ---- shared helpers ------------------------------------------------------------------------------------------

def _design_json(design: Design) -> str:
    from nnstudio.io import dumps

    return dumps(design)


def _explain(path: Path, exc: OSError) -> str:
    reason = exc.strerror or str(exc) or type(exc).__name__
    advice = {
        errno.ENOSPC: "the disk is full: free some space or export somewhere else",
        errno.EACCES: "no permission to write there: choose another folder",
        errno.EPERM: "no permission to write there: choose another folder",
        errno.EROFS: "the disk is read-only: choose another folder",
        errno.ENAMETOOLONG: "the file name is too long",
    }.get(exc.errno or 0)
    return f"could not write {path}: {reason}" + (f" ({advice})" if advice else "")


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every system can open a folder (Windows cannot)
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomically(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Let `write` create the file (and any companions, e.g. ONNX external data) under its final name in a
    hidden temporary folder beside `path`, then move everything into place, the main file last."""
    target = Path(os.path.realpath(os.fspath(path)))
    shown = Path(path)
    if target.is_dir():
        raise ExportError(f"{shown} is a folder: choose a file name to export to")
    if not target.parent.is_dir():
        raise ExportError(f"the folder {shown.parent} does not exist: create it or choose another")
    staging: Path | None = None
    lock: int | None = None
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name[:40]}.", suffix=".tmp", dir=target.parent))
        lock = lock_folder(staging)  # in use until done: a later export must not take it for a leftover
        write(staging / target.name)
        produced = sorted(staging.iterdir(), key=lambda p: p.name == target.name)  # main file last
        if not produced or produced[-1].name != target.name:
            raise ExportError(f"the exporter did not produce {shown}")
        for file in produced:
            _fsync_file(file)
        for file in produced:
            os.replace(file, target.parent / file.name)
    except OSError as exc:
        raise ExportError(_explain(shown, exc)) from exc
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if lock is not None:
            os.close(lock)
    _fsync_folder(target.parent)
    # Staging folders that killed exports of this file left behind (tempfile names: 8 of [a-z0-9_]).
    remove_abandoned(target.parent, re.compile(rf"\.{re.escape(target.name[:40])}\.[a-z0-9_]{{8}}\.tmp\Z"))
    return shown


def unwrap(model: nn.Module) -> nn.Module:
    """The module itself, out of `torch.compile`'s and DistributedDataParallel's wrappers (whose state_dict
    keys carry a prefix)."""
    if not isinstance(model, nn.Module):
        raise ExportError(f"expected a PyTorch model, got {type(model).__name__}")
    for _ in range(4):
        inner = getattr(model, "_orig_mod", None)
        if inner is None and isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
            inner = model.module
        if not isinstance(inner, nn.Module):
            break
        model = inner
    return model


def _export_copy(model: nn.Module, design: Design) -> nn.Module:
    """A fresh CPU model of the design holding `model`'s weights, in eval mode (Dropout off, BatchNorm on its
    running statistics). The caller's model, wherever it lives, is only read."""
    with torch.device("meta"):  # no memory and no random numbers spent on weights about to be replaced
        twin = build_model(design)
    twin = twin.to_empty(device="cpu")
    twin.load_state_dict(_cpu_state(model), strict=True)
    twin.eval()
    for parameter in twin.parameters():
        parameter.requires_grad_(False)
    return twin


def _cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.detach().to("cpu").contiguous() for name, value in model.state_dict().items()}


def check_model_fits(model: nn.Module, design: Design) -> None:
    """ExportError unless `model`'s state_dict has exactly the names and shapes the design builds. Built on
    the meta device, so checking a huge design allocates nothing."""
    plan_design(design)  # names and parameters fit for code, or a clear ExportError
    try:
        with torch.device("meta"):
            expected = build_model(design).state_dict()
    except NNStudioError as exc:
        raise ExportError(f"the design cannot be exported: {exc}") from exc
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:  # a document assembled by hand
        raise ExportError(f"the design cannot be exported: {_first_line(exc)}") from exc
    actual = model.state_dict()
    missing = [k for k in expected if k not in actual]
    extra = [k for k in actual if k not in expected]
    if missing or extra:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""))
        if extra:
            parts.append("unexpected " + ", ".join(extra[:5]) + (" ..." if len(extra) > 5 else ""))
        raise ExportError(f"the model's weights do not fit the design ({'; '.join(parts)}): "
                          "rebuild the model from this design")
    for key, value in expected.items():
        if tuple(actual[key].shape) != tuple(value.shape):
            raise ExportError(f"weight {key} has shape {tuple(actual[key].shape)} but the design needs "
                              f"{tuple(value.shape)}: rebuild the model from this design")


def _example_input(design: Design) -> torch.Tensor:
    plan = plan_design(design)
    shape = plan.input_shape
    check_activation_budget(shape, (node.shape for node in plan.nodes[1:]))  # nodes[0] is the Input
    generator = torch.Generator().manual_seed(0)
    return torch.randn(EXAMPLE_BATCH, *shape, generator=generator)


# ---- the formats ---------------------------------------------------------------------------------------------

def export_safetensors(model: nn.Module, design: Design, path: str | os.PathLike[str]) -> Path:
    """Weights as safetensors (loadable anywhere, never executes code), the design JSON in the metadata."""
    from safetensors.torch import save_file

    model = unwrap(model)
    check_model_fits(model, design)
    metadata = {"format": "pt", DESIGN_METADATA_KEY: _design_json(design), "nnstudio.version": __version__}
    state = _cpu_state(model)

    def write(dest: Path) -> None:
        try:
            save_file(state, str(dest), metadata=metadata)
        except (ValueError, RuntimeError) as exc:  # safetensors' own errors (shared or odd tensors)
            raise ExportError(f"could not write safetensors: {_first_line(exc)}") from exc

    return write_atomically(path, write)


def export_state_dict(model: nn.Module, design: Design, path: str | os.PathLike[str]) -> Path:
    """A `.pt` state_dict of CPU tensors: `torch.load(path, weights_only=True)` then `load_state_dict`."""
    model = unwrap(model)
    check_model_fits(model, design)
    state = _cpu_state(model)

    def write(dest: Path) -> None:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        dest.write_bytes(buffer.getvalue())

    return write_atomically(path, write)


def export_pt2(model: nn.Module, design: Design, path: str | os.PathLike[str]) -> Path:
    """A `torch.export` program (`.pt2`) with a dynamic batch dimension, for `torch.export.load`, AOTInductor
    and ExecuTorch. Traced in eval mode, so it is an inference program (BatchNorm uses running statistics)."""
    model = unwrap(model)
    check_model_fits(model, design)
    twin = _export_copy(model, design)
    example = _example_input(design)
    batch = torch.export.Dim("batch", min=1)
    try:
        with _quiet_exporter():
            program = torch.export.export(twin, (example,), dynamic_shapes=({0: batch},), strict=False)
    except Exception as exc:  # torch.export raises many kinds; the user gets one clear line
        raise ExportError(f"torch.export could not capture the model: {_first_line(exc)}") from exc
    extra = {PT2_DESIGN_FILE: _design_json(design)}

    def write(dest: Path) -> None:
        with _quiet_exporter():
            torch.export.save(program, str(dest), extra_files=extra)

    return write_atomically(path, write)


def export_onnx(model: nn.Module, design: Design, path: str | os.PathLike[str], opset: int = ONNX_OPSET) -> Path:
    """ONNX with input "input" and output "output" (raw scores: logits for classifiers), batch dimension
    "batch" dynamic. Uses the torch.export-based exporter (needs the `onnx` and `onnxscript` packages)."""
    model = unwrap(model)
    check_model_fits(model, design)
    twin = _export_copy(model, design)
    example = _example_input(design)
    program = run_onnx_exporter(
        twin, (example,), error=ExportError, opset=opset,
        missing="ONNX export needs the onnx and onnxscript packages: "
                "pip install onnx onnxscript (or pip install 'nnstudio[onnx]')",
        failed="the ONNX exporter could not convert the model",
        dynamic_shapes=({0: torch.export.Dim("batch", min=1)},), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME])
    try:
        program.model.producer_name = "NN Studio"
        program.model.producer_version = __version__
        program.model.metadata_props[DESIGN_METADATA_KEY] = _design_json(design)
    except AttributeError:  # pragma: no cover - metadata is nice to have, never required
        pass

    def write(dest: Path) -> None:
        with _quiet_exporter():
            program.save(str(dest))  # weights go to DEST.data only past protobuf's 2 GB limit

    return write_atomically(path, write)


PYTHON_FILES = ("model.py", "train.py", "weights.pt", "README.txt")


def export_python(model: nn.Module, design: Design, folder: str | os.PathLike[str]) -> list[Path]:
    """A folder with `model.py` (readable nn.Module), `weights.pt` (its state_dict), `train.py` (dataset and
    training settings in plain PyTorch, single process or torchrun/DDP) and `README.txt`."""
    model = unwrap(model)
    check_model_fits(model, design)
    model_code = generate_model_code(design)
    train_code = generate_train_code(design)
    readme = _readme(design)
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise ExportError(f"{target} is a file: choose a folder to export the Python code into")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(_explain(target, exc)) from exc
    written = [
        write_atomically(target / "model.py", lambda dest: dest.write_text(model_code, encoding="utf-8")),
        write_atomically(target / "train.py", lambda dest: dest.write_text(train_code, encoding="utf-8")),
        export_state_dict(model, design, target / "weights.pt"),
        write_atomically(target / "README.txt", lambda dest: dest.write_text(readme, encoding="utf-8")),
    ]
    return written


def _printable(text: str, limit: int = 200) -> str:
    """Text for a README: no control characters (no terminal escapes), one line, capped."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _readme(design: Design) -> str:
    plan = plan_design(design)
    spec = design.dataset
    shape = "×".join(str(int(d)) for d in plan.input_shape)
    playground = design.training.playground
    lines = [
        f"{_printable(design.name)} — exported from NN Studio {__version__}",
        "",
        "model.py    the network as a plain PyTorch nn.Module (imports only torch)",
        "weights.pt  its trained weights (a state_dict; torch.load(..., weights_only=True))",
        "train.py    trains it again on the design's dataset with the design's settings",
        "",
        "Use the trained model:",
        "    python -c \"import torch; from model import load_model; m = load_model('weights.pt'); "
        f"print(m.predict(torch.randn(3, {', '.join(str(int(d)) for d in plan.input_shape)})))\"",
        f"The model takes float tensors of shape (batch, {shape}). It returns "
        + ({"binary": "z per sample, Playground's output neuron being tanh(z); predict() gives the "
                      "probability of class 1, (1 + tanh z) / 2."}
           if playground else {}).get(plan.task, {
               "binary": "one logit per sample; predict() gives the probability of class 1.",
               "multiclass": "one logit per class; predict() gives class probabilities.",
               "regression": "the predicted values."}[plan.task]),
        f"It trains as: {design_output_and_loss(design)}.",
        "",
        "Train it (needs torch and numpy" + (", and scikit-learn" if spec.source == "builtin" else "") + "):",
        "    python train.py --epochs 50",
        *([] if playground else
          ["    torchrun --nproc-per-node 4 train.py      # DistributedDataParallel: GPUs (nccl) or CPUs (gloo)"]),
        "    python train.py --start-from weights.pt   # continue from the exported weights",
        "The trained weights are saved to trained-weights.pt (change with --output).",
    ]
    if playground:
        lines += ["Under the Playground recipe train.py walks the data in one fixed order, in one process."]
    if spec.source in ("csv", "npz"):
        lines += ["", f"The data file is not included: copy {_printable(spec.path or 'it', 300)} next to "
                  "train.py, or pass --data PATH."]
    return "\n".join(lines) + "\n"


# ---- the catalogue of formats and the command line -----------------------------------------------------------

@dataclass(frozen=True)
class ExportFormat:
    """One export format, for menus and the CLI: `suffix` is empty for formats that write a folder."""

    key: str
    title: str
    suffix: str
    writer: Writer
    description: str

    @property
    def is_folder(self) -> bool:
        return not self.suffix


EXPORT_FORMATS: dict[str, ExportFormat] = {
    f.key: f
    for f in (
        ExportFormat("onnx", "ONNX", ".onnx", export_onnx,
                     "For ONNX Runtime, OpenVINO, TensorRT and other runtimes"),
        ExportFormat("safetensors", "safetensors weights", ".safetensors", export_safetensors,
                     "Weights only, safe to load anywhere; the design travels in the metadata"),
        ExportFormat("pt", "PyTorch state_dict", ".pt", export_state_dict,
                     "Weights for model.load_state_dict (torch.load with weights_only=True)"),
        ExportFormat("pt2", "PyTorch program (torch.export)", ".pt2", export_pt2,
                     "A self-contained inference program for torch.export.load, AOTInductor, ExecuTorch"),
        ExportFormat("python", "PyTorch code", "", export_python,
                     "A folder with model.py, weights.pt, train.py and a README"),
    )
}


def export_model(model: nn.Module, design: Design, fmt: str, output: str | os.PathLike[str]) -> Path | list[Path]:
    """Export in the format named `fmt` (a key of EXPORT_FORMATS)."""
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"unknown export format {fmt!r:.40}: use one of {', '.join(EXPORT_FORMATS)}")
    return EXPORT_FORMATS[fmt].writer(model, design, output)


def export_cli(checkpoint_path: str | os.PathLike[str], fmt: str, output: str | os.PathLike[str]) -> int:
    """`nnstudio export CHECKPOINT --format F -o PATH`: rebuild the checkpoint's model, load its weights
    strictly, export, say what was written. User mistakes raise NNStudioError (the CLI prints one line)."""
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"unknown export format {fmt!r:.40}: use one of {', '.join(EXPORT_FORMATS)}")
    from nnstudio.ml.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(checkpoint_path)
    model = build_model(checkpoint.design)
    try:
        model.load_state_dict(checkpoint.state_dict, strict=True)
    except RuntimeError as exc:
        raise ExportError(f"the checkpoint's weights do not fit its design: {_first_line(exc)}") from exc
    written = export_model(model, checkpoint.design, fmt, output)
    files = written if isinstance(written, list) else [written]
    title = EXPORT_FORMATS[fmt].title
    for file in files:
        print(f"wrote {file} ({title}, {_size(Path(file))})")
    return 0


def _size(path: Path) -> str:
    try:
        size = float(path.stat().st_size)
    except OSError:
        return "?"
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return "?"  # pragma: no cover
