"""Sweeps: every combination of a few settings' values (× seed repeats) trained as a queue into the run store.

A setting is named like the design file names it: `training.learning_rate`, `dataset.noise`, or
`layers.<layer name>.<parameter>` (`layers.hidden1.units`, `layers.hidden1.activation`). Points run one
after another in this process, or in `jobs` worker processes at once (spawned; each has its own store
writer, and SQLite's WAL journal lets them write the same store). Each point is one stored run with its
checkpoint; a worker whose parent disappears stops its run at the next epoch end.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nnstudio.core.document import Design
from nnstudio.core.errors import DesignError, NNStudioError, TrainingError

from .callbacks import Callback, CancelTraining

MAX_POINTS = 10_000


@dataclass(frozen=True)
class SweepAxis:
    key: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class SweepPoint:
    index: int
    changes: dict[str, Any]
    repeat: int

    @property
    def name(self) -> str:
        return " ".join(f"{_short(k)}={_show(v)}" for k, v in self.changes.items())


@dataclass
class SweepOutcome:
    index: int
    uid: str
    name: str
    changes: dict[str, Any]
    status: str
    message: str = ""
    epochs: int = 0
    train_loss: float | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None
    seconds: float = 0.0
    checkpoint: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# ---- describing a sweep ------------------------------------------------------------------------------

def parse_value(text: str) -> Any:
    """'0.01' → 0.01, '8' → 8, 'true' → True, 'adam' → 'adam'."""
    text = text.strip()
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_set(text: str) -> SweepAxis:
    """`training.learning_rate=0.01,0.03,0.1` → SweepAxis; DesignError naming the option if malformed."""
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise DesignError(f"--set {text!r}: write KEY=VALUE[,VALUE...], e.g. training.learning_rate=0.01,0.1")
    items = [v for v in values.split(",") if v.strip()]
    if not items:
        raise DesignError(f"--set {key}: give at least one value after '='")
    parsed = tuple(parse_value(v) for v in items)
    if len(set(map(repr, parsed))) != len(parsed):
        raise DesignError(f"--set {key}: a value is listed twice")
    return SweepAxis(key, parsed)


def apply_change(design: Design, key: str, value: Any) -> None:
    """Change one setting of `design` in place; DesignError naming the key if it cannot be."""
    section, _, rest = key.partition(".")
    try:
        if section == "training" and rest:
            if isinstance(value, int) and not isinstance(value, bool) and rest in _FLOAT_TRAINING:
                value = float(value)
            design.set_training(**{rest: value})
        elif section == "dataset" and rest:
            design.set_dataset(**{rest: value})
        elif section == "layers" and "." in rest:
            name, _, param = rest.rpartition(".")
            layer = design.layer_by_name(name)
            if layer is None:
                known = ", ".join(item.name for item in design.layers.values())
                raise DesignError(f"no layer named {name!r} (layers: {known})")
            design.set_param(layer.id, param, value)
        else:
            raise DesignError("name a setting as training.NAME, dataset.NAME or layers.LAYER.PARAMETER")
    except DesignError as exc:
        raise DesignError(f"--set {key}={_show(value)}: {exc}") from None


_FLOAT_TRAINING = ("learning_rate", "momentum", "regularization_rate", "gamma", "grad_clip")


def plan(axes: Sequence[SweepAxis], repeats: int = 1, base_seed: int = 0) -> list[SweepPoint]:
    """Every combination of the axes' values, each repeated with seeds base_seed, base_seed + 1, ..."""
    if repeats < 1:
        raise DesignError(f"--repeats must be at least 1, not {repeats}")
    keys = [a.key for a in axes]
    if len(set(keys)) != len(keys):
        raise DesignError("the same setting is swept twice: give each --set KEY once")
    if repeats > 1 and "training.seed" in keys:
        raise DesignError("--repeats varies training.seed: do not also --set it")
    total = repeats
    for axis in axes:
        total *= len(axis.values)
    if total > MAX_POINTS:
        raise DesignError(f"the sweep has {total:,} runs; at most {MAX_POINTS:,} are allowed")
    points = []
    for combo in itertools.product(*(a.values for a in axes)):
        for r in range(repeats):
            changes = dict(zip(keys, combo, strict=True))
            if repeats > 1:
                changes["training.seed"] = base_seed + r
            points.append(SweepPoint(len(points), changes, r))
    return points


def point_design(design: Design, point: SweepPoint, epochs: int | None = None) -> Design:
    out = design.copy()
    for key, value in point.changes.items():
        apply_change(out, key, value)
    if epochs is not None:
        out.set_training(epochs=epochs)
    return out


# ---- running it --------------------------------------------------------------------------------------

class ParentWatch(Callback):
    """In a sweep worker: stop the run (cleanly, as 'stopped') once the sweep's own process has gone."""

    def __init__(self, parent_pid: int) -> None:
        self.parent_pid = parent_pid

    def on_epoch_end(self, epoch: int) -> None:
        if os.getppid() != self.parent_pid:
            raise CancelTraining("the sweep that started this run has ended")


class StopWhen(Callback):
    """Stop the run in progress (stored as stopped) when `should_stop()` turns true."""

    def __init__(self, should_stop: Callable[[], bool]) -> None:
        self.should_stop = should_stop

    def on_epoch_end(self, epoch: int) -> None:
        if self.should_stop():
            raise CancelTraining("the sweep was cancelled")


def train_point(design: Design, point: SweepPoint, *, store: Any, sweep_uid: str, design_file: str,
                base_dir: str | os.PathLike[str] | None, checkpoint_dir: str | os.PathLike[str] | None,
                epochs: int | None = None, callbacks: Iterable[Callback] = ()) -> SweepOutcome:
    """Train one point into `store` (a RunStore); failures are outcomes, never exceptions."""
    from .run_recorder import RunRecorder
    from .trainer import Trainer

    started = time.perf_counter()
    recorder = RunRecorder(store, design_file=design_file, name=point.name, sweep_uid=sweep_uid,
                           changes=point.changes, checkpoint_dir=checkpoint_dir)
    outcome = SweepOutcome(point.index, "", point.name, dict(point.changes), "failed")
    try:
        changed = point_design(design, point, epochs)
        trainer = Trainer(changed, dataset=_without_grid(changed, base_dir), callbacks=[recorder, *callbacks],
                          publish_hz=0, publish_epoch_end=True)
        trainer.fit()
    except TrainingError as exc:
        outcome.message = str(exc)
    except NNStudioError as exc:  # the design or data of this point cannot be used: nothing was stored
        outcome.message = str(exc)
        return outcome
    outcome.uid = recorder.uid or ""
    outcome.status = recorder.status or outcome.status
    outcome.seconds = time.perf_counter() - started
    store.flush()
    record = store.run(outcome.uid) if outcome.uid else None
    if record is not None:
        outcome.message = record.message or outcome.message
        outcome.epochs = record.epochs
        outcome.train_loss, outcome.val_loss = record.train_loss, record.val_loss
        outcome.val_accuracy = record.val_accuracy
        outcome.checkpoint = record.checkpoint
    return outcome


def _without_grid(design: Design, base_dir: str | os.PathLike[str] | None) -> Any:
    """The point's data without the decision-boundary grid: the store keeps no boundaries, and drawing one
    at every epoch end would cost a Playground run several times its training time."""
    import dataclasses

    from nnstudio.data import load_dataset

    dataset = load_dataset(design.dataset, base_dir=base_dir)
    return dataclasses.replace(dataset, grid=None) if dataclasses.is_dataclass(dataset) else dataset


def run_sweep(design_path: str | os.PathLike[str] | None, axes: Sequence[SweepAxis], *,
              store_path: str | os.PathLike[str],
              repeats: int = 1, jobs: int = 1, epochs: int | None = None,
              on_result: Callable[[SweepOutcome, int, int], None] | None = None,
              on_start: Callable[[str, list[SweepPoint]], None] | None = None,
              design: Design | None = None,
              should_stop: Callable[[], bool] | None = None) -> tuple[str, list[SweepOutcome]]:
    """Run the sweep; returns its id and the outcomes in plan order. Bad settings raise before any training.

    `design` replaces the file's content (the window sweeps what it shows; `design_path` still names the
    design and its folder). `should_stop` is asked between epochs and between runs: True ends the sweep,
    the run in progress stored as stopped.
    """
    from nnstudio.io import load_design
    from nnstudio.runs import RunStore, checkpoint_folder, design_key

    path = Path(design_path) if design_path is not None else None
    if design is None:
        if path is None:
            raise ValueError("run_sweep needs a design file or a design")
        design = load_design(path)
    design = design.copy()
    points = plan(axes, repeats, design.training.seed)
    for point in points:  # refuse a bad value before anything runs
        point_design(design, point, epochs)
    store = RunStore(store_path)
    spec = {"axes": [asdict(a) for a in axes], "repeats": repeats, "jobs": jobs, "epochs": epochs}
    sweep_uid = store.add_sweep(json.loads(json.dumps(spec, default=list)), design_key(path))
    base_dir = str(path.resolve().parent) if path is not None else None
    store.flush()
    if on_start is not None:
        on_start(sweep_uid, points)
    outcomes: list[SweepOutcome] = []
    common = {"sweep_uid": sweep_uid, "design_file": design_key(path), "base_dir": base_dir,
              "checkpoint_dir": str(checkpoint_folder(store_path)), "epochs": epochs}
    try:
        if jobs <= 1:
            stop = [StopWhen(should_stop)] if should_stop is not None else []
            for point in points:
                if should_stop is not None and should_stop():
                    break
                outcome = train_point(design, point, store=store, callbacks=stop, **common)
                outcomes.append(outcome)
                if on_result is not None:
                    on_result(outcome, len(outcomes), len(points))
        else:
            outcomes = _run_parallel(design, points, jobs, str(store_path), common, on_result, should_stop)
    finally:
        store.close()
    return sweep_uid, sorted(outcomes, key=lambda o: o.index)


# ---- worker processes ----------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _worker_init(store_path: str, parent_pid: int, threads: int, ready: Any, stop: Any) -> None:
    import threading

    import torch

    from nnstudio.runs import RunStore

    torch.set_num_threads(threads)
    _WORKER["store"] = RunStore(store_path)
    _WORKER["watch"] = ParentWatch(parent_pid)
    _WORKER["stop"] = stop  # set by the sweep's process: finish the epoch, store the run as stopped, take no more
    # Start together: a worker that is still importing torch would otherwise leave a short sweep to the others.
    try:
        ready.wait(timeout=120)
    except threading.BrokenBarrierError:
        pass


def _worker_task(args: tuple[str, SweepPoint, dict[str, Any]]) -> SweepOutcome | None:
    from nnstudio.io import loads

    design_text, point, common = args
    stop = _WORKER["stop"]
    if stop.is_set():
        return None  # the sweep was stopped before this point started
    return train_point(loads(design_text), point, store=_WORKER["store"],
                       callbacks=[_WORKER["watch"], StopWhen(stop.is_set)], **common)


def _run_parallel(design: Design, points: list[SweepPoint], jobs: int, store_path: str, common: dict[str, Any],
                  on_result: Callable[[SweepOutcome, int, int], None] | None,
                  should_stop: Callable[[], bool] | None = None) -> list[SweepOutcome]:
    import multiprocessing

    from nnstudio.io import dumps

    jobs = min(jobs, len(points))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    context = multiprocessing.get_context("spawn")
    text = dumps(design)
    outcomes: list[SweepOutcome] = []
    ready = context.Barrier(jobs)
    stop = context.Event()
    pool = context.Pool(jobs, initializer=_worker_init, initargs=(store_path, os.getpid(), threads, ready, stop),
                        maxtasksperchild=None)
    # Stopping is cooperative: the event makes each worker end its run at the next epoch end (stored as
    # stopped) and skip the points not yet started; the results still arriving are drained, then the pool
    # closes and its workers exit on their own.
    try:
        for outcome in pool.imap_unordered(_worker_task, [(text, p, common) for p in points]):
            if outcome is None:
                continue
            outcomes.append(outcome)
            if on_result is not None:
                on_result(outcome, len(outcomes), len(points))
            if should_stop is not None and not stop.is_set() and should_stop():
                stop.set()
    except BaseException:
        stop.set()
        raise
    finally:
        pool.close()
        pool.join()
    return outcomes


def _short(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def _show(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
