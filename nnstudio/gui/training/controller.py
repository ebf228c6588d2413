"""The training controller: joins the window, the training worker thread, the plots and the canvas overlays.

It owns the run actions (Train, Pause, Resume, Step, Stop, Reset weights), the Train menu, the panel and
plot docks, and the last trained weights of the open design (a numpy snapshot). A run is one worker on
one `BackgroundWorker` thread; the GUI steers it through the trainer's `TrainingControl` and draws what the worker's
mailbox holds in short turns that leave the training thread most of the time. Closing the window stops
the run and waits for it.

Edits while training: the live settings (learning rate, momentum, regularisation rate, gradient clipping)
reach the running trainer at once; the data and other settings are locked in the panel; an edit of the
network itself (from the canvas, inspector, undo or a script) stops the run with a message — the
trainer works on its own copy of the design, so nothing it holds changes under it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QDockWidget

from nnstudio.core import DesignEvent, NNStudioError

from ..base.background import BackgroundWorker
from .actions import ACTIVE_PHASES, TrainingActions
from .files import TrainingFiles
from .host import PLOT_DOCKS, TrainingHost
from .neuron_maps import NeuronMapOverlay
from .pacer import FramePacing
from .panel import LIVE_FIELDS, TrainingPanel
from .recipe_labels import follow_recipe
from .run import TrainingRun
from .view_checks import bind_output_checks

if TYPE_CHECKING:  # numpy-based modules load after the window's first paint, or when first needed
    from nnstudio.ml.control import TrainingControl

    from .history import TrainingHistory
    from .plots import TrainingPlots
    from .state import TrainedState
    from .worker import RunInfo, TelemetryMailbox, TrainingWorker

# Document events that change the network itself: the trained weights may no longer fit.
STRUCTURAL_EVENTS = ("layer_added", "layer_removed", "connected", "disconnected", "param_changed", "renamed",
                     "reset")


class TrainingController(TrainingRun, FramePacing, TrainingFiles, TrainingActions, QObject):
    """Training in the main window; made by `attach_training(window)`. Its parts: the run (`run.py`), the
    frame pacer (`pacer.py`), the files (`files.py`) and the actions, menus and docks (`actions.py`)."""

    phase_changed = Signal(str)  # idle, starting, running, paused, stopping
    frame_drawn = Signal(object)  # the newest Telemetry after a frame was drawn
    run_started = Signal(object)  # RunInfo
    run_finished = Signal(object)  # RunOutcome
    plots_created = Signal()
    checkpoint_opened = Signal(object)  # TrainedState: open_checkpoint succeeded

    def __init__(self, window: TrainingHost) -> None:
        QObject.__init__(self, window.qt_window())
        self.setObjectName("trainingController")
        self.window = window
        self.session = window.session
        self._history: TrainingHistory | None = None
        self.latest: Any = None  # the newest Telemetry drawn
        self.trained: TrainedState | None = None
        self.info: RunInfo | None = None
        self.phase = "idle"
        self.control: TrainingControl | None = None
        self.mailbox: TelemetryMailbox | None = None
        self.thread: BackgroundWorker | None = None  # the run's thread
        self.worker: TrainingWorker | None = None
        self.plots: TrainingPlots | None = None  # built after the window is first painted
        self.overlay = NeuronMapOverlay(window.scene)
        self.frames = 0
        self._closed = False
        self._network_changed = False  # the network was edited during the run in progress
        self._reset_after_run = False
        self._opening_checkpoint = False
        self._last_turn = 0.0
        self._turn_cost = 0.0  # seconds the last drawing turn (and the paints after it) took
        self._due: list[str] = []  # parts still to draw with the newest data
        self._tasks: list[BackgroundWorker] = []
        self._visible: set[str] = set()
        self._after_paint_scheduled = False
        self._stepping = False  # a Step was asked for: say what it did once the worker pauses after it
        # Makers of extra Trainer callbacks, called once per run (the run store's recorder, the landscape's
        # trajectory recorder, the CNN views' weight tap).
        self.callback_factories: list[Callable[[], Any]] = []

        self.panel = TrainingPanel(self.session, base_dir=self.base_dir)
        self.panel.message_changed.connect(self._echo_message)
        self.panel.dataset_loaded.connect(self._show_data_points)
        self._create_actions()
        self.panel.set_actions([self.actions[k] for k in ("train", "pause", "step", "stop", "reset")])
        self._create_menus()
        self._create_toolbar()
        self._create_status_widgets()
        self._create_docks()

        self._frame_timer = QTimer(self)
        self._frame_timer.setSingleShot(True)
        self._frame_timer.timeout.connect(self._draw_frame)
        self.session.changed.connect(self._on_design_event)
        window.closing.connect(self.shutdown)
        window.qt_window().installEventFilter(self)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self._set_phase("idle")

    # ---- after the window is on screen -------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window.qt_window() and event.type() == QEvent.Type.Paint and self.plots is None:
            if not self._after_paint_scheduled:
                self._after_paint_scheduled = True
                QTimer.singleShot(0, self._after_first_paint)
        return False

    def _after_first_paint(self) -> None:
        self.window.qt_window().removeEventFilter(self)
        if self._closed:
            return
        self._size_docks()
        self.ensure_plots()
        self.panel.preview_enabled = True
        self.panel.refresh_preview()

    def ensure_plots(self) -> TrainingPlots:
        """Build the plot views (importing pyqtgraph) unless done already; returns them."""
        if self.plots is not None:
            return self.plots
        from .plots import TrainingPlots

        self.plots = TrainingPlots()
        for key, _title, _name in PLOT_DOCKS:
            dock = self.plot_docks[key]
            old = dock.widget()
            dock.setWidget(self.plots.views[key])
            if old is not None:
                old.deleteLater()
        if self.info is not None:
            self.plots.output.set_points(self.info)
        elif self.panel.dataset is not None:
            self.plots.output.show_dataset(self.panel.dataset)
        self.plots.output.discrete_check.toggled.connect(lambda _on: self._draw_overlays())
        follow_recipe(self)  # the loss plot names the recipe's loss
        bind_output_checks(self)  # Show test data / Discretize output are the design's view settings
        self._visible = {k for k, d in self.plot_docks.items() if self._dock_shown(d)}
        self.plots.refresh(self.history, self.latest, self._visible, force=True)
        self.plots_created.emit()
        return self.plots

    def _show_data_points(self, dataset: Any) -> None:
        """Between runs, the Output view shows the chosen data's points (a run shows its own)."""
        if self.plots is not None and not self.active:
            self.plots.output.show_dataset(dataset)

    @staticmethod
    def _dock_shown(dock: QDockWidget) -> bool:
        return dock.isVisible() and not dock.visibleRegion().isEmpty()

    def _dock_visibility(self, key: str, visible: bool) -> None:
        if visible:
            self._visible.add(key)
            if self.plots is not None:
                self.plots.views[key].refresh(self.history, self.latest, force=True)
        else:
            self._visible.discard(key)

    # ---- state -------------------------------------------------------------------------------------

    @property
    def history(self) -> TrainingHistory:
        """Everything the plots draw over time (created on first use: it needs numpy)."""
        if self._history is None:
            from .history import TrainingHistory

            self._history = TrainingHistory()
        return self._history

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE_PHASES

    def base_dir(self) -> str | None:
        path = self.window.current_path
        return str(Path(path).parent) if path is not None else None

    def _can_export(self) -> bool:
        return self.trained is not None and self.phase in ("idle", "paused")

    def _echo_message(self, text: str, error: bool) -> None:
        if text:
            self._status(text, error)

    def _status(self, text: str, error: bool = False) -> None:
        self.window.status(text, error=error, timeout_ms=15000 if error else 6000)

    def say(self, text: str, error: bool = False) -> None:
        """Tell the user in the panel's message area and the status bar."""
        self.panel.show_message(text, error)

    # ---- run actions -------------------------------------------------------------------------------

    # ---- following the document --------------------------------------------------------------------

    def _on_design_event(self, event: DesignEvent) -> None:
        kind = event.kind
        if kind == "training_changed" and self.control is not None and self.phase in ("running", "paused",
                                                                                      "starting"):
            changed = {key: getattr(event.value, key) for key in LIVE_FIELDS
                       if getattr(event.value, key) != getattr(event.old, key)}
            if changed:
                try:
                    self.control.set_hyperparameters(**changed)
                except NNStudioError as exc:
                    self.say(str(exc), error=True)
            return
        if kind not in STRUCTURAL_EVENTS:
            return
        if not self.active and self.panel.message.property("error"):
            self.panel.show_message("")  # it was about the design before this edit
        if self.active and not self._network_changed:
            self._network_changed = True
            self.stop()
            self.say("The network changed while training: stopping the run…")
        if kind == "reset" and not self._opening_checkpoint and not self.active:
            self._forget()  # another design: its own history starts empty
        elif self.trained is not None and not self.trained.fits(self.window.design):
            self.overlay.clear()

    def set_neuron_maps(self, on: bool) -> None:
        self.overlay.set_enabled(on)
        if on:
            self._draw_overlays()

    # ---- checkpoints, exports, plots -----------------------------------------------------------------

    # ---- closing -------------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop a run and wait for its thread (and any export) to end; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        self._frame_timer.stop()
        if self.control is not None:
            self.control.stop()
        self._end_thread()
        for task in list(self._tasks):
            task.wait()  # releases its gc guard
            self._tasks.remove(task)
        self.overlay.clear()

    @property
    def closed(self) -> bool:
        return self._closed

