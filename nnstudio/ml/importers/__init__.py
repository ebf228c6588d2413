"""Bring models in: ONNX files, `torch.export` programs and PyTorch modules become designs with their weights.

`import_model(path)` picks the importer by the file's suffix; `import_module(module, example_input)` takes
a live `nn.Module`. Each returns an `ImportedModel` (design, state_dict, report) or raises
`ModelImportError` naming every unsupported node.
"""

from __future__ import annotations

import os
from pathlib import Path

from .report import ImportReport, ModelImportError, Unsupported

IMPORT_SUFFIXES = (".onnx", ".pt2")

__all__ = ["IMPORT_SUFFIXES", "ImportReport", "ModelImportError", "Unsupported", "import_model", "import_module"]


def import_model(path: str | os.PathLike[str], *, prefix: bool = False):  # -> ImportedModel
    """Import MODEL.onnx or MODEL.pt2 (by suffix); ModelImportError for anything else."""
    suffix = Path(path).suffix.lower()
    if suffix == ".onnx":
        from .onnx_import import import_onnx

        return import_onnx(path, prefix=prefix)
    if suffix == ".pt2":
        from .torch_import import import_pt2

        return import_pt2(path, prefix=prefix)
    raise ModelImportError(f"{os.fspath(path)}: import reads .onnx files and .pt2 torch.export programs "
                           "(a PyTorch module: nnstudio.import_module(module, example_input))")


def import_module(module, example_input, *, prefix: bool = False, name: str | None = None):  # noqa: ANN001
    """See `torch_import.import_module`."""
    from .torch_import import import_module as run

    return run(module, example_input, prefix=prefix, name=name)
