"""The frame pacer: draws what the training worker sent in short turns that leave the training thread most
of the time.

A mixin of `TrainingController`. Drawing happens in turns, at most TURN_HZ a second, each drawing due
parts (numbers, each visible plot, the canvas maps) for about TURN_BUDGET seconds; the rest follow in the
next turns. Drawing may take at most GUI_SHARE of the wall time: the GUI thread's Python work (pyqtgraph
lays out axes and paints curves in Python) needs the same interpreter lock as the training loop, so every
millisecond drawn is about a millisecond the trainer waits; an expensive turn is followed by a longer
pause (bench/gui_responsiveness.py measures both sides).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer, SignalInstance

from .host import PLOT_DOCKS, TrainingHost
from .neuron_maps import NeuronMapOverlay
from .pacing import PaintClock
from .panel import TrainingPanel

if TYPE_CHECKING:
    from .history import TrainingHistory
    from .plots import TrainingPlots
    from .worker import RunInfo, TelemetryMailbox

TURN_HZ = 60.0
TURN_BUDGET = 0.005
GUI_SHARE = 0.06


class FramePacing:
    """Drawing turns (mixed into `TrainingController`)."""

    window: TrainingHost
    panel: TrainingPanel
    overlay: NeuronMapOverlay
    plots: TrainingPlots | None
    mailbox: TelemetryMailbox | None
    info: RunInfo | None
    latest: Any
    frames: int
    _frame_timer: QTimer
    _last_turn: float
    _turn_cost: float
    _due: list[str]
    _visible: set[str]
    _closed: bool
    _stepping: bool
    frame_drawn: SignalInstance

    # provided by the other parts of the controller
    history: TrainingHistory
    say: Callable[..., None]
    _show_status: Callable[[Any], None]

    def _on_news(self) -> None:
        if not self._frame_timer.isActive():
            self._schedule_turn()

    def _schedule_turn(self) -> None:
        """Next drawing turn, once the GUI's share of the time since the last one allows it."""
        spent = self._turn_cost + PaintClock.take()
        self._turn_cost = spent  # paints not yet counted are counted once, here
        gap = max(1.0 / TURN_HZ, spent / GUI_SHARE - spent)
        wait = gap - (time.perf_counter() - self._last_turn)
        self._frame_timer.start(max(0, round(wait * 1000)))

    def _take_mail(self) -> bool:
        if self.mailbox is None:
            return False
        rows, latest = self.mailbox.take()
        for row in rows:
            self.history.add_row(row, row.get("grad_norms"))
        if latest is not None:
            self.latest = latest
            self.history.add_histograms(latest)
            if self._stepping and latest.reason == "paused":
                self._stepping = False
                loss = f": training loss {latest.train_loss:.4g}" if latest.train_loss is not None else ""
                self.say(f"Stepped one batch (step {latest.step:,}, epoch {latest.epoch:,}){loss}. "
                         "Step again, or Train to continue.")
        return bool(rows) or latest is not None

    def _draw_frame(self) -> None:
        """One drawing turn: take the news, then draw due parts (numbers, each visible plot, the canvas
        maps) until the turn's time is used; the rest follow in the next turns. Short turns keep the
        window responsive; the pause after each keeps training fast (see GUI_SHARE)."""
        started = time.perf_counter()
        if self._closed:
            return
        if self._take_mail():
            self.frames += 1
            for unit in ("numbers", *[k for k, _t, _n in PLOT_DOCKS if k in self._visible], "overlays"):
                if unit not in self._due:
                    self._due.append(unit)
        while self._due:
            self._draw_unit(self._due.pop(0))
            if time.perf_counter() - started > TURN_BUDGET:
                break
        finished = time.perf_counter()
        self._turn_cost = finished - started
        self._last_turn = finished
        if not self._due:
            self.frame_drawn.emit(self.latest)
        if self._due or (self.mailbox is not None and self.mailbox.waiting):
            self._schedule_turn()

    def _draw_unit(self, unit: str) -> None:
        latest = self.latest
        if unit == "numbers":
            if latest is not None:
                self.panel.show_progress(latest)
                self._show_status(latest)
        elif unit == "overlays":
            self._draw_overlays()
        elif self.plots is not None and unit in self._visible:
            self.plots.views[unit].refresh(self.history, latest)

    def _draw_overlays(self) -> None:
        if self.latest is None or self.info is None:
            return
        discrete = self.plots is not None and self.plots.output.discrete_check.isChecked()
        self.overlay.update(self.window.design, self.latest, self.info.task, discrete)

