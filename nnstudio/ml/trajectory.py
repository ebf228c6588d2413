"""The weight trajectory of a training run, recorded by a trainer callback, and its principal plane.

`TrajectoryRecorder` copies the flattened parameters to the host at the start of a fit, every
`every_steps` optimizer steps and at each epoch end. On a GPU each copy stays on the device until the
trainer's next publication (when the host waits for the device anyway) and all go over in one transfer;
the record is bounded: when `max_points` or `max_bytes` is
reached, every other point is dropped and the interval doubles, so a long run keeps an evenly spaced
path. The recorder is thread-safe to read: the GUI reads it while the training thread appends.

`pca_plane` gives Li et al.'s PCA directions: the two leading right singular vectors of the matrix of
(recorded point − centre), scaled so that the trajectory's farthest point lies at coordinate 1.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from .callbacks import Callback

DEFAULT_MAX_POINTS = 400
DEFAULT_MAX_BYTES = 64 << 20
MAX_PENDING = 16  # device copies kept before they are fetched anyway


class Trajectory:
    """Recorded weight vectors (float32, parameter order of `model.named_parameters()`) and their steps."""

    def __init__(self, names: list[str] | None = None) -> None:
        self.names = list(names or [])
        self._points: list[np.ndarray] = []
        self.steps: list[int] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._points)

    def append(self, step: int, vector: np.ndarray) -> None:
        with self._lock:
            if self.steps and self.steps[-1] == step:
                self._points[-1] = vector
                return
            self._points.append(vector)
            self.steps.append(int(step))

    def last(self) -> np.ndarray | None:
        with self._lock:
            return self._points[-1] if self._points else None

    def points(self) -> np.ndarray:
        """(T, P) float64 copy of the recorded points."""
        with self._lock:
            if not self._points:
                return np.zeros((0, 0))
            return np.stack(self._points).astype(np.float64)

    def copy(self) -> Trajectory:
        other = Trajectory(self.names)
        with self._lock:
            other._points = list(self._points)
            other.steps = list(self.steps)
        return other

    def clear(self) -> None:
        with self._lock:
            self._points.clear()
            self.steps.clear()

    def decimate(self) -> None:
        """Keep every other point (and always the newest)."""
        with self._lock:
            keep = list(range(0, len(self._points), 2))
            if keep and keep[-1] != len(self._points) - 1:
                keep.append(len(self._points) - 1)
            self._points = [self._points[i] for i in keep]
            self.steps = [self.steps[i] for i in keep]


def flat_parameters(model: Any) -> np.ndarray:
    import torch

    with torch.no_grad():
        flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
        return flat.to("cpu", torch.float32).numpy().copy()


class TrajectoryRecorder(Callback):
    """Records the trainer's weights into `self.trajectory`; a fit from fresh weights starts a new record."""

    def __init__(self, every_steps: int = 0, max_points: int = DEFAULT_MAX_POINTS,
                 max_bytes: int = DEFAULT_MAX_BYTES, trajectory: Trajectory | None = None,
                 per_epoch: int = 0) -> None:
        """`per_epoch`: record that many times an epoch (sets every_steps from the trainer's epoch length)."""
        self.every_steps = max(0, int(every_steps))
        self.per_epoch = max(0, int(per_epoch))
        self.max_points = max(4, int(max_points))
        self.max_bytes = int(max_bytes)
        self.trajectory = trajectory if trajectory is not None else Trajectory()
        self._limit = self.max_points
        self._pending: list[tuple[int, Any]] = []  # device copies waiting for the next publication

    def on_fit_start(self) -> None:
        trainer = self.trainer
        names = [n for n, _ in trainer.model.named_parameters()]
        parameters = sum(p.numel() for p in trainer.model.parameters())
        # A fit that does not continue the recorded path (fresh weights, another checkpoint) starts anew.
        if trainer.step == 0 or names != self.trajectory.names or not self._continues(trainer):
            self.trajectory.clear()
            self.trajectory.names = names
        self._limit = max(2, min(self.max_points, self.max_bytes // max(1, 4 * parameters)))
        if self.per_epoch and not self.every_steps:
            self.every_steps = max(1, trainer.batches_per_epoch // self.per_epoch)
        self._record()

    def _continues(self, trainer: Any) -> bool:
        last = self.trajectory.last()
        if last is None:
            return True
        here = flat_parameters(trainer.model)
        return last.shape == here.shape and bool(np.array_equal(last, here))

    def on_batch_end(self, step: int) -> None:
        if self.every_steps and step % self.every_steps == 0:
            self._record()

    def on_epoch_end(self, epoch: int) -> None:
        self._record()

    def on_publish(self, telemetry: Any) -> None:
        self._flush()  # the trainer has just waited for the device: the copies cost no extra sync

    def on_fit_end(self) -> None:
        self._record()
        self._flush()

    def _record(self) -> None:
        """On the CPU, copy now; on a GPU, keep a device copy until the next publication, so recording
        never makes the host wait for the device between publications (nor breaks a CUDA graph's stride)."""
        import torch

        trainer = self.trainer
        if trainer.device.type == "cpu":
            self._store(trainer.step, flat_parameters(trainer.model))
            return
        with torch.no_grad():
            flat = torch.cat([p.detach().reshape(-1) for p in trainer.model.parameters()]).float()
        self._pending.append((trainer.step, flat))
        if len(self._pending) >= MAX_PENDING:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        import torch

        pending, self._pending = self._pending, []
        host = torch.stack([flat for _step, flat in pending]).cpu().numpy()
        for (step, _flat), row in zip(pending, host, strict=True):
            self._store(step, row.copy())

    def _store(self, step: int, vector: np.ndarray) -> None:
        self.trajectory.append(step, vector)
        if len(self.trajectory) > self._limit:
            self.trajectory.decimate()
            if self.every_steps:
                self.every_steps *= 2


def pca_plane(points: np.ndarray, center: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Two orthogonal directions through `center` that explain most of the trajectory, and their shares.

    Each direction is a unit principal direction times r, r = the largest |coordinate| of the trajectory
    on either, so the path fits in [−1, 1]²; both share one r, so the picture keeps its aspect ratio.
    """
    m = np.asarray(points, dtype=np.float64) - np.asarray(center, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] < 2:
        raise ValueError("a PCA plane needs at least two recorded points")
    _u, s, vt = np.linalg.svd(m, full_matrices=False)
    if vt.shape[0] < 2:
        raise ValueError("a PCA plane needs a model with at least two parameters")
    v1, v2 = vt[0], vt[1]
    total = float(np.sum(s ** 2)) or 1.0
    explained = (float(s[0] ** 2 / total), float(s[1] ** 2 / total))
    coords = m @ np.stack([v1, v2], axis=1)
    r = float(np.max(np.abs(coords))) or 1.0
    return v1 * r, v2 * r, explained


def common_plane(trajectories: list[np.ndarray], center: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                             tuple[float, float]]:
    """A PCA plane through `center` for several trajectories at once (the optimizer race's paths)."""
    stacked = np.concatenate([np.asarray(t, dtype=np.float64) for t in trajectories if len(t)], axis=0)
    finite = np.all(np.isfinite(stacked), axis=1)
    return pca_plane(stacked[finite], center)
