"""What a running training shows the user, measured on the device and shipped to the host once per publication.

`Telemetry` is a plain snapshot (Python numbers, numpy arrays, small dataclasses — never a torch tensor),
safe to hand to another thread. `TelemetryCollector` owns the on-device accumulators the training step
adds to (loss and correct predictions, no host sync per step) and, at publication time, computes the rest
on the device — validation loss and accuracy, per-layer gradient norms, weight and gradient histograms,
dead and saturated units, the decision-boundary grid — gathers it all into one flat tensor and copies it to the host
in a single transfer.

Which layers each part watches is decided in `telemetry_layers`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import torch

from .builder import DesignModule
from .epoch_history import HistoryPoint, HistoryRecorder
from .output_samples import OutputSampler, OutputSamples
from .preactivation import activation_layers, forward_with_preactivations
from .telemetry_layers import (
    DEAD_UNIT_ACTIVATIONS,
    EVAL_ELEMENTS_CAP,
    NEURON_MAP_MAX_TOTAL,
    NEURON_MAP_MAX_UNITS,
    PARAMETERS_CAP,
    SATURATION_LIMITS,
    dead_unit_layers,
    eval_batch_size,
    neuron_map_layers,
    parameter_layers,
    saturating_layers,
    small_dense_parameters,
)

# The layer-selection names were defined here before telemetry_layers existed: still importable from here.
__all__ = [
    "FOLD_EVERY", "HISTOGRAM_BINS", "PREACTIVATION_VALUES", "PROBE_SAMPLES", "Histogram", "Telemetry",
    "TelemetryCollector",
    "DEAD_UNIT_ACTIVATIONS",
    "EVAL_ELEMENTS_CAP",
    "NEURON_MAP_MAX_TOTAL",
    "NEURON_MAP_MAX_UNITS",
    "PARAMETERS_CAP",
    "SATURATION_LIMITS",
    "dead_unit_layers",
    "eval_batch_size",
    "neuron_map_layers",
    "parameter_layers",
    "saturating_layers",
    "small_dense_parameters",
]

HISTOGRAM_BINS = 30
PROBE_SAMPLES = 256
# Pre-activation histograms use at most this many values per layer (the first samples of the probe), so a
# wide convolution's histogram costs about what a small dense layer's does.
PREACTIVATION_VALUES = 1 << 13
# Eager steps' outputs are summed on the device in groups of at most this many steps.
FOLD_EVERY = 64

LossSum = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Histogram:
    """Counts in `len(counts)` equal bins over [low, high]; `low = -high` = the layer's current max |value|."""

    counts: np.ndarray
    low: float
    high: float

    @property
    def edges(self) -> np.ndarray:
        return np.linspace(self.low, self.high, len(self.counts) + 1)


@dataclass(frozen=True)
class Telemetry:
    """One publication. Loss / accuracy of the training data are running means over the steps since the
    previous publication (repeated from it when no step ran since; None before the first step);
    validation figures use the current weights."""

    reason: str  # "start", "batch", "epoch_end", "paused" or "end"
    epoch: int  # 1-based epoch in progress (or just finished)
    epochs: int  # epochs this fit runs to
    batch: int  # batches done in the current epoch
    batches_per_epoch: int
    step: int  # optimizer steps since the model was initialised (continues across resumed fits)
    samples_seen: int
    elapsed: float  # seconds since this fit started
    learning_rate: float
    steps_per_second: float  # over the interval since the previous publication
    progress: float  # share of this fit's planned steps done, 0..1
    eta_seconds: float | None  # estimated time to the end of this fit, at this fit's average speed
    train_loss: float | None
    train_accuracy: float | None  # classification only
    val_loss: float | None
    val_accuracy: float | None
    grad_norms: dict[str, float] = field(default_factory=dict)  # L2 norm of each layer's gradient, last step
    weight_histograms: dict[str, Histogram] = field(default_factory=dict)
    grad_histograms: dict[str, Histogram] = field(default_factory=dict)
    dead_fraction: dict[str, float] = field(default_factory=dict)  # ReLU-family layers only
    # Pre-activations z of the probe batch, per layer that applies an activation (the inspector's curve)
    preactivation_histograms: dict[str, Histogram] = field(default_factory=dict)
    # tanh / sigmoid layers: share of the probe batch's values in the flat part of the curve
    saturated_fraction: dict[str, float] = field(default_factory=dict)
    boundary: np.ndarray | None = None  # (R, R), or (k, R, R) for k outputs; row j is y = ys[j]
    boundary_extent: tuple[float, float, float, float] | None = None  # x_min, x_max, y_min, y_max
    neuron_outputs: dict[str, np.ndarray] = field(default_factory=dict)  # small Dense layer -> (units, R, R)
    # The history points recorded on the device since the previous publication (one per epoch at least).
    points: tuple[HistoryPoint, ...] = ()
    parameters: dict[str, np.ndarray] = field(default_factory=dict)  # "fc1.weight" -> values (small models)
    # The Output dock's predictions for a fixed sample of the validation set (data without a 2-D plane)
    outputs: OutputSamples | None = None

    def metrics(self) -> dict[str, Any]:
        """The scalar part, for histories, logs and JSON."""
        keep = ("reason", "epoch", "step", "samples_seen", "elapsed", "learning_rate", "steps_per_second",
                "train_loss", "train_accuracy", "val_loss", "val_accuracy")
        # (progress and ETA describe one fit and are left out)
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in keep}



class TelemetryCollector:
    """Device-side accumulators plus the one-transfer publication of everything in `Telemetry`."""

    def __init__(
        self,
        model: DesignModule,
        device: torch.device,
        loss_sum: LossSum,
        *,
        x_val: torch.Tensor | None,
        y_val: torch.Tensor | None,
        probe: torch.Tensor | None,
        grid: torch.Tensor | None = None,
        grid_resolution: int = 0,
        grid_extent: tuple[float, float, float, float] | None = None,
        bins: int = HISTOGRAM_BINS,
        x_train: torch.Tensor | None = None,
        y_train: torch.Tensor | None = None,
        probability: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.model = model
        self.task = model.task
        self.device = device
        self.loss_sum_fn = loss_sum
        self.bins = bins
        self.x_val, self.y_val = x_val, y_val
        # Given the training set, the training loss shown is its whole-set loss with the current weights
        # (Playground's), not the running mean of the steps since the previous publication.
        self.x_train, self.y_train = x_train, y_train
        self.probability = probability  # a binary output's boundary value (default: sigmoid of the logit)
        self.probe = probe
        self.grid = grid
        self.grid_resolution = grid_resolution
        self.grid_extent = grid_extent
        self.layers = parameter_layers(model)
        self.all_params = [p for layer in self.layers for p in layer.params]
        self.param_layer = [i for i, layer in enumerate(self.layers) for _ in layer.params]
        self.hist_layers = [layer for layer in self.layers if layer.weight is not None]
        position = {id(p): i for i, p in enumerate(self.all_params)}
        self.weight_index = [position[id(layer.weight)] for layer in self.hist_layers]
        self.state_tensors = self.all_params + [b for b in model.buffers() if b.is_floating_point()]
        self.dead_layers = dead_unit_layers(model)
        self.pre_layers = [name for name, _ in activation_layers(model)]
        widest = max((math.prod(s.shape) for s in model.steps if s.name in self.pre_layers), default=1)
        self.pre_samples = max(1, PREACTIVATION_VALUES // widest)
        self.saturating = saturating_layers(model)
        self.neuron_layers = neuron_map_layers(model) if grid is not None else []
        self.eval_batch = eval_batch_size(model)
        self.small_parameters = small_dense_parameters(model)
        self.sampler = None if grid is not None else OutputSampler.create(
            self.task, x_val, y_val, model.steps[-1].shape[0])
        # Accumulated by the training step (eagerly or inside a CUDA graph); zeroed in place, never
        # re-assigned, so a captured graph keeps writing to the same memory.
        self.loss_sum = torch.zeros((), device=device)
        self.correct_sum = torch.zeros((), device=device)
        self._pending: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self.points = HistoryRecorder(self)
        self._shipping: list[Any] = []  # the points gathered by the last gather, for build

    @property
    def classification(self) -> bool:
        return self.task in ("binary", "multiclass")

    # ---- per step ---------------------------------------------------------------------------------

    def accumulate(self, output: torch.Tensor, target: torch.Tensor, loss: torch.Tensor) -> None:
        """Add one step's loss and correct predictions to the device accumulators (inside a CUDA graph)."""
        loss = loss.detach()
        self.loss_sum.add_(loss)
        self.points.loss_sum.add_(loss)
        if self.classification:
            correct = self._correct(output.detach(), target)
            self.correct_sum.add_(correct)
            self.points.correct_sum.add_(correct)

    def defer(self, output: torch.Tensor, target: torch.Tensor, loss: torch.Tensor) -> None:
        """Eager steps: only remember the step's (detached) tensors; `fold` sums many steps in a few ops.

        On a CPU, each small tensor op costs microseconds of dispatch, which a 300-microsecond step of a
        tiny model feels; remembering costs nothing on the device and is folded at the next publication
        or every FOLD_EVERY steps, whichever comes first.
        """
        pending = self._pending
        pending.append((output.detach(), target, loss.detach()))
        if len(pending) >= FOLD_EVERY:
            self.fold()

    def fold(self) -> None:
        pending = self._pending
        if not pending:
            return
        self._pending = []
        with torch.no_grad():
            loss = torch.stack([p[2] for p in pending]).sum()
            self.loss_sum.add_(loss)
            self.points.loss_sum.add_(loss)
            if self.classification:
                outputs = torch.cat([p[0] for p in pending])
                targets = torch.cat([p[1] for p in pending])
                correct = self._correct(outputs, targets)
                self.correct_sum.add_(correct)
                self.points.correct_sum.add_(correct)

    def reset_window(self) -> None:
        self._pending = []
        self.loss_sum.zero_()
        self.correct_sum.zero_()

    # ---- at publication ----------------------------------------------------------------------------

    def _correct(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.task == "multiclass":
            return (output.argmax(1) == target).sum()
        return ((output > 0) == target).sum()

    def _validation(self, sample: bool = False) -> list[torch.Tensor]:
        return self._evaluate(self.x_val, self.y_val, self.sampler if sample else None)

    def _evaluate(self, x: torch.Tensor | None, y: torch.Tensor | None,
                  sampler: OutputSampler | None = None) -> list[torch.Tensor]:
        if x is None or y is None or len(x) == 0:
            return []
        if sampler is not None:
            sampler.begin()
        losses, correct = [], []
        for start in range(0, len(x), self.eval_batch):
            xb, yb = x[start:start + self.eval_batch], y[start:start + self.eval_batch]
            out = self.model(xb)
            if sampler is not None:
                sampler.observe(out, yb)
            losses.append(self.loss_sum_fn(out, yb))
            if self.classification:
                correct.append(self._correct(out, yb))
        parts = [torch.stack(losses).sum() / len(x)]
        if self.classification:
            parts.append(torch.stack(correct).sum().float() / len(x))
        return parts

    def _saturation(self, acts: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """Saturated-value shares of tanh / sigmoid layers (values in the flat part of the curve)."""
        if not self.saturating:
            return []
        out = []
        for name, function in self.saturating:
            low, high = SATURATION_LIMITS[function]
            act = acts[name]
            out.append(((act <= low) | (act >= high)).float().mean())
        return [torch.stack(out)]

    def _dead_units(self, acts: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        if not self.dead_layers:
            return []
        out = []
        for name in self.dead_layers:
            act = acts[name]
            dims = [0] + list(range(2, act.dim()))  # every sample (and pixel): a unit is a feature or channel
            out.append((act.amax(dim=dims) <= 0).float().mean())
        return [torch.stack(out)]

    def _grid(self, grid: torch.Tensor | None = None,
              resolution: int = 0) -> tuple[list[torch.Tensor], list[tuple[str, tuple[int, ...]]]]:
        """The boundary and neuron maps over the grid (or over `grid`, another square one of `resolution`)."""
        if grid is None:
            grid, resolution = self.grid, self.grid_resolution
        if grid is None:
            return [], []
        r = resolution
        outputs, neurons = [], {name: [] for name in self.neuron_layers}
        for start in range(0, len(grid), self.eval_batch):
            out, acts = self.model.forward_with_activations(grid[start:start + self.eval_batch])
            outputs.append(out)
            for name in self.neuron_layers:
                neurons[name].append(acts[name])
            del acts
        output = outputs[0] if len(outputs) == 1 else torch.cat(outputs)
        k = output.shape[1]
        if self.task == "multiclass":
            # Softmax over the classes in a class-major layout: for a few classes this is ~6x faster on a
            # CPU than along a short last dimension, and it is the layout the boundary is sent in anyway.
            by_class = torch.softmax(output.t().contiguous(), dim=0)
        elif self.task == "binary":
            by_class = (self.probability or torch.sigmoid)(output).t()
        else:
            by_class = output.t()
        parts = [by_class.reshape(-1)]
        layout: list[tuple[str, tuple[int, ...]]] = [("boundary", (r, r) if k == 1 else (k, r, r))]
        for name in self.neuron_layers:
            act = neurons[name][0] if len(neurons[name]) == 1 else torch.cat(neurons[name])
            parts.append(act.t().reshape(-1))
            layout.append((f"neuron:{name}", (act.shape[1], r, r)))
        return parts, layout

    def _histograms(self, tensors: list[torch.Tensor | None], maxabs: list[torch.Tensor]) -> torch.Tensor:
        rows = []
        for t, m in zip(tensors, maxabs, strict=True):
            if t is None:
                rows.append(torch.zeros(self.bins, device=self.device))
            else:
                rows.append(torch.histc(t.detach().reshape(-1) / m.clamp_min(1e-30), self.bins, -1.0, 1.0))
        return torch.stack(rows).reshape(-1)

    @torch.no_grad()
    def gather(self, extra: list[torch.Tensor] | None = None) -> dict[str, Any]:
        """Compute everything on the device and bring it to the host in one transfer.

        Returns host values keyed by name. `extra` tensors (e.g. a finiteness probe) ride along and come
        back under "extra". The window accumulators are zeroed (after being read) on the device.
        """
        was_training = self.model.training
        self.model.eval()
        try:
            parts: list[torch.Tensor] = []
            layout: list[tuple[str, tuple[int, ...]]] = []

            def add(name: str, tensor: torch.Tensor, shape: tuple[int, ...]) -> None:
                parts.append(tensor.reshape(-1).float())
                layout.append((name, shape))

            self.fold()
            add("window", torch.stack([self.loss_sum, self.correct_sum]), (2,))
            val = self._validation(sample=True)
            if val:
                add("val", torch.stack(val), (len(val),))
            if self.x_train is not None:
                whole = self._evaluate(self.x_train, self.y_train)
                if whole:
                    add("train", torch.stack(whole), (len(whole),))
            for name, tensor, shape in self.sampler.finish() if self.sampler is not None else ():
                add(name, tensor, shape)
            # Max |value| of every parameter and float buffer: the histogram ranges and, because the max
            # propagates NaN / inf, the finiteness check of the whole model state in one foreach call.
            state_max = torch._foreach_norm(self.state_tensors, float("inf"))
            add("state_max", torch.stack(state_max), (len(state_max),))
            grads = [p.grad for p in self.all_params]
            present = [g for g in grads if g is not None]
            if present:
                norms = iter(torch._foreach_norm(present))
                zero = torch.zeros((), device=self.device)
                per_param = torch.stack([next(norms) if g is not None else zero for g in grads])
                add("grad_norm", per_param, (len(grads),))
            if self.hist_layers:
                w_max = [state_max[i] for i in self.weight_index]
                weights = [layer.weight for layer in self.hist_layers]
                add("weight_hist", self._histograms(weights, w_max), (len(weights), self.bins))
                w_grads = [w.grad for w in weights]
                if any(g is not None for g in w_grads):
                    stand_in = [g if g is not None else w for g, w in zip(w_grads, weights, strict=True)]
                    g_max = torch._foreach_norm(stand_in, float("inf"))
                    add("grad_max", torch.stack(g_max), (len(g_max),))
                    add("grad_hist", self._histograms(w_grads, g_max), (len(weights), self.bins))
            if self.probe is not None and (self.dead_layers or self.saturating or self.pre_layers):
                # One probe forward serves the dead-unit counts, the saturation shares and the
                # pre-activation histograms.
                whole = self.dead_layers or self.saturating
                probe = self.probe if whole else self.probe[:self.pre_samples]
                _, acts, pre = forward_with_preactivations(self.model, probe, self.pre_layers)
                dead = self._dead_units(acts)
                if dead:
                    add("dead", dead[0], (len(self.dead_layers),))
                saturated = self._saturation(acts)
                if saturated:
                    add("saturated", saturated[0], (len(self.saturating),))
                if pre:
                    z = [pre[name][:self.pre_samples] for name in self.pre_layers]
                    z_max = torch.stack(torch._foreach_norm(z, float("inf")))
                    add("pre_max", z_max, (len(z),))
                    add("pre_hist", self._histograms(z, list(z_max)), (len(z), self.bins))
                del acts, pre
            grid_parts, grid_layout = self._grid()
            parts.extend(p.float() for p in grid_parts)
            layout.extend(grid_layout)
            for name, p in self.small_parameters:
                add(f"param:{name}", p.detach(), tuple(p.shape))
            for i, t in enumerate(extra or []):
                add(f"extra:{i}", t, tuple(t.shape))
            self._shipping = self.points.take()
            for i, point in enumerate(self._shipping):
                add(f"point:{i}", point.tensor, tuple(point.tensor.shape))
            flat = torch.cat(parts)
            self.reset_window()
            host = flat.cpu().numpy()  # the one device -> host transfer of this publication
        finally:
            self.model.train(was_training)
        out: dict[str, Any] = {}
        offset = 0
        for name, shape in layout:
            size = math.prod(shape)
            out[name] = host[offset:offset + size].reshape(shape)
            offset += size
        return out

    def build(self, host: dict[str, Any], *, steps_in_window: int, samples_in_window: int,
              previous: Telemetry | None = None, **progress: Any) -> Telemetry:
        """Turn gathered host values into a `Telemetry` (pure host work, no device access)."""
        window = host["window"]
        train_loss = float(window[0]) / steps_in_window if steps_in_window else None
        train_acc = None
        if self.classification and samples_in_window:
            train_acc = float(window[1]) / samples_in_window
        if not steps_in_window and previous is not None:
            train_loss, train_acc = previous.train_loss, previous.train_accuracy
        if "train" in host:
            train_loss = float(host["train"][0])
            train_acc = float(host["train"][1]) if self.classification else None
        val_loss = val_acc = None
        if "val" in host:
            val_loss = float(host["val"][0])
            if self.classification:
                val_acc = float(host["val"][1])
        grad_norms: dict[str, float] = {}
        if "grad_norm" in host:
            squares = [0.0] * len(self.layers)
            for layer_index, norm in zip(self.param_layer, host["grad_norm"].tolist(), strict=True):
                squares[layer_index] += norm * norm
            grad_norms = {layer.name: math.sqrt(s) for layer, s in zip(self.layers, squares, strict=True)}
        weight_hists: dict[str, Histogram] = {}
        grad_hists: dict[str, Histogram] = {}
        if self.hist_layers:
            state_max = host["state_max"]
            for row, layer in enumerate(self.hist_layers):
                high = float(state_max[self.weight_index[row]])
                weight_hists[layer.name] = Histogram(host["weight_hist"][row].astype(np.int64), -high, high)
                if "grad_hist" in host:
                    g_high = float(host["grad_max"][row])
                    grad_hists[layer.name] = Histogram(host["grad_hist"][row].astype(np.int64), -g_high, g_high)
        dead = {}
        if "dead" in host:
            dead = {name: float(v) for name, v in zip(self.dead_layers, host["dead"].tolist(), strict=True)}
        pre_hists = {}
        if "pre_hist" in host:
            for row, name in enumerate(self.pre_layers):
                high = float(host["pre_max"][row])
                pre_hists[name] = Histogram(host["pre_hist"][row].astype(np.int64), -high, high)
        saturated = {}
        if "saturated" in host:
            saturated = {name: float(v) for (name, _), v in zip(self.saturating, host["saturated"].tolist(),
                                                                strict=True)}
        neurons = {key.split(":", 1)[1]: value for key, value in host.items() if key.startswith("neuron:")}
        shipping, self._shipping = self._shipping, []
        points = self.points.decode(shipping, [host[f"point:{i}"] for i in range(len(shipping))])
        parameters = {key.split(":", 1)[1]: value for key, value in host.items() if key.startswith("param:")}
        return Telemetry(
            train_loss=train_loss, train_accuracy=train_acc, val_loss=val_loss, val_accuracy=val_acc,
            grad_norms=grad_norms, weight_histograms=weight_hists, grad_histograms=grad_hists,
            dead_fraction=dead, saturated_fraction=saturated, preactivation_histograms=pre_hists,
            boundary=host.get("boundary"),
            boundary_extent=self.grid_extent if "boundary" in host else None,
            neuron_outputs=neurons, points=points, parameters=parameters,
            outputs=self.sampler.decode(host) if self.sampler is not None else None, **progress,
        )
