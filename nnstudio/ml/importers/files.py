"""Write an imported model: the design file and, beside it, a checkpoint holding the imported weights."""

from __future__ import annotations

import os
from pathlib import Path

from nnstudio.ml.builder import build_model

from .onnx_import import ImportedModel

CHECKPOINT_SUFFIX = ".safetensors"


def checkpoint_beside(design_path: str | os.PathLike[str]) -> Path:
    """DESIGN.nnstudio → DESIGN.safetensors (the weights of an imported model)."""
    return Path(design_path).with_suffix(CHECKPOINT_SUFFIX)


def save_imported(imported: ImportedModel, design_path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Save the checkpoint, then the design (each atomically); if the design cannot be written, a
    checkpoint this call created is removed again, so a failure leaves no half import behind."""
    from nnstudio.io import save_design
    from nnstudio.ml.checkpoint import save_checkpoint

    target = Path(design_path)
    checkpoint = checkpoint_beside(target)
    model = build_model(imported.design)
    model.load_state_dict(imported.state_dict, strict=True)
    existed = checkpoint.exists()
    state = {"epoch": 0, "step": 0, "imported_from": imported.report.source}
    save_checkpoint(checkpoint, model, imported.design, state)
    try:
        save_design(imported.design, target)
    except BaseException:
        if not existed:
            checkpoint.unlink(missing_ok=True)
        raise
    return target, checkpoint
