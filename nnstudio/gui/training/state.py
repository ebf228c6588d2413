"""Trained weights kept with the open design: a plain numpy snapshot the GUI thread may hold and hand around.

The worker takes a snapshot of its trainer (weights, optimizer moments, counters, random state) whenever
training pauses or ends; the controller keeps the latest. Turning it back into tensors — to continue
training, save a checkpoint or export — happens only where torch is wanted, so importing this module
imports no torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnstudio.core import Design


def network_signature(design: Design) -> str:
    """What decides whether trained weights still fit: every layer's id, type, name and parameters, and the
    connections (not positions, dataset or training settings)."""
    layers = [(lid, layer.type, layer.name, sorted(layer.params.items())) for lid, layer in design.layers.items()]
    connections = [(c.source, c.target) for c in design.connections]
    return json.dumps([layers, connections], default=str)


@dataclass
class TrainedState:
    """Weights and training state as numpy arrays and plain values (never torch tensors)."""

    design: Design  # a copy of the design these weights belong to
    weights: dict[str, np.ndarray]
    training_state: dict[str, Any] = field(default_factory=dict)
    optimizer_state: dict[str, Any] | None = None  # torch's layout, arrays in place of tensors
    rng_state: dict[str, np.ndarray] = field(default_factory=dict)
    signature: str = ""

    def __post_init__(self) -> None:
        if not self.signature:
            self.signature = network_signature(self.design)

    @property
    def epoch(self) -> int:
        return int(self.training_state.get("epoch", 0))

    @property
    def batch(self) -> int:
        return int(self.training_state.get("batch", 0))

    @property
    def step(self) -> int:
        return int(self.training_state.get("step", 0))

    @property
    def history(self) -> list[dict[str, Any]]:
        return list(self.training_state.get("history", []))

    def fits(self, design: Design) -> bool:
        return self.signature == network_signature(design)


def _to_numpy(value: Any) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu").numpy().copy()
    if isinstance(value, dict):
        return {k: _to_numpy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_numpy(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_to_numpy(v) for v in value)
    return value


def _to_torch(value: Any) -> Any:
    import torch

    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.array(value, copy=True))
    if isinstance(value, dict):
        return {k: _to_torch(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_torch(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_to_torch(v) for v in value)
    return value


def _plain_groups(optimizer_state: dict[str, Any]) -> dict[str, Any]:
    """Hyper-parameters as plain numbers (graph mode keeps the learning rate in a device tensor)."""
    import torch

    groups = []
    for group in optimizer_state.get("param_groups", []):
        groups.append({k: (float(v) if isinstance(v, torch.Tensor) else v) for k, v in group.items()})
    return {"state": optimizer_state.get("state", {}), "param_groups": groups}


def snapshot_trainer(trainer: Any) -> TrainedState:
    """Copy a trainer's state to the host; call from the training thread, between steps."""
    weights = {name: t.detach().to("cpu").numpy().copy() for name, t in trainer.model.state_dict().items()}
    optimizer = _to_numpy(_plain_groups(trainer.optimizer.state_dict()))
    return TrainedState(design=trainer.design.copy(), weights=weights,
                        training_state=json.loads(json.dumps(trainer.training_state(), default=_json_number)),
                        optimizer_state=optimizer, rng_state=_to_numpy(trainer.rng_state()))


def _json_number(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def to_checkpoint(state: TrainedState, design: Design | None = None) -> Any:
    """The state as `nnstudio.ml.checkpoint.Checkpoint` (torch tensors on the CPU), e.g. to resume a fit."""
    from nnstudio.ml.checkpoint import Checkpoint

    return Checkpoint(
        design=(design or state.design).copy(), state_dict=_to_torch(state.weights),
        training_state=dict(state.training_state),
        optimizer_state=_to_torch(state.optimizer_state) if state.optimizer_state is not None else None,
        rng_state=_to_torch(state.rng_state))


def from_checkpoint(checkpoint: Any) -> TrainedState:
    return TrainedState(design=checkpoint.design.copy(), weights=_to_numpy(checkpoint.state_dict),
                        training_state=dict(checkpoint.training_state),
                        optimizer_state=_to_numpy(checkpoint.optimizer_state),
                        rng_state=_to_numpy(checkpoint.rng_state))


def build_trained_model(state: TrainedState, design: Design | None = None) -> Any:
    """A CPU `DesignModule` of `design` (default: the state's own) holding the trained weights."""
    from nnstudio.ml.builder import build_model

    model = build_model(design or state.design)
    model.load_state_dict(_to_torch(state.weights), strict=True)
    model.eval()
    return model


def save_state_checkpoint(state: TrainedState, path: Any, design: Design | None = None) -> None:
    """Write the state as an NN Studio checkpoint (safetensors; atomic)."""
    from nnstudio.ml.checkpoint import save_checkpoint

    design = design or state.design
    model = build_trained_model(state, design)
    optimizer = _to_torch(state.optimizer_state) if state.optimizer_state is not None else None
    save_checkpoint(path, model, design, state.training_state, optimizer_state=optimizer,
                    rng_state=_to_torch(state.rng_state))
