"""Light frames for the network view: the live weights, neuron maps and output map of a small dense model.

A full publication (`TelemetryCollector.gather`) validates, probes, histograms and maps the whole grid;
for Playground's network it costs about as much as five training steps, so its throttle lets through only a
few a second. The network view needs much less: every weight and bias (a few dozen values), and each
neuron's map and the output map at the resolution it draws them (every second point of the grid). A
`ViewFrame` is exactly that, computed from the live model with one forward pass over the half grid and
brought to the host in one transfer; the trainer makes them at their own rate (`VIEW_FRAME_HZ`, within
`VIEW_FRAME_BUDGET` of the training thread's time) only while a callback listens (`on_view_frame`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from .telemetry import TelemetryCollector

MODE_DEPENDENT = (nn.Dropout, nn.modules.batchnorm._BatchNorm)
# Every VIEW_STRIDE-th grid point in each direction: the network view draws its maps at this resolution.
VIEW_STRIDE = 2


@dataclass(frozen=True)
class ViewFrame:
    """The live picture of a small dense network at one step (plain Python / numpy, safe across threads).

    Carries the names `Telemetry` uses for the same things, so a view can draw either."""

    epoch: int
    batch: int
    batches_per_epoch: int
    step: int
    parameters: dict[str, np.ndarray] = field(default_factory=dict)  # "fc1.weight" -> values
    neuron_outputs: dict[str, np.ndarray] = field(default_factory=dict)  # layer -> (units, r, r)
    boundary: np.ndarray | None = None  # (r, r), or (k, r, r); every VIEW_STRIDE-th grid point
    boundary_extent: tuple[float, float, float, float] | None = None
    reason: str = "view"


class ViewFrameMaker:
    """Builds `ViewFrame`s from a collector's model, grid and small-model parameters."""

    def __init__(self, collector: TelemetryCollector) -> None:
        self.collector = collector
        self.grid: torch.Tensor | None = None
        self.resolution = 0
        grid, r = collector.grid, collector.grid_resolution
        if grid is not None and r > 0 and len(grid) == r * r:
            self.grid = grid.reshape(r, r, -1)[::VIEW_STRIDE, ::VIEW_STRIDE].reshape(-1, grid.shape[-1]).contiguous()
            self.resolution = math.ceil(r / VIEW_STRIDE)
        self._mode_matters = any(isinstance(m, MODE_DEPENDENT) for m in collector.model.modules())

    @property
    def available(self) -> bool:
        """Only a small dense model on a 2-D plane has a network view to feed."""
        return self.grid is not None and bool(self.collector.small_parameters)

    @torch.no_grad()
    def make(self, **counters: Any) -> ViewFrame:
        """One frame of the live model. Device work is the forward pass over the half grid and one
        concatenation (the maps travel sample-major and are transposed on the host, where that is free)."""
        collector = self.collector
        model = collector.model
        # Small dense models are the same in train and eval mode unless they hold dropout or batch norm.
        toggle = self._mode_matters and model.training
        if toggle:
            model.eval()
        try:
            out, acts = model.forward_with_activations(self.grid)
            # Class-major (k, n), the layout the map is drawn in: a softmax along a few-class last dimension
            # is several times slower on a CPU (as TelemetryCollector._grid notes).
            if collector.task == "multiclass":
                shown = torch.softmax(out.t().contiguous(), dim=0)
            elif collector.task == "binary":
                shown = (collector.probability or torch.sigmoid)(out).t()
            else:
                shown = out.t()
            tensors = [shown] + [acts[name] for name in collector.neuron_layers]
            tensors += [p.detach() for _, p in collector.small_parameters]
            host = torch.cat([x.reshape(-1) for x in tensors]).cpu().numpy()  # the frame's one transfer
        finally:
            if toggle:
                model.train()
        r, n = self.resolution, len(self.grid)
        offset = 0

        def take(size: int) -> np.ndarray:
            nonlocal offset
            offset += size
            return host[offset - size:offset]

        k = shown.shape[0]
        boundary = take(n * k).reshape(k, r, r)
        neurons = {}
        for name, act in zip(collector.neuron_layers, tensors[1:], strict=False):
            units = act.shape[1]
            neurons[name] = take(n * units).reshape(r, r, units).transpose(2, 0, 1)
        parameters = {name: take(p.numel()).reshape(p.shape) for name, p in collector.small_parameters}
        return ViewFrame(parameters=parameters, neuron_outputs=neurons, boundary=boundary[0] if k == 1 else boundary,
                         boundary_extent=collector.grid_extent, **counters)

    @staticmethod
    def finite(frame: ViewFrame) -> bool:
        return all(np.isfinite(v).all() for v in frame.parameters.values())
