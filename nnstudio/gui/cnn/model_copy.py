"""The GUI thread's own CPU copy of the network being trained, for feature maps, saliency and results.

It is rebuilt from the design and loaded with the newest host weights the tap delivered, so the views
never touch the training thread's model. torch is imported when the first weights arrive.
"""

from __future__ import annotations

from typing import Any


class ModelCopy:
    def __init__(self) -> None:
        self.model: Any = None
        self.signature: str | None = None
        self.step = -1

    def load(self, design: Any, weights: dict[str, Any], step: int) -> bool:
        """Build (if the network changed) and load `weights`; False when they do not fit the design."""
        import torch

        from nnstudio.ml.builder import build_model

        from ..training.state import network_signature

        signature = network_signature(design)
        try:
            if self.model is None or signature != self.signature:
                self.model = build_model(design)
                self.model.eval()
                self.signature = signature
            self.model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
        except Exception:  # noqa: BLE001 - a design edited mid-run; the next run brings matching weights
            self.model, self.signature = None, None
            return False
        self.step = step
        return True
