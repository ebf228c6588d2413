"""The training loop: a design and its data in, trained weights and a stream of telemetry out (no Qt).

`Trainer.fit()` runs a loop made of events (on_fit_start, on_epoch_start, on_batch_start, after_backward,
after_step, on_batch_end, on_epoch_end, on_publish, on_error, on_fit_end). The dataset lives on the
training device; each epoch draws one permutation from the trainer's seeded generator and batches are
slices of the permuted data. An incomplete last batch is kept in eager mode (every sample is used every
epoch, as in Playground) and dropped when the step runs as a CUDA graph, which needs one fixed batch
shape (each epoch reshuffles, so no sample is left out for long).

Nothing in the per-step path waits for the device: the loss and accuracy accumulate on the device and
reach the host only at publications, which a wall-clock throttle limits to `publish_hz` per second (and
to a small share of the run time when publishing is expensive).

Failures end the fit cleanly — `on_error`, then `on_fit_end` — and `fit()` then raises `TrainingError`
(a failing callback's exception is its `__cause__`; an out-of-memory error keeps no cause, so that the
failed step's tensors are freed). Cancelling (a stop request or `CancelTraining` from a callback) is not
a failure: `fit()` returns a `TrainingResult` with `stopped=True`.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nnstudio.core.document import Design
from nnstudio.core.errors import DataError, NNStudioError, ParameterError, TrainingError
from nnstudio.core.live import LIVE_FIELDS, LiveHyperparameters
from nnstudio.core.settings import TrainingConfig

from .builder import DesignModule, build_model, initialize
from .callbacks import Callback, CallbackList, CancelTraining
from .control import PARAMETER_EDITS, TrainingControl
from .cudagraph import GRAPH_MODES, GraphStep, graph_blockers
from .epoch_history import POINT_STEPS
from .faults import LastFiniteWeights, is_out_of_memory, nan_error, oom_error, release_memory
from .optim import (
    adjust_gradients,
    make_losses,
    make_optimizer,
    prepare_targets,
    schedule_factor,
    set_learning_rate,
    set_momentum,
    set_weight_decay,
    split_parameters,
)
from .playground_recipe import PlaygroundL1, batch_bounds, initialisation, playground_losses, playground_probability
from .telemetry import PROBE_SAMPLES, Telemetry, TelemetryCollector

DEFAULT_PUBLISH_HZ = 30.0
# Publishing may take at most this share of the wall time: a publication that costs 5 ms (a big
# validation set, say) is followed by at least 5 / 0.02 ms of training before the next one. Playground's
# publication (validation, histograms and the 100x100 grid with its neuron maps) costs about 1 ms on a CPU:
# about 20 per second there, 30 per second on a GPU.
DEFAULT_TELEMETRY_BUDGET = 0.02
# A small training set is gathered in shuffled order once per epoch, and batches are zero-copy slices of it:
# that saves two small ops per step, which tiny models feel (about 4 % for Playground's MLP on a CPU). A
# large set is gathered batch by batch: each batch then stays in cache for the forward pass (8 % faster for
# a 25 MB set of 784-feature vectors) and the device holds no second, shuffled copy.
EPOCH_GATHER_BYTES = 4 << 20
HISTORY_LIMIT = 100_000
CHECKPOINT_HISTORY_TAIL = 200


class CallbackError(Exception):
    """A callback raised: carries which one and where, so the user is told plainly."""

    def __init__(self, hook: str, callback: object, error: BaseException) -> None:
        self.hook, self.callback, self.error = hook, callback, error
        name = type(getattr(callback, "__self__", callback)).__name__
        super().__init__(f"the {name} callback failed in {hook}: {type(error).__name__}: {error}")


class _Callbacks(CallbackList):
    """Dispatch that tells a callback's own failure apart from one of the training itself."""

    def __call__(self, hook: str, *args: Any) -> None:
        for fn in self.by_hook[hook]:
            try:
                fn(*args)
            except CancelTraining:
                raise
            except Exception as exc:
                raise CallbackError(hook, fn, exc) from exc


@dataclass
class TrainingResult:
    """How a fit ended. Failures do not return: they raise TrainingError."""

    epochs_completed: int
    steps: int
    samples_seen: int
    stopped: bool  # ended early by a stop request or CancelTraining
    elapsed: float
    device: str
    graph_mode: str
    final: Telemetry | None
    history: list[dict[str, Any]] = field(default_factory=list)


def resolve_device(spec: str | torch.device | None) -> torch.device:
    """'auto' picks CUDA, then Apple's MPS, then the CPU; an unavailable device is a TrainingError."""
    text = str(spec or "auto").strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise TrainingError(f"unknown device {spec!r}: use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise TrainingError("training on CUDA was requested, but this computer has no usable CUDA GPU "
                                "(or this PyTorch was built without CUDA): choose auto or cpu")
        index = 0 if device.index is None else device.index
        if index >= torch.cuda.device_count():
            raise TrainingError(f"there is no GPU cuda:{index}; this computer has "
                                f"{torch.cuda.device_count()} CUDA device(s)")
        return torch.device("cuda", index)
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise TrainingError("training on MPS was requested, but Apple's Metal backend is not available")
        return device
    if device.type != "cpu":
        raise TrainingError(f"unsupported device {spec!r}: use auto, cpu, cuda, cuda:N or mps")
    return device


def _dataset_grid(dataset: Any) -> tuple[np.ndarray, int, tuple[float, float, float, float]] | None:
    """The decision-boundary grid of a 2-D Playground dataset: (features, resolution, extent), if any."""
    grid = getattr(dataset, "grid", None)
    if grid is None or getattr(grid, "features", None) is None:
        return None
    xs, ys = np.asarray(grid.xs), np.asarray(grid.ys)
    return np.asarray(grid.features), len(xs), (float(xs[0]), float(xs[-1]), float(ys[0]), float(ys[-1]))


def _check_dataset(dataset: Any, model: DesignModule) -> None:
    from nnstudio.data import check_fit

    output = model.steps[-1]
    problems = check_fit(dataset, tuple(model.input_shape), model.task, int(output.shape[0]),
                         input_name=model.input_name, output_name=model.output_name)
    if problems:
        raise DataError("; ".join(problems))
    x, y = np.asarray(dataset.x_train), np.asarray(dataset.y_train)
    if len(x) == 0:
        raise DataError("the training set is empty: use a larger dataset or a larger training percentage")
    if tuple(x.shape[1:]) != tuple(model.input_shape):
        raise DataError(f"the data has samples of shape {tuple(x.shape[1:])} but the Input layer expects "
                        f"{tuple(model.input_shape)}")
    if len(y) != len(x):
        raise DataError(f"the data has {len(x)} samples but {len(y)} targets")


class Trainer:
    """Trains one design. Build it in the thread that will run `fit()` (or hand it over before fit);
    while `fit()` runs, that thread alone touches the model, optimizer and device tensors. Other threads
    steer it through `control` and listen through callbacks.

    Parameters beyond the obvious:
      initial_state: a `Checkpoint` (weights, optimizer state, counters and random state: the fit
        continues exactly where the saved one was) or a plain state dict of weights.
      publish_hz: most publications per second (0 or None: only at epoch ends if requested, and at the
        end). publish_epoch_end: also publish after every epoch (the CLI does; a GUI needs not).
      telemetry_budget: the largest share of wall time publications may take.
      cuda_graphs: "auto" (capture the step on CUDA when possible) or "off".
    """

    def __init__(
        self,
        design: Design,
        dataset: Any = None,
        base_dir: str | Path | None = None,
        callbacks: Iterable[Callback] = (),
        control: TrainingControl | None = None,
        device: str | torch.device | None = None,
        *,
        initial_state: Any = None,
        publish_hz: float | None = DEFAULT_PUBLISH_HZ,
        publish_epoch_end: bool = False,
        telemetry_budget: float = DEFAULT_TELEMETRY_BUDGET,
        cuda_graphs: str = "auto",
    ) -> None:
        if cuda_graphs not in GRAPH_MODES:
            raise ValueError(f"cuda_graphs must be one of {GRAPH_MODES}, not {cuda_graphs!r}")
        self.design = design.copy()
        self.config: TrainingConfig = self.design.training
        self.callbacks = list(callbacks)
        self.control = control
        self.publish_hz = float(publish_hz or 0.0)
        self.publish_epoch_end = publish_epoch_end
        self.telemetry_budget = max(1e-3, float(telemetry_budget))
        self.cuda_graphs = cuda_graphs
        self.device = resolve_device(device if device is not None else self.config.device)

        # Weights first, so the seed gives the same initial weights whatever the data.
        self.generator = torch.Generator().manual_seed(self.config.seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.config.seed)  # PyTorch's default initialisation uses the global RNG
            self.model = build_model(self.design)
            initialize(self.model, initialisation(self.config), self.generator)
        # Dropout draws from the global RNG: the trainer keeps its own stream of it, seeded here.
        self._dropout_rng = torch.Generator().manual_seed(self.config.seed + 1).get_state()
        self._cuda_seeded = False

        if dataset is None:
            from nnstudio.data import load_dataset

            dataset = load_dataset(self.design.dataset, base_dir=base_dir)
        self.dataset = dataset
        _check_dataset(dataset, self.model)
        self.task = self.model.task
        self.playground = self.config.playground
        if self.playground:
            self.loss_fn, self.loss_sum_fn = playground_losses(self.task)
        else:
            self.loss_fn, self.loss_sum_fn = make_losses(self.task, self.config.regression_loss)

        self.epoch = 0  # completed epochs
        self.batch = 0  # batches done in the epoch in progress
        self.step = 0  # optimizer steps since initialisation
        self.samples_seen = 0
        self.history: deque[dict[str, Any]] = deque(maxlen=HISTORY_LIMIT)
        self.last_telemetry: Telemetry | None = None
        self.graph_mode = "eager"  # "eager" or "cuda_graph": what the last fit ran
        self.graph_fallback: str | None = None  # why the step was not (or no longer) captured
        self._epoch_rng: torch.Tensor | None = None  # generator state at the start of the epoch in progress
        # The live hyper-parameters as one value; `_lr` is the scheduled rate the optimizer uses now.
        self.live = LiveHyperparameters.from_config(self.config)
        self._lr = self.live.learning_rate
        self._graph: GraphStep | None = None
        self._capture_failure: str | None = None
        self._resume_optimizer: dict[str, Any] | None = None

        try:
            self.model.to(self.device)
            self.model.train()
            self._load_data()
        except Exception as exc:
            if is_out_of_memory(exc):
                self._release_device_memory()
                raise oom_error(self.device, self.config.batch_size) from None
            raise
        self._split = split_parameters(self.model)
        self._params = self._split.weights + self._split.others
        if initial_state is not None:
            self._load_initial_state(initial_state)
        self._l1: PlaygroundL1 | None = None
        if self.playground and self.config.regularization == "l1":
            self._l1 = PlaygroundL1(self._split.weights, resumed=initial_state is not None)
        self._optimizer_for_graph = False
        self.optimizer = self._make_optimizer(for_graph=False)
        self._resume_optimizer = None
        self._after_backward: list[Any] = []
        # The module the eager training step calls: None is the model itself; nnstudio.ml.distributed sets a
        # DistributedDataParallel wrapper of it (telemetry, checkpoints and graphs keep using `model`).
        self.forward_module: torch.nn.Module | None = None

    # ---- set-up ------------------------------------------------------------------------------------

    def _load_data(self) -> None:
        ds, device = self.dataset, self.device

        def features(a: Any) -> torch.Tensor:
            return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32).to(device)

        self.x_train = features(ds.x_train)
        self.y_train = prepare_targets(torch.as_tensor(np.asarray(ds.y_train)), self.task).to(device)
        self.x_val = self.y_val = None
        if getattr(ds, "x_val", None) is not None and len(ds.x_val) > 0:
            self.x_val = features(ds.x_val)
            self.y_val = prepare_targets(torch.as_tensor(np.asarray(ds.y_val)), self.task).to(device)
        self.n_train = len(self.x_train)
        self.batch_size = min(self.config.batch_size, self.n_train)
        grid = _dataset_grid(ds)
        grid_tensor = None
        grid_resolution, grid_extent = 0, None
        if grid is not None:
            grid_tensor = features(grid[0])
            grid_resolution, grid_extent = grid[1], grid[2]
        self.collector = TelemetryCollector(
            self.model, device, self.loss_sum_fn, x_val=self.x_val, y_val=self.y_val,
            probe=self.x_train[:PROBE_SAMPLES], grid=grid_tensor, grid_resolution=grid_resolution,
            grid_extent=grid_extent, **self._recipe_telemetry())
        self._gather_per_epoch = self.x_train.numel() * 4 <= EPOCH_GATHER_BYTES

    def _recipe_telemetry(self) -> dict[str, Any]:
        """Under the Playground recipe the training loss shown is Playground's: the whole training set's mean
        loss with the current weights, and the boundary is (1 + tanh z) / 2."""
        if not self.config.playground:
            return {}
        extra: dict[str, Any] = {"x_train": self.x_train, "y_train": self.y_train}
        if self.task == "binary":
            extra["probability"] = playground_probability
        return extra

    def _make_optimizer(self, for_graph: bool) -> torch.optim.Optimizer:
        config = self.config.with_changes(**self.live.to_dict())
        optimizer = make_optimizer(config, self.model, learning_rate=self._lr, device=self.device,
                                   for_graph=for_graph)
        if self._resume_optimizer is not None:
            _load_optimizer_state(optimizer, self._resume_optimizer)
        return optimizer

    def _load_initial_state(self, state: Any) -> None:
        from .checkpoint import Checkpoint

        if isinstance(state, Checkpoint):
            weights = state.state_dict
            # Moments of another optimizer kind would not fit (Adam's are not SGD's): start those afresh.
            if state.training_state.get("optimizer") == self.config.optimizer:
                self._resume_optimizer = state.optimizer_state or None
            self._restore_training_state(state.training_state, state.rng_state)
        elif isinstance(state, dict):
            weights = state
        else:
            raise TypeError("initial_state must be a Checkpoint or a state dict")
        try:
            self.model.load_state_dict({k: v for k, v in weights.items()}, strict=True)
        except RuntimeError as exc:
            raise TrainingError(f"the saved weights do not fit this design: {str(exc).splitlines()[0]}") from None

    def _restore_training_state(self, training: dict[str, Any], rng: dict[str, torch.Tensor]) -> None:
        self.epoch = int(training.get("epoch", 0))
        self.batch = int(training.get("batch", 0))
        self.step = int(training.get("step", 0))
        self.samples_seen = int(training.get("samples_seen", 0))
        saved = training.get("hyperparameters", {})
        try:
            self.live = self.live.with_changes({k: v for k, v in saved.items() if k in LIVE_FIELDS})
        except ParameterError as exc:
            raise TrainingError(f"the checkpoint's training_state.hyperparameters.{exc}") from None
        self._lr = self.live.learning_rate * schedule_factor(self.config, self.epoch)
        self.history.extend(training.get("history", []))
        if "generator" in rng:
            self.generator.set_state(rng["generator"])
        if "epoch" in rng:
            self._epoch_rng = rng["epoch"].clone()
        if "dropout" in rng:
            self._dropout_rng = rng["dropout"].clone()

    # ---- public state ------------------------------------------------------------------------------

    @property
    def learning_rate(self) -> float:
        return self._lr

    @property
    def display_epoch(self) -> int:
        """1-based number of the epoch in progress, or of the one just finished between epochs."""
        return max(1, self.epoch + (1 if self.batch else 0))

    @property
    def batches_per_epoch(self) -> int:
        if self.playground:  # a trailing partial batch carries into the next epoch's first update
            return self.n_train // self.batch_size
        if self.graph_mode == "cuda_graph":
            return self.n_train // self.batch_size  # graphs need full batches: the remainder is dropped
        return math.ceil(self.n_train / self.batch_size)

    def training_state(self) -> dict[str, Any]:
        """The JSON-able counters and settings a checkpoint stores next to the weights."""
        return {
            "epoch": self.epoch, "batch": self.batch, "step": self.step, "samples_seen": self.samples_seen,
            "optimizer": self.config.optimizer, "seed": self.config.seed, "device": str(self.device),
            "graph_mode": self.graph_mode,
            "hyperparameters": self.live.to_dict(),
            "history": list(self.history)[-CHECKPOINT_HISTORY_TAIL:],
        }

    def rng_state(self) -> dict[str, torch.Tensor]:
        state = {"generator": self.generator.get_state(), "dropout": self._dropout_rng.clone()}
        if self._epoch_rng is not None and self.batch > 0:
            state["epoch"] = self._epoch_rng.clone()
        return state

    def save_checkpoint(self, path: str | Path) -> None:
        """Write weights, optimizer state, counters and random state (call between fits or from a
        callback in the training thread)."""
        from .checkpoint import save_checkpoint

        save_checkpoint(path, self.model, self.design, self.training_state(),
                        optimizer_state=self.optimizer.state_dict(), rng_state=self.rng_state(),
                        learning_rate=self._lr)

    # ---- fit ---------------------------------------------------------------------------------------

    def fit(self, epochs: int | None = None) -> TrainingResult:
        """Train until `epochs` epochs are complete in total (default: the design's setting)."""
        target = self.config.epochs if epochs is None else int(epochs)
        cbs = _Callbacks(self.callbacks)
        cbs.attach(self)
        self._cbs = cbs
        control = self.control
        if control is not None:
            control.begin()
        self._start_time = time.perf_counter()
        self._window_start = self._start_time
        self._window_step = self.step
        self._window_samples = 0
        self._next_publish = self._start_time
        self._target_epochs = target
        self._fit_start_step = self.step
        stopped = False
        failure: BaseException | None = None
        self._guard: LastFiniteWeights | None = None
        self._after_backward = cbs.by_hook["after_backward"]
        try:
            with self._rng_scope():
                self._guard = LastFiniteWeights(self.model)
                self._guard.good_step = self.step
                self._choose_mode(cbs)
                cbs("on_fit_start")
                self.collector.reset_window()
                self.collector.points.begin(self.step, self.samples_seen)
                if self.publish_hz > 0 or self.publish_epoch_end:
                    self._publish("start")
                while self.epoch < target:
                    self._run_epoch(target)
        except CancelTraining:
            stopped = True
        except BaseException as exc:  # noqa: BLE001 - turned into a TrainingError below, after fit end
            failure = exc
        # The final picture: after success or a stop, and after a NaN (it shows the restored weights).
        publish_end = failure is None or isinstance(failure, TrainingError)
        if failure is not None and is_out_of_memory(failure):
            failure = self._out_of_memory(failure)
        if publish_end:
            try:
                with self._rng_scope():
                    self._publish("end")
            except CancelTraining:
                stopped = True
            except BaseException as exc:  # noqa: BLE001
                failure = failure or exc
        error = self._as_training_error(failure) if failure is not None else None
        if error is not None:
            with contextlib.suppress(Exception):
                cbs("on_error", error)
        try:
            cbs("on_fit_end")
        except CancelTraining:
            pass
        except CallbackError as exc:
            if error is None:
                error = self._as_training_error(exc)
        finally:
            if self._graph is not None and error is not None:
                self._drop_graph()
            if self._guard is not None:
                self._guard.release()
                self._guard = None
            if control is not None:
                control.finish()
        if error is not None:
            if isinstance(failure, KeyboardInterrupt):
                raise failure
            raise error
        return TrainingResult(
            epochs_completed=self.epoch, steps=self.step, samples_seen=self.samples_seen, stopped=stopped,
            elapsed=time.perf_counter() - self._start_time, device=str(self.device),
            graph_mode=self.graph_mode, final=self.last_telemetry, history=list(self.history))

    @contextlib.contextmanager
    def _rng_scope(self) -> Iterator[None]:
        """Run with the trainer's own CPU global-RNG stream (dropout), leaving the process's stream alone.

        On CUDA, dropout draws from the device generator, which is seeded once and then left alone: a
        captured graph keeps advancing it on the device, and swapping its state under a live graph is
        not worth the risk (runs on a GPU are not promised to repeat bit for bit anyway).
        """
        if self.device.type == "cuda" and not self._cuda_seeded:
            torch.cuda.manual_seed(self.config.seed + 1)
            self._cuda_seeded = True
        with torch.random.fork_rng(devices=[]):
            torch.set_rng_state(self._dropout_rng)
            try:
                yield
            finally:
                self._dropout_rng = torch.get_rng_state()

    def _as_training_error(self, exc: BaseException) -> TrainingError:
        if isinstance(exc, TrainingError):
            return exc
        if isinstance(exc, CallbackError):
            error = TrainingError(str(exc))
            error.__cause__ = exc.error
            return error
        if isinstance(exc, NNStudioError):
            error = TrainingError(str(exc))
        else:
            first_line = str(exc).splitlines()[0] if str(exc) else ""
            error = TrainingError(f"training failed: {type(exc).__name__}: {first_line}")
        error.__cause__ = exc
        return error

    def _out_of_memory(self, exc: BaseException) -> TrainingError:
        # The exception's traceback holds the frames that hold the batch's tensors: drop it first.
        exc.__traceback__ = None
        self._drop_graph()
        self.optimizer.zero_grad(set_to_none=True)
        self._epoch_x = self._epoch_y = None
        release_memory(self.device)
        return oom_error(self.device, self.batch_size)

    def _release_device_memory(self) -> None:
        for name in ("x_train", "y_train", "x_val", "y_val"):
            setattr(self, name, None)
        self.model.to("cpu")
        release_memory(self.device)

    # ---- mode selection ----------------------------------------------------------------------------

    def _choose_mode(self, cbs: CallbackList) -> None:
        blockers = graph_blockers(device=self.device, optimizer=self.config.optimizer, callbacks=cbs,
                                  full_batches=self.n_train // self.batch_size, mode=self.cuda_graphs)
        if self._capture_failure:
            blockers.append(self._capture_failure)
        if self.playground and self.device.type == "cuda":
            blockers.append("the Playground recipe's first batch of an epoch varies in size")
        if blockers:
            self.graph_mode = "eager"
            self.graph_fallback = "; ".join(blockers)
            self._drop_graph()
            if self._optimizer_for_graph:
                self._rebuild_optimizer(for_graph=False)
            return
        if self._graph is None:
            if not self._optimizer_for_graph:
                self._rebuild_optimizer(for_graph=True)
            self._static_idx = torch.zeros(self.batch_size, dtype=torch.int64, device=self.device)
            self._graph = GraphStep(self._graph_body, self._zero_grad)
        self.graph_mode = "cuda_graph"
        self.graph_fallback = None

    def _rebuild_optimizer(self, for_graph: bool, keep_state: bool = True) -> None:
        """Build the optimizer again (for graph mode or back), carrying its moments over unless told not to."""
        if keep_state and self.optimizer.state:
            self._resume_optimizer = _portable_optimizer_state(self.optimizer)
        self.optimizer = self._make_optimizer(for_graph=for_graph)
        self._resume_optimizer = None
        self._optimizer_for_graph = for_graph

    def _drop_graph(self) -> None:
        if self._graph is not None:
            self._graph.release()
            self._graph = None
            self.optimizer.zero_grad(set_to_none=True)

    # ---- epochs and steps --------------------------------------------------------------------------

    def _run_epoch(self, target: int) -> None:
        cbs = self._cbs
        epoch_number = self.epoch + 1
        self._bounds = None
        if self.playground:  # one fixed order, shuffled once with the data; no random draw
            if self.batch == 0:
                self._lr = self.live.learning_rate * schedule_factor(self.config, self.epoch)
                set_learning_rate(self.optimizer, self._lr)
            perm, self._bounds = batch_bounds(self.n_train, self.batch_size, self.epoch)
        elif self.batch == 0:
            self._lr = self.live.learning_rate * schedule_factor(self.config, self.epoch)
            set_learning_rate(self.optimizer, self._lr)
            self._epoch_rng = self.generator.get_state()
            perm = torch.randperm(self.n_train, generator=self.generator)
        else:  # continuing an interrupted epoch: draw its permutation again
            saved = self.generator.get_state()
            self.generator.set_state(self._epoch_rng)
            perm = torch.randperm(self.n_train, generator=self.generator)
            self.generator.set_state(saved)
        if self.device.type != "cpu":
            perm = perm.to(self.device, non_blocking=True)
        cbs("on_epoch_start", epoch_number)
        if self.graph_mode == "cuda_graph":
            self._graph_batches(perm)
        if self.graph_mode == "eager":  # also the rest of an epoch whose capture just failed
            self._eager_batches(perm)
        self.epoch += 1
        self.batch = 0
        self._record_point(validate=self.epoch >= target)  # the last point always validates
        self._epoch_rng = None
        self._epoch_x = self._epoch_y = None
        cbs("on_epoch_end", epoch_number)
        if self.publish_epoch_end and self.epoch < target:  # after the last epoch, "end" follows at once
            self._publish("epoch_end")
        elif self.epoch < target and self.publish_hz > 0 and time.perf_counter() >= self._next_publish:
            self._publish("batch")

    def _eager_batches(self, perm: torch.Tensor) -> None:
        n, bs = self.n_train, self.batch_size
        if self._gather_per_epoch:
            self._epoch_x = x = self.x_train.index_select(0, perm)
            self._epoch_y = y = self.y_train.index_select(0, perm)
        cbs = self._cbs
        batch_start = cbs.by_hook["on_batch_start"]
        batch_end = cbs.by_hook["on_batch_end"]
        after_step = cbs.by_hook["after_step"]
        control = self.control
        publishing = self.publish_hz > 0
        clock = time.perf_counter
        step = self._eager_step
        next_point = self._next_point()
        bounds = self._bounds
        for b in range(self.batch, self.batches_per_epoch):
            if control is not None and control.attention:
                self._attend(control)
            lo, hi = bounds[b] if bounds is not None else (b * bs, b * bs + bs)
            if self._gather_per_epoch:
                xb, yb = x[lo:hi], y[lo:hi]
            else:
                idx = perm[lo:hi]
                xb, yb = self.x_train.index_select(0, idx), self.y_train.index_select(0, idx)
            if batch_start:
                cbs("on_batch_start", self.step + 1)
            step(xb, yb)
            self.step += 1
            self.batch = b + 1
            taken = min(hi, n) - lo
            self.samples_seen += taken
            self._window_samples += taken
            if after_step:
                cbs("after_step")
            if batch_end:
                cbs("on_batch_end", self.step)
            if b + 1 == next_point:
                next_point = self._point_inside_epoch(next_point)
            if publishing and clock() >= self._next_publish and b + 1 < self.batches_per_epoch:
                self._publish("batch")

    def _eager_step(self, xb: torch.Tensor, yb: torch.Tensor) -> None:
        out = (self.forward_module or self.model)(xb)
        loss = self.loss_fn(out, yb)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self._after_backward:
            self._cbs("after_backward")
        self._adjust_gradients()
        if self._l1 is not None:
            self._l1.before_step()
            self.optimizer.step()
            self._l1.after_step(self._lr, self.live.regularization_rate)
        else:
            self.optimizer.step()
        self.collector.defer(out, yb, loss)

    def _adjust_gradients(self) -> None:
        # Playground's L1 is applied in its own update (with the zero-crossing clamp), not as a gradient term.
        regularization = self.config.regularization
        if self.playground and regularization == "l1":
            regularization = "none"
        adjust_gradients(self._split, regularization, self.live.regularization_rate, self.live.grad_clip)

    def _graph_batches(self, perm: torch.Tensor) -> None:
        bs = self.batch_size
        cbs = self._cbs
        control = self.control
        publishing = self.publish_hz > 0
        clock = time.perf_counter
        graph = self._graph
        next_point = self._next_point()
        for b in range(self.batch, self.batches_per_epoch):
            if control is not None and control.attention:
                self._attend(control)
            lo = b * bs
            self._static_idx.copy_(perm[lo:lo + bs])
            if cbs.by_hook["on_batch_start"]:
                cbs("on_batch_start", self.step + 1)
            graph()
            self.step += 1
            self.batch = b + 1
            self.samples_seen += bs
            self._window_samples += bs
            if cbs.by_hook["after_step"]:
                cbs("after_step")
            if cbs.by_hook["on_batch_end"]:
                cbs("on_batch_end", self.step)
            if graph.failure is not None:  # this step ran eagerly; so does the rest of the training
                self._capture_failure = f"capturing the step in a CUDA graph failed ({graph.failure})"
                self.graph_fallback = self._capture_failure
                self.graph_mode = "eager"
                self._graph = None
                return
            if b + 1 == next_point:
                next_point = self._point_inside_epoch(next_point)
            if publishing and clock() >= self._next_publish and b + 1 < self.batches_per_epoch:
                self._publish("batch")

    def _graph_body(self) -> None:
        """One step reading its batch through the static index buffer; captured by GraphStep."""
        xb = self.x_train.index_select(0, self._static_idx)
        yb = self.y_train.index_select(0, self._static_idx)
        out = self.model(xb)
        loss = self.loss_fn(out, yb)
        loss.backward()
        self._adjust_gradients()
        self.optimizer.step()
        self.collector.accumulate(out, yb, loss)

    def _zero_grad(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)

    # ---- history points (see epoch_history.py) ----------------------------------------------------

    def _next_point(self) -> int:
        """The batch number (1-based, in this epoch) after which the next in-epoch point is due; -1: none."""
        per_epoch = self.batches_per_epoch
        if per_epoch <= POINT_STEPS:
            return -1
        return (self.batch // POINT_STEPS + 1) * POINT_STEPS

    def _point_inside_epoch(self, at: int) -> int:
        if at < self.batches_per_epoch:  # the epoch's last batch gets its point at the epoch end
            self._record_point()
        return at + POINT_STEPS

    def _record_point(self, validate: bool = False) -> None:
        per_epoch = max(1, self.batches_per_epoch)
        done = self.epoch + min(self.batch, per_epoch) / per_epoch
        self.collector.points.record(epoch_position=done, epoch=self.display_epoch, step=self.step,
                                     samples_seen=self.samples_seen,
                                     elapsed=time.perf_counter() - self._start_time, learning_rate=self._lr,
                                     validate=validate)

    # ---- control -----------------------------------------------------------------------------------

    def _attend(self, control: TrainingControl) -> None:
        if control.stop_requested:
            raise CancelTraining("stop requested")
        pending = control.take_hyperparameters()
        if pending:
            self._apply_hyperparameters(pending)
        if not control.consume_step():
            control.wait_while_paused(on_pause=lambda: self._publish("paused"), apply=self._apply_hyperparameters)
            if control.stop_requested:
                raise CancelTraining("stop requested")
            control.consume_step()

    def _apply_hyperparameters(self, changes: dict[str, float]) -> None:
        """Apply live changes between two steps. A tensor learning rate is updated in place; anything a
        captured graph holds as a constant makes it capture again."""
        recapture = False
        edits = changes.pop(PARAMETER_EDITS, None)
        if edits:
            self._edit_parameters(edits)
        # Checked once already, in the caller's thread, by TrainingControl.set_hyperparameters.
        before, self.live = self.live, replace(self.live, **changes)
        if "learning_rate" in changes:
            self._lr = self.live.learning_rate * schedule_factor(self.config, self.epoch)
            set_learning_rate(self.optimizer, self._lr)
            recapture |= not isinstance(self.optimizer.param_groups[0]["lr"], torch.Tensor)
        if "momentum" in changes:
            recapture |= set_momentum(self.optimizer, self.config.optimizer, self.live.momentum)
        if "regularization_rate" in changes:
            if self.config.regularization == "l2":
                set_weight_decay(self.optimizer, self.live.regularization_rate)
            recapture |= self.config.regularization != "none"
        if "grad_clip" in changes:
            recapture |= before.grad_clip != self.live.grad_clip
        if recapture and self._graph is not None:
            self._graph.invalidate()

    @torch.no_grad()
    def _edit_parameters(self, edits: list[tuple[str, int, float]]) -> None:
        """Set single values of the live model (the network view's weight edits); unknown names or indexes
        are skipped. While paused, a publication shows the edit at once."""
        params = dict(self.model.named_parameters())
        for name, index, value in edits:
            p = params.get(name)
            if p is not None and 0 <= index < p.numel() and math.isfinite(value):
                p.view(-1)[index] = value  # in place: a captured CUDA graph reads the same memory
        if self.control is not None and self.control.state == "paused":
            self._publish("paused")

    # ---- publication -------------------------------------------------------------------------------

    def _progress(self, now: float) -> dict[str, Any]:
        per_epoch = self.batches_per_epoch
        done = self.step - self._fit_start_step
        left = max(0, (self._target_epochs - self.epoch) * per_epoch - self.batch)
        elapsed = now - self._start_time
        eta = left * elapsed / done if done and elapsed > 0 else None
        return {"progress": done / (done + left) if done + left else 1.0, "eta_seconds": eta}

    def _publish(self, reason: str) -> None:
        started = time.perf_counter()
        guard = self._guard
        if guard is not None:
            guard.snapshot()
        if reason in ("paused", "end"):
            self._record_point(validate=True)  # a stop or pause mid-epoch (or one step) shows on the curves
        host = self.collector.gather()
        now = time.perf_counter()
        steps = self.step - self._window_step
        seconds = now - self._window_start
        samples = self._window_samples
        self._window_start, self._window_step, self._window_samples = now, self.step, 0
        values = [float(v) for v in host["state_max"].tolist()]
        window_loss = float(host["window"][0])
        if steps:
            values.append(window_loss)
        if "val" in host:
            values.append(float(host["val"][0]))
        if not all(math.isfinite(v) for v in values):
            what = "NaN" if any(math.isnan(v) for v in values) else "infinite"
            good = guard.good_step if guard is not None else 0
            if guard is not None:
                guard.restore()
            # Moments built from the diverging steps would carry the divergence on: start them afresh.
            self._drop_graph()
            self._rebuild_optimizer(for_graph=self._optimizer_for_graph, keep_state=False)
            raise nan_error(self.display_epoch, self.step, good, what)
        if guard is not None:
            guard.confirm(self.step)
        telemetry = self.collector.build(
            host, steps_in_window=steps, samples_in_window=samples,
            reason=reason, epoch=self.display_epoch, epochs=self._target_epochs,
            batch=self.batch, batches_per_epoch=self.batches_per_epoch, step=self.step,
            samples_seen=self.samples_seen, elapsed=now - self._start_time, learning_rate=self._lr,
            steps_per_second=steps / seconds if steps and seconds > 0 else 0.0,
            previous=self.last_telemetry, **self._progress(now))
        self.last_telemetry = telemetry
        self.history.append(telemetry.metrics())
        self._cbs("on_publish", telemetry)
        finished = time.perf_counter()
        if self.publish_hz > 0:
            cost = finished - started
            self._next_publish = finished + max(1.0 / self.publish_hz, cost / self.telemetry_budget - cost)


def _portable_optimizer_state(optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """An optimizer's state dict with plain-number hyper-parameters (a tensor lr becomes a float)."""
    state = optimizer.state_dict()
    for group in state["param_groups"]:
        for key, value in list(group.items()):
            if isinstance(value, torch.Tensor):
                group[key] = float(value)
    return state


def _load_optimizer_state(optimizer: torch.optim.Optimizer, saved: dict[str, Any]) -> None:
    """Load saved moments and step counts into an optimizer built for this device and mode.

    Only the per-parameter state is taken: hyper-parameters come from the design and the trainer, and
    implementation flags (fused, capturable, foreach) must stay those of the optimizer as built, or a
    state saved on a GPU would make a CPU optimizer 'capturable'.
    """
    current = optimizer.state_dict()
    groups = current["param_groups"]
    count = sum(len(g["params"]) for g in groups)
    state = {int(k): v for k, v in saved.get("state", {}).items() if int(k) < count}
    capturable = any(g.get("capturable") or g.get("fused") for g in groups)
    device = optimizer.param_groups[0]["params"][0].device
    for entry in state.values():
        step = entry.get("step")
        if isinstance(step, torch.Tensor):
            # Capturable and fused optimizers keep the step count on the device; the others on the CPU.
            entry["step"] = step.to(device if capturable else "cpu", torch.float32)
    try:
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError, RuntimeError) as exc:
        raise TrainingError(f"the saved optimizer state does not fit this design: {exc}") from None
