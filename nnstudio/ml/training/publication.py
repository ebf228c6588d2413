"""Publishing telemetry from a fit: the wall-clock throttle, the NaN check, and the history points."""

from __future__ import annotations

import math
import time
from typing import Any

from ..callbacks import CallbackList
from ..epoch_history import POINT_STEPS
from ..faults import nan_error
from ..view_frames import ViewFrameMaker

DEFAULT_PUBLISH_HZ = 30.0
# Publishing may take at most this share of the wall time: a publication that costs 5 ms (a big
# validation set, say) is followed by at least 5 / 0.02 ms of training before the next one. Playground's
# publication (validation, histograms and the 100x100 grid with its neuron maps) costs about 1 ms on a CPU:
# about 20 per second there, 30 per second on a GPU.
DEFAULT_TELEMETRY_BUDGET = 0.02
# The network view's light frames (view_frames.py) come at most this often, within this share of the
# training thread's time (counted in its CPU time): one costs about a tenth of a full publication for
# Playground's network.
VIEW_FRAME_HZ = 60.0
VIEW_FRAME_BUDGET = 0.03


class Publication:
    """Trainer part: gathers a `Telemetry` from the collector and hands it to the callbacks, at a bounded rate."""

    # Until a fit arms them (`_begin_publishing`), nothing is timed.
    _timed = False
    _view_frames = False
    _next_publish = _next_view = _next_due = math.inf

    def _begin_publishing(self, cbs: CallbackList, now: float) -> None:
        """Arm the timed publications of a fit: full ones at `publish_hz`, view frames while someone listens."""
        self._view_frames = cbs.has("on_view_frame") and self._view_maker.available
        self._next_publish = now if self.publish_hz > 0 else math.inf
        self._next_view = now if self._view_frames else math.inf
        self._next_due = min(self._next_publish, self._next_view)
        self._timed = self._next_due < math.inf

    def _publish_due(self) -> None:
        """A timed publication is due (the loops compare the clock with `_next_due`): a full one, or else a
        view frame."""
        now = time.perf_counter()
        if now >= self._next_publish:
            self._publish("batch")
        elif now >= self._next_view:
            self._publish_view(now)

    def _publish_view(self, started: float) -> None:
        # The frame's cost is counted in this thread's CPU time: in the window the training thread also
        # waits for the interpreter lock while the GUI paints, which is no cost of the frame, and counting
        # it would space the frames far apart exactly when a view draws them.
        cpu = time.thread_time()
        frame = self._view_maker.make(epoch=self.display_epoch, batch=self.batch,
                                      batches_per_epoch=self.batches_per_epoch, step=self.step)
        if not ViewFrameMaker.finite(frame):
            self._publish("batch")  # the full publication's check ends the fit with its NaN message
            return
        self._cbs("on_view_frame", frame)
        finished = time.perf_counter()
        cost = min(finished - started, time.thread_time() - cpu)
        self._next_view = finished + max(1.0 / VIEW_FRAME_HZ, cost / VIEW_FRAME_BUDGET - cost)
        self._next_due = min(self._next_publish, self._next_view)

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
        samples = self.samples_seen - self._window_samples
        self._window_start, self._window_step, self._window_samples = now, self.step, self.samples_seen
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
        if self._view_frames:  # a full publication carries everything a view frame would
            self._next_view = max(self._next_view, finished + 1.0 / VIEW_FRAME_HZ)
        self._next_due = min(self._next_publish, self._next_view)
