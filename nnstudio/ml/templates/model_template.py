"""The source of the generated model.py's fixed part: ordinary Python that ruff lints and the tests import.

`nnstudio.ml.codegen.generate_model_code` writes the network's class from the design (its `__init__`,
`forward` and `predict`) and copies `load_model` from here with `DesignModel` renamed to that class.
`DesignModel` below is a stand-in for the generated class, so this module imports and `load_model` runs.
"""

from __future__ import annotations

import torch
from torch import nn


class DesignModel(nn.Module):
    """Stand-in for the design's network (generated per design)."""

    def __init__(self) -> None:
        super().__init__()
        self.out = nn.Linear(2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(x)


def load_model(path: str = "weights.pt", device: str = "cpu") -> DesignModel:
    """The model with weights saved by NN Studio (or train.py), ready for inference."""
    model = DesignModel()
    state = torch.load(path, map_location=device, weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()
