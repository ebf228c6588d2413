"""Several trainings of one design side by side: the optimizer race and "train from N seeds".

Each runner is an ordinary `Trainer` of the design with a few training settings changed (optimizer,
learning rate, momentum — or the seed). They share one dataset and, for a race, one set of initial
weights (the design's seed, or the weights given). `MultiRun.run` advances them in turns of a few
epochs each (`Trainer.fit` to the next epoch count), so every runner's result is exactly that of a single
fit with its settings — a fit continues where the previous one stopped, with the same random streams.
A runner whose loss turns NaN/inf is marked diverged (its last finite weights kept) and drops out; the
others go on. Every runner records its weight trajectory, so the paths can be drawn on one plane.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnstudio.core.document import Design
from nnstudio.core.errors import NNStudioError, TrainingError

from .trajectory import TrajectoryRecorder, common_plane, flat_parameters

MAX_RUNNERS = 8
TURN_SECONDS = 0.1  # adaptive turns: about this long per runner, so a live view updates a few times a second
RACE_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad")


@dataclass(frozen=True)
class Contender:
    """One runner: a label and the training settings it changes (e.g. optimizer, learning_rate, seed)."""

    label: str
    changes: dict[str, Any] = field(default_factory=dict)


def race_contenders(entries: Sequence[tuple[str, float]]) -> list[Contender]:
    """Contenders from (optimizer, learning rate) pairs, labelled 'momentum 0.03'."""
    out = []
    for name, lr in entries:
        if name not in RACE_OPTIMIZERS:
            raise NNStudioError(f"unknown optimizer {name!r} (known: {', '.join(RACE_OPTIMIZERS)})")
        out.append(Contender(f"{name} {lr:g}", {"optimizer": name, "learning_rate": float(lr)}))
    return out


def seed_contenders(count: int, first_seed: int = 0) -> list[Contender]:
    return [Contender(f"seed {s}", {"seed": s}) for s in range(first_seed, first_seed + count)]


@dataclass
class RunnerState:
    """One runner's progress, as plain values (safe to hand to another thread)."""

    label: str
    epochs: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    status: str = "running"  # running, done, diverged, failed
    message: str = ""
    steps: int = 0
    seconds: float = 0.0
    boundary: np.ndarray | None = None  # the final decision boundary of a 2-D dataset
    boundary_extent: tuple[float, float, float, float] | None = None

    @property
    def final_loss(self) -> float | None:
        return next((v for v in reversed(self.val_loss) if math.isfinite(v)), None)

    @property
    def rising(self) -> bool:
        """Its loss ended above where it was after the first epoch: diverging, even if never NaN."""
        finite = [v for v in self.val_loss if math.isfinite(v)]
        return self.status == "diverged" or (len(finite) >= 2 and finite[-1] > finite[0])

    @property
    def final_accuracy(self) -> float | None:
        return self.val_accuracy[-1] if self.val_accuracy else None

    def to_json(self) -> dict[str, Any]:
        def num(values: list[float]) -> list[float | None]:
            return [float(v) if math.isfinite(v) else None for v in values]

        return {"label": self.label, "status": self.status, "message": self.message, "epochs": self.epochs,
                "train_loss": num(self.train_loss), "val_loss": num(self.val_loss),
                "val_accuracy": num(self.val_accuracy), "steps": self.steps, "seconds": self.seconds}


class MultiRun:
    """Trainers of one design that differ by a few settings, advanced in turns."""

    def __init__(self, design: Design, contenders: Sequence[Contender], *, dataset: Any = None,
                 base_dir: Any = None, device: Any = "cpu", weights: dict[str, Any] | None = None,
                 record_every: int = 0) -> None:
        from .trainer import Trainer

        if not 1 <= len(contenders) <= MAX_RUNNERS:
            raise NNStudioError(f"choose 1 to {MAX_RUNNERS} runs, not {len(contenders)}")
        if dataset is None:
            from nnstudio.data import load_dataset

            dataset = load_dataset(design.dataset, base_dir=base_dir)
        initial = None
        if weights is not None:
            import torch

            initial = {k: torch.as_tensor(np.array(v, copy=True)) for k, v in weights.items()}
        self.design = design.copy()
        self.contenders = list(contenders)
        self.trainers: list[Any] = []
        self.recorders: list[TrajectoryRecorder] = []
        self.states: list[RunnerState] = []
        for contender in self.contenders:
            variant = self.design.copy()
            try:
                variant.set_training(**contender.changes)
            except NNStudioError as exc:
                raise NNStudioError(f"run '{contender.label}': {exc}") from None
            recorder = TrajectoryRecorder(every_steps=record_every)
            trainer = Trainer(variant, dataset=dataset, base_dir=base_dir, callbacks=[recorder], device=device,
                              initial_state=initial, publish_hz=0, cuda_graphs="off")
            self.trainers.append(trainer)
            self.recorders.append(recorder)
            self.states.append(RunnerState(contender.label))
        self.start = flat_parameters(self.trainers[0].model)

    @property
    def task(self) -> str:
        return self.trainers[0].task

    def run(self, epochs: int, *, epochs_per_turn: int | None = 1,
            on_turn: Callable[[list[RunnerState]], None] | None = None,
            cancelled: Callable[[], bool] | None = None, turn_seconds: float = TURN_SECONDS) -> list[RunnerState]:
        """Train every runner to `epochs` epochs, `epochs_per_turn` at a time each (None: as many as
        take about `turn_seconds` per runner, measured as it goes), calling `on_turn` after every round.

        Each turn is one `fit`, whose start and end cost a publication (validation, decision-boundary
        grid): for a Playground-sized epoch that is a good share of the epoch, hence the adaptive turns.
        """
        if epochs < 1:
            raise NNStudioError(f"train for at least 1 epoch, not {epochs}")
        adaptive = epochs_per_turn is None
        turn = 1 if adaptive else max(1, int(epochs_per_turn))
        while any(s.status == "running" for s in self.states):
            if cancelled is not None and cancelled():
                break
            for trainer, state in zip(self.trainers, self.states, strict=True):
                if state.status != "running":
                    continue
                target = min(epochs, trainer.epoch + turn)
                self._advance(trainer, state, target)
                if state.status == "running" and trainer.epoch >= epochs:
                    state.status = "done"
            if on_turn is not None:
                on_turn(self.states)
            if adaptive:
                done = [(s.seconds, t.epoch) for t, s in zip(self.trainers, self.states, strict=True) if t.epoch]
                if done:
                    per_epoch = max(secs / max(1, ep) for secs, ep in done)
                    turn = max(1, min(epochs, int(turn_seconds / max(per_epoch, 1e-6))))
        return self.states

    def _advance(self, trainer: Any, state: RunnerState, target: int) -> None:
        started = time.perf_counter()
        try:
            trainer.fit(target)
        except TrainingError as exc:
            finite = "NaN" in str(exc) or "infinite" in str(exc)
            state.status = "diverged" if finite else "failed"
            state.message = str(exc)
        state.seconds += time.perf_counter() - started
        state.steps = trainer.step
        if state.status in ("diverged", "failed"):  # the curve shows where it went, at the epoch it went
            state.epochs.append(trainer.epoch + 1)
            state.train_loss.append(math.inf)
            state.val_loss.append(math.inf)
            return
        t = trainer.last_telemetry
        if t is None:
            return
        state.epochs.append(trainer.epoch)
        state.train_loss.append(_num(t.train_loss))
        state.val_loss.append(_num(t.val_loss if t.val_loss is not None else t.train_loss))
        if t.val_accuracy is not None:
            state.val_accuracy.append(float(t.val_accuracy))
        if t.boundary is not None:
            state.boundary = np.array(t.boundary, copy=True)
            state.boundary_extent = t.boundary_extent

    # ---- what the runs found ---------------------------------------------------------------------------

    def weights(self, index: int) -> dict[str, Any]:
        return {n: p.detach().clone() for n, p in self.trainers[index].model.named_parameters()}

    def trajectories(self) -> list[np.ndarray]:
        return [r.trajectory.points() for r in self.recorders]

    def plane(self) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], tuple[float, float]]:
        """A PCA plane through the common start for all paths: (d1, d2, each path's (a, b), explained).

        The plane is fitted to the runs whose loss went down (when there are any), so one exploding
        run does not shrink the others' paths to a dot; its path is projected all the same.
        """
        from .landscape import project

        paths = self.trajectories()
        calm = [p for p, s in zip(paths, self.states, strict=True) if not s.rising and len(p)]
        d1, d2, explained = common_plane(calm or paths, self.start)
        coords = [project(np.where(np.isfinite(p), p, np.nan), self.start, d1, d2)
                  if len(p) else np.zeros((0, 2)) for p in paths]
        return d1, d2, coords, explained

    def problem(self) -> Any:
        """The loss every runner trains on, on a model of its own that holds the common start weights."""
        import copy

        import torch

        from .landscape import LossProblem, unflatten

        first = self.trainers[0]
        model = copy.deepcopy(first.model)
        with torch.no_grad():
            start = unflatten(self.start, {n: p.detach() for n, p in model.named_parameters()})
            for name, p in model.named_parameters():
                p.copy_(start[name])
        return LossProblem(model, first.x_train, first.y_train, first.loss_sum_fn)

    def landscape(self, grid: int = 31, span: float = 1.25, progress: Any = None,
                  cancelled: Any = None) -> tuple[Any, list[np.ndarray]]:
        """The loss on the paths' common plane around the start, and each path's coordinates on it."""
        from .landscape import compute_landscape, unflatten

        d1, d2, coords, explained = self.plane()
        problem = self.problem()
        like = problem.weights()
        result = compute_landscape(problem, grid=grid, span=span, plane=(unflatten(d1, like), unflatten(d2, like)),
                                   progress=progress, cancelled=cancelled)
        result.directions, result.explained = "pca", explained
        return result, coords


def _num(value: float | None) -> float:
    return float(value) if value is not None else math.nan
