"""The trainer: a design and its data in, trained weights and a stream of telemetry out (no Qt).

`Trainer.fit()` runs a loop made of events (on_fit_start, on_epoch_start, on_batch_start, after_backward,
after_step, on_batch_end, on_epoch_end, on_publish, on_error, on_fit_end). The dataset lives on the
training device; each epoch draws one permutation from the trainer's seeded generator and batches are
slices of the permuted data. An incomplete last batch is kept in eager mode (every sample is used every
epoch, as in Playground) and dropped when the step runs as a CUDA graph, which needs one fixed batch
shape (each epoch reshuffles, so no sample is left out for long).

Nothing in the per-step path waits for the device: the loss and accuracy accumulate on the device and
reach the host only at publications, which a wall-clock throttle limits to `publish_hz` per second (and
to a small share of the run time when publishing is expensive).
While a callback listens to `on_view_frame`, light frames for the
network view (`nnstudio.ml.view_frames`) come in between, at their own rate and budget.

Failures end the fit cleanly — `on_error`, then `on_fit_end` — and `fit()` then raises `TrainingError`
(a failing callback's exception is its `__cause__`; an out-of-memory error keeps no cause, so that the
failed step's tensors are freed). Cancelling (a stop request or `CancelTraining` from a callback) is not
a failure: `fit()` returns a `TrainingResult` with `stopped=True`.

The parts live in `nnstudio.ml.training` (data, state, loop, steering, publication); `Trainer` joins them
and owns the fit's life-cycle. Import it (and `resolve_device`, `TrainingResult`, `CallbackError`) from here.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from nnstudio.core.document import Design
from nnstudio.core.errors import NNStudioError, TrainingError
from nnstudio.core.live import LiveHyperparameters
from nnstudio.core.settings import TrainingConfig

from .builder import build_model, initialize
from .callbacks import Callback, CancelTraining
from .control import TrainingControl
from .cudagraph import GRAPH_MODES, GraphStep
from .faults import LastFiniteWeights, is_out_of_memory, oom_error, release_memory
from .optim import make_losses, split_parameters
from .playground_recipe import PlaygroundL1, initialisation, playground_losses
from .telemetry import Telemetry
from .training.data import EPOCH_GATHER_BYTES, TrainingData, check_dataset
from .training.device import resolve_device
from .training.dispatch import CallbackDispatch, CallbackError
from .training.loop import EpochLoop
from .training.publication import DEFAULT_PUBLISH_HZ, DEFAULT_TELEMETRY_BUDGET, Publication
from .training.state import CHECKPOINT_HISTORY_TAIL, TrainerState
from .training.steering import Steering

__all__ = ["CHECKPOINT_HISTORY_TAIL", "DEFAULT_PUBLISH_HZ", "DEFAULT_TELEMETRY_BUDGET", "EPOCH_GATHER_BYTES",
           "HISTORY_LIMIT", "CallbackError", "Trainer", "TrainingResult", "resolve_device"]

HISTORY_LIMIT = 100_000


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


class Trainer(TrainingData, TrainerState, EpochLoop, Steering, Publication):
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
        check_dataset(dataset, self.model)
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

    # ---- fit ---------------------------------------------------------------------------------------

    def fit(self, epochs: int | None = None) -> TrainingResult:
        """Train until `epochs` epochs are complete in total (default: the design's setting)."""
        target = self.config.epochs if epochs is None else int(epochs)
        cbs = CallbackDispatch(self.callbacks)
        cbs.attach(self)
        self._cbs = cbs
        control = self.control
        if control is not None:
            control.begin()
        self._start_time = time.perf_counter()
        self._window_start = self._start_time
        self._window_step = self.step
        self._window_samples = self.samples_seen  # samples_seen when the publication window began
        self._begin_publishing(cbs, self._start_time)
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

