"""PyTorch models in: an `nn.Module` (with an example input) or a `.pt2` `torch.export` program.

Both go through `torch.export` (whose `nn_module_stack` names every layer after its module) and torch's
ONNX exporter, in memory, and then through the ONNX importer, so one registry table maps both. A `.pt2`
is opened with `torch.export.load` only: never `torch.load` of a pickle.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch
from torch import nn

from ..onnx_exporter import first_line as _first_line
from ..onnx_exporter import quiet_exporter as _quiet
from ..onnx_exporter import run_onnx_exporter
from .onnx_file import read_onnx
from .onnx_import import ImportedModel, import_graph
from .report import ModelImportError


def _via_onnx(program: torch.export.ExportedProgram | nn.Module, args: tuple, source: str, name: str,
              prefix: bool, dynamic: bool) -> ImportedModel:
    options = {"dynamic_shapes": ({0: torch.export.Dim("batch", min=1)},)} if dynamic else {}
    onnx_program = run_onnx_exporter(
        program, args, error=ModelImportError,
        missing="importing PyTorch models needs the onnx and onnxscript packages: pip install onnx onnxscript",
        failed=f"{source}: torch could not capture the model", **options)
    with tempfile.TemporaryDirectory(prefix="nnstudio-import-") as folder:
        path = Path(folder) / "model.onnx"
        with _quiet():
            onnx_program.save(str(path))
        graph = read_onnx(path)
        graph.load_all()  # tensors decode lazily: read them while the folder exists
    return import_graph(graph, source, prefix=prefix, name=name)


def import_module(module: nn.Module, example_input: torch.Tensor, *, prefix: bool = False,
                  name: str | None = None) -> ImportedModel:
    """An `nn.Module` built from layers NN Studio has (Linear, Conv, pools, BatchNorm, activations, add,
    cat, flatten) → design + weights. `example_input` is one batch (batch size ≥ 2 keeps it dynamic)."""
    if not isinstance(module, nn.Module):
        raise ModelImportError(f"expected a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(example_input, torch.Tensor) or example_input.dim() < 2:
        raise ModelImportError("example_input must be a tensor with a batch axis first")
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            program = torch.export.export(module, (example_input.detach().cpu(),), strict=False,
                                          dynamic_shapes=({0: torch.export.Dim("batch", min=1)},)
                                          if example_input.shape[0] >= 2 else None)
    except Exception as exc:  # noqa: BLE001
        raise ModelImportError(f"torch.export could not capture {type(module).__name__}: {_first_line(exc)}") from None
    finally:
        module.train(was_training)
    title = name or type(module).__name__
    return _via_onnx(program, (example_input.detach().cpu(),), title, title, prefix, dynamic=False)


def import_pt2(path: str | os.PathLike[str], *, prefix: bool = False) -> ImportedModel:
    """A `.pt2` written by `torch.export.save` → design + weights (opened with torch.export.load only)."""
    shown = os.fspath(path)
    if not os.path.isfile(shown):
        raise ModelImportError(f"{shown} does not exist")
    try:
        with _quiet():
            program = torch.export.load(shown)
    except Exception as exc:  # noqa: BLE001 - a broken archive raises many kinds
        raise ModelImportError(f"{shown} is not a torch.export program (.pt2): {_first_line(exc)}") from None
    placeholders = [s for s in program.graph_signature.input_specs if s.kind.name == "USER_INPUT"]
    if len(placeholders) != 1:
        raise ModelImportError(f"{shown} takes {len(placeholders)} inputs: NN Studio designs take one")
    fake = [n for n in program.graph.nodes if n.op == "placeholder" and n.name == placeholders[0].arg.name]
    value = fake[0].meta.get("val") if fake else None
    if value is None:
        raise ModelImportError(f"{shown}: the program does not record its input's shape")
    shape = [int(d) if isinstance(d, int) else 2 for d in value.shape]
    example = torch.zeros(shape, dtype=torch.float32)
    return _via_onnx(program, (example,), Path(shown).name, Path(shown).stem, prefix, dynamic=False)
