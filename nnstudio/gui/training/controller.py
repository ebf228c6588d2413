"""The training controller: joins the window, the training worker thread, the plots and the canvas overlays.

It owns the run actions (Train, Pause, Resume, Step, Stop, Reset weights), the Train menu, the panel and
plot docks, and the last trained weights of the open design (a numpy snapshot). A run is one worker in
one QThread; the GUI steers it through the trainer's `TrainingControl` and draws what the worker's
mailbox holds in short turns that leave the training thread most of the time. Closing the window stops
the run and waits for it.

Edits while training: the live settings (learning rate, momentum, regularisation rate, gradient clipping)
reach the running trainer at once; the data and other settings are locked in the panel; an edit of the
network itself (from the canvas, inspector, undo or a script) stops the run with a message — the
trainer works on its own copy of the design, so nothing it holds changes under it.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QEvent, QObject, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMenu,
    QProgressBar,
    QStyle,
    QToolBar,
    QWidget,
)

from nnstudio.core import DesignEvent, NNStudioError

from .. import data_consent
from . import gcguard
from .neuron_maps import NeuronMapOverlay
from .pacing import PaintClock
from .panel import LIVE_FIELDS, TrainingPanel, format_duration

if TYPE_CHECKING:  # numpy-based modules load after the window's first paint, or when first needed
    from .history import TrainingHistory
    from .state import TrainedState
    from .worker import RunInfo, RunOutcome, TelemetryMailbox, TrainingWorker

# Drawing happens in short turns, at most TURN_HZ a second, each drawing due parts for about TURN_BUDGET
# seconds. Drawing may take at most GUI_SHARE of the wall time: the GUI thread's Python work (pyqtgraph
# lays out axes and paints curves in Python) needs the same interpreter lock as the training loop, so
# every millisecond drawn is about a millisecond the trainer waits; an expensive turn is followed by a
# longer pause (bench/gui_responsiveness.py measures both sides).
TURN_HZ = 60.0
TURN_BUDGET = 0.005
GUI_SHARE = 0.06
# Document events that change the network itself: the trained weights may no longer fit.
STRUCTURAL_EVENTS = ("layer_added", "layer_removed", "connected", "disconnected", "param_changed", "renamed",
                     "reset")
PLOT_DOCKS = (  # view key, title, dock object name
    ("loss", "Loss", "lossDock"),
    ("accuracy", "Accuracy", "accuracyDock"),
    ("learningRate", "Learning Rate", "learningRateDock"),
    ("gradients", "Gradients", "gradientsDock"),
    ("weights", "Weights", "weightsDock"),
    ("output", "Output", "outputDock"),
)
CHECKPOINT_SUFFIX = ".safetensors"
CHECKPOINT_FILTER = "NN Studio checkpoints (*.safetensors);;All files (*)"
ACTIVE_PHASES = ("starting", "running", "paused", "stopping")


class _BackgroundTask(QObject):
    """Runs a function on a Python thread (exports can take seconds) and reports back on the GUI thread."""

    done = Signal(object, object)  # result, error (an exception) — exactly one is not None

    def __init__(self, fn: Callable[[], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fn = fn
        self.thread = threading.Thread(target=self._run, name="nnstudio-export", daemon=False)

    def start(self) -> None:
        gcguard.hold()
        self.thread.start()

    def _run(self) -> None:
        result = error = None
        try:
            result = self.fn()
        except BaseException as exc:  # noqa: BLE001 - reported in the window
            error = exc
            if not isinstance(exc, (NNStudioError, OSError)):
                traceback.print_exc()
        try:
            self.done.emit(result, error)
        except RuntimeError:  # the window is gone
            pass


class TrainingController(QObject):
    """Training in the main window; made by `attach_training(window)`."""

    phase_changed = Signal(str)  # idle, starting, running, paused, stopping
    frame_drawn = Signal(object)  # the newest Telemetry after a frame was drawn
    run_started = Signal(object)  # RunInfo
    run_finished = Signal(object)  # RunOutcome
    plots_created = Signal()

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.setObjectName("trainingController")
        self.window = window
        self.session = window.session
        self._history: TrainingHistory | None = None
        self.latest: Any = None  # the newest Telemetry drawn
        self.trained: TrainedState | None = None
        self.info: RunInfo | None = None
        self.phase = "idle"
        self.control: Any = None
        self.mailbox: TelemetryMailbox | None = None
        self.thread: QThread | None = None
        self.worker: TrainingWorker | None = None
        self.plots: Any = None  # TrainingPlots, built after the window is first painted
        self.overlay = NeuronMapOverlay(window.scene)
        self.frames = 0
        self._closed = False
        self._network_changed = False  # the network was edited during the run in progress
        self._reset_after_run = False
        self._opening_checkpoint = False
        self._last_turn = 0.0
        self._turn_cost = 0.0  # seconds the last drawing turn (and the paints after it) took
        self._due: list[str] = []  # parts still to draw with the newest data
        self._tasks: list[_BackgroundTask] = []
        self._visible: set[str] = set()
        self._after_paint_scheduled = False

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
        closing = getattr(window, "closing", None)
        if closing is not None:
            closing.connect(self.shutdown)
        window.installEventFilter(self)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self._set_phase("idle")

    # ---- building ----------------------------------------------------------------------------------

    def _action(self, key: str, text: str, slot: Callable[[], Any], shortcut: str | None, tip: str,
                icon: QStyle.StandardPixmap | None = None, checkable: bool = False) -> QAction:
        action = QAction(text, self.window)
        action.setObjectName("action" + key[0].upper() + key[1:])
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            tip = f"{tip} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})"
        action.setToolTip(tip)
        action.setStatusTip(tip)
        if icon is not None:
            action.setIcon(self.window.style().standardIcon(icon))
        action.setCheckable(checkable)
        if checkable:
            action.toggled.connect(lambda on: slot(on))
        else:
            action.triggered.connect(lambda _checked=False: slot())
        self.window.addAction(action)  # shortcuts work while the menu bar is hidden
        self.actions[key] = action
        return action

    def _create_actions(self) -> None:
        self.actions: dict[str, QAction] = {}
        sp = QStyle.StandardPixmap
        a = self._action
        a("train", "&Train", self.train, "F5", "Train the network (resumes when paused)", sp.SP_MediaPlay)
        a("pause", "&Pause", self.pause, "F6", "Pause training after the current batch", sp.SP_MediaPause)
        a("resume", "&Resume", self.resume, None, "Continue a paused training", sp.SP_MediaPlay)
        a("step", "&Step", self.step, "F10", "Train exactly one batch, then pause", sp.SP_MediaSkipForward)
        a("stop", "St&op", self.stop, "Shift+F5", "Stop training; the trained weights are kept", sp.SP_MediaStop)
        a("reset", "Rese&t Weights", self.reset_weights, "Ctrl+R",
          "Forget the trained weights and the plots: the next run starts from new weights", sp.SP_BrowserReload)
        self.actions["reset"].setObjectName("actionResetWeights")
        a("saveCheckpoint", "Save &Checkpoint…", self.save_checkpoint, None,
          "Save the trained weights, optimizer state and design as a checkpoint (.safetensors)")
        a("openCheckpoint", "Open C&heckpoint…", self.open_checkpoint, None,
          "Open a checkpoint: its design replaces this one and its weights are kept to continue or inspect")
        a("savePlot", "Save Plot as &PNG…", self.save_plot_png, None, "Save the visible plot as a PNG image")
        a("saveMetrics", "Save &Metrics as CSV…", self.save_metrics_csv, None,
          "Save the loss, accuracy and learning-rate history as CSV")
        a("showNeuronMaps", "Show &Neuron Maps on Canvas", self.set_neuron_maps, None,
          "Draw what each small Dense layer's neurons compute under their blocks, as Playground does",
          checkable=True)
        self.actions["showNeuronMaps"].setChecked(True)

    def _create_menus(self) -> None:
        window = self.window
        menu = QMenu("T&rain", window)
        menu.setObjectName("menuTrain")
        acts = self.actions
        menu.addActions([acts[k] for k in ("train", "pause", "resume", "step", "stop", "reset")])
        menu.addSeparator()
        menu.addActions([acts["openCheckpoint"], acts["saveCheckpoint"]])
        self.export_menu = menu.addMenu("&Export Model")
        self.export_menu.setObjectName("menuExportModel")
        self.export_menu.aboutToShow.connect(self._fill_export_menu)
        self._fill_export_menu()
        menu.addSeparator()
        menu.addActions([acts["savePlot"], acts["saveMetrics"]])
        menu.addSeparator()
        menu.addAction(acts["showNeuronMaps"])
        bar = window.menuBar()
        menus = getattr(window, "menus", {})
        help_menu = menus.get("help")
        if help_menu is not None:
            bar.insertMenu(help_menu.menuAction(), menu)
        else:
            bar.addMenu(menu)
        if isinstance(menus, dict):
            menus["train"] = menu
        self.menu = menu
        file_menu = menus.get("file")
        if file_menu is not None:
            anchor = next((act for act in file_menu.actions() if act.objectName() == "actionExportSvg"), None)
            file_export = QMenu("E&xport Model", file_menu)
            file_export.setObjectName("menuFileExportModel")
            file_export.aboutToShow.connect(lambda: self._fill_export_menu(file_export))
            added = [acts["openCheckpoint"], acts["saveCheckpoint"]]
            if anchor is not None:
                file_menu.insertActions(anchor, added)
                file_menu.insertMenu(anchor, file_export)
                file_menu.insertSeparator(anchor)
            else:
                file_menu.addActions(added)
                file_menu.addMenu(file_export)

    def _fill_export_menu(self, menu: QMenu | None = None) -> None:
        """One entry per export format; the formats are listed without importing torch."""
        menu = menu or self.export_menu
        menu.clear()
        for key, title in EXPORT_TITLES:
            action = menu.addAction(title)
            action.setObjectName(f"actionExport_{key}")
            action.setEnabled(self._can_export())
            action.triggered.connect(lambda _checked=False, k=key: self.export_model(k))

    def _create_toolbar(self) -> None:
        bar = QToolBar("Training Toolbar", self.window)
        bar.setObjectName("trainingToolBar")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonFollowStyle)
        for key in ("train", "pause", "step", "stop", "reset"):
            bar.addAction(self.actions[key])
        self.window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar
        view = getattr(self.window, "menus", {}).get("view")
        if view is not None:
            toggle = bar.toggleViewAction()
            toggle.setObjectName("actionShowTrainingToolbar")
            toggle.setText("T&raining Toolbar")
            view.addAction(toggle)

    def _create_status_widgets(self) -> None:
        bar = self.window.statusBar()
        self.status_label = QLabel("")
        self.status_label.setObjectName("statusTraining")
        self.status_progress = QProgressBar()
        self.status_progress.setObjectName("statusTrainingProgress")
        self.status_progress.setRange(0, 100)
        self.status_progress.setTextVisible(False)
        self.status_progress.setMaximumWidth(self.window.fontMetrics().height() * 8)
        self.status_progress.setMaximumHeight(self.window.fontMetrics().height())
        bar.addPermanentWidget(self.status_label)
        bar.addPermanentWidget(self.status_progress)
        self.status_label.hide()
        self.status_progress.hide()

    def _add_dock(self, widget: QWidget, title: str, name: str, area: Qt.DockWidgetArea,
                  tabify_with: QDockWidget | None = None) -> QDockWidget:
        add = getattr(self.window, "add_dock", None)
        if add is not None:
            return add(widget, title, name, area, tabify_with=tabify_with)
        dock = QDockWidget(title, self.window)  # a window without add_dock: plain QMainWindow docks
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.window.addDockWidget(area, dock)
        if tabify_with is not None:
            self.window.tabifyDockWidget(tabify_with, dock)
        return dock

    def _create_docks(self) -> None:
        window = self.window
        right = Qt.DockWidgetArea.RightDockWidgetArea
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        inspector = getattr(window, "inspector_dock", None)
        self.panel_dock = self._add_dock(self.panel, "Training", "trainingDock", right, tabify_with=inspector)
        self.panel_dock.raise_()
        self.plot_docks: dict[str, QDockWidget] = {}
        restored = self._saved_layout_has("lossDock")  # the user's own arrangement comes back
        # Loss and Output side by side (Playground shows its output beside the network); the other plots
        # are tabs behind Loss. Output is placed before the tabs exist, so the split divides two docks.
        order = ["loss", "output"] + [key for key, _t, _n in PLOT_DOCKS if key not in ("loss", "output")]
        titles = {key: (title, name) for key, title, name in PLOT_DOCKS}
        for key in order:
            title, name = titles[key]
            placeholder = QLabel("Plots appear here once the window is ready.")
            placeholder.setObjectName(f"{key}Placeholder")
            placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
            loss = self.plot_docks.get("loss")
            tab_with = loss if key not in ("loss", "output") else None
            dock = self._add_dock(placeholder, title, name, bottom, tabify_with=tab_with)
            if key == "output" and not restored:
                window.splitDockWidget(loss, dock, Qt.Orientation.Horizontal)
            dock.visibilityChanged.connect(lambda visible, k=key: self._dock_visibility(k, visible))
            self.plot_docks[key] = dock
        self.plot_docks["loss"].raise_()
        self._layout_restored = restored

    def _saved_layout_has(self, dock_name: str) -> bool:
        """Whether the window's saved layout (QMainWindow.saveState) knows a dock of this name."""
        settings = getattr(self.window, "settings", None)
        state = settings.value("window/state") if settings is not None else None
        if not isinstance(state, QByteArray) or state.isEmpty():
            return False
        return dock_name.encode("utf-16-be") in bytes(state.data())

    def _size_docks(self) -> None:
        """First start (no saved layout): room for the panel, and plots tall enough to read."""
        if self._layout_restored:
            return
        window = self.window
        em = window.fontMetrics().height()
        window.resizeDocks([self.panel_dock], [em * 27], Qt.Orientation.Horizontal)
        window.resizeDocks([self.plot_docks["loss"], self.plot_docks["output"]], [em * 40, em * 28],
                           Qt.Orientation.Horizontal)
        window.resizeDocks([self.plot_docks["loss"]], [max(em * 20, round(window.height() * 0.4))],
                           Qt.Orientation.Vertical)
        canvas = getattr(window, "canvas", None)
        if canvas is not None and hasattr(canvas, "fit_all"):
            QTimer.singleShot(0, canvas.fit_all)  # the canvas got smaller: show the whole design again

    # ---- after the window is on screen -------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Paint and self.plots is None:
            if not self._after_paint_scheduled:
                self._after_paint_scheduled = True
                QTimer.singleShot(0, self._after_first_paint)
        return False

    def _after_first_paint(self) -> None:
        self.window.removeEventFilter(self)
        if self._closed:
            return
        self._size_docks()
        self.ensure_plots()
        self.panel.preview_enabled = True
        self.panel.refresh_preview()

    def ensure_plots(self) -> Any:
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

    def _set_phase(self, phase: str) -> None:
        self.phase = phase
        acts = self.actions
        paused = phase == "paused"
        acts["train"].setEnabled(phase in ("idle", "paused"))
        acts["train"].setText("&Resume" if paused else "&Train")
        acts["pause"].setEnabled(phase == "running")
        acts["resume"].setEnabled(paused)
        acts["step"].setEnabled(phase in ("idle", "paused"))
        acts["stop"].setEnabled(phase in ("starting", "running", "paused"))
        acts["reset"].setEnabled(phase in ("idle", "running", "paused"))
        acts["saveCheckpoint"].setEnabled(self.trained is not None and phase in ("idle", "paused"))
        acts["openCheckpoint"].setEnabled(phase == "idle")
        self.panel.set_running(self.active)
        self.status_label.setVisible(self.active)
        self.status_progress.setVisible(self.active)
        if phase == "starting":
            self.status_label.setText("Starting…")
        elif self.latest is not None and self.active:
            self._show_status(self.latest)
        self.phase_changed.emit(phase)

    def _can_export(self) -> bool:
        return self.trained is not None and self.phase in ("idle", "paused")

    def _echo_message(self, text: str, error: bool) -> None:
        if text:
            self._status(text, error)

    def _status(self, text: str, error: bool = False) -> None:
        status = getattr(self.window, "status", None)
        if status is not None:
            status(text, error=error, timeout_ms=15000 if error else 6000)
        else:
            self.window.statusBar().showMessage(text, 15000 if error else 6000)

    def say(self, text: str, error: bool = False) -> None:
        """Tell the user in the panel's message area and the status bar."""
        self.panel.show_message(text, error)

    # ---- run actions -------------------------------------------------------------------------------

    def train(self) -> bool:
        """Start training (continuing from the kept weights when they fit), or resume a paused run."""
        if self.phase == "paused":
            return self.resume()
        if self.phase != "idle":
            return False
        return self._start(step=False)

    def pause(self) -> bool:
        if self.phase != "running" or self.control is None:
            return False
        self.control.pause()
        return True

    def resume(self) -> bool:
        if self.phase != "paused" or self.control is None:
            return False
        self.control.resume()
        return True

    def step(self) -> bool:
        """One batch: from a pause, or from idle (training starts and pauses after the batch)."""
        if self.phase == "paused" and self.control is not None:
            self.control.step(1)
            return True
        if self.phase == "idle":
            return self._start(step=True)
        return False

    def stop(self) -> bool:
        if self.control is None or self.phase not in ("starting", "running", "paused"):
            return False
        self.control.stop()
        self._set_phase("stopping")
        return True

    def reset_weights(self) -> bool:
        """Forget the trained weights and the plots (stopping a run first)."""
        if self.active:
            self._reset_after_run = True
            self.stop()
            return True
        self._forget()
        self.say("Weights reset: the next run starts from new weights.")
        return True

    def _forget(self) -> None:
        """Drop the trained weights, the history, the plots' contents and the canvas maps."""
        self.trained = None
        self.latest = None
        self.info = None
        if self._history is not None:
            self._history.clear()
        self.overlay.clear()
        if self.plots is not None:
            self.plots.reset()
        self.panel.reset_progress()
        self._set_phase(self.phase)

    def _start(self, step: bool) -> bool:
        errors = self.session.inference.errors()
        if errors:
            first = errors[0]
            self.say(f"The design cannot be trained yet: {first.message}", error=True)
            if first.layer_id is not None and hasattr(self.window, "select_layers"):
                self.window.select_layers([first.layer_id], centre=True)
            return False
        from nnstudio.ml.control import TrainingControl

        from .worker import TelemetryMailbox, TrainingJob, TrainingWorker

        design = self.window.design.copy()
        if not data_consent.may_read(self.window, design.dataset, self.base_dir()):
            self.say(data_consent.refusal(design.dataset, self.base_dir()), error=True)
            return False
        initial = self.trained if self.trained is not None and self.trained.fits(design) else None
        note = ""
        if initial is None:
            if self.trained is not None:
                note = "The network changed since the last run: training starts from new weights."
            self._forget()
        epochs = design.training.epochs
        if initial is not None and initial.epoch >= epochs and initial.batch == 0:
            epochs = initial.epoch + design.training.epochs
            note = f"Continuing from epoch {initial.epoch:,} for {design.training.epochs:,} more epochs."
        self.control = TrainingControl()
        if step:
            self.control.step(1)
        self.mailbox = TelemetryMailbox()
        job = TrainingJob(design=design, epochs=epochs, base_dir=self.base_dir(), initial=initial)
        thread = QThread()
        thread.setObjectName("nnstudioTraining")
        worker = TrainingWorker(job, self.control, self.mailbox)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.news.connect(self._on_news)
        worker.run_started.connect(self._on_run_started)
        worker.state_changed.connect(self._on_worker_state)
        worker.snapshot_ready.connect(self._on_snapshot)
        worker.finished.connect(self._on_finished)
        # Quit from the training thread itself: a GUI thread blocked in wait() could not run a queued quit.
        worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        self.thread, self.worker = thread, worker
        self._network_changed = False
        self._reset_after_run = False
        self.panel.show_message(note or ("Stepping one batch…" if step else "Starting…"))
        self._set_phase("starting")
        gcguard.hold()
        thread.start()
        return True

    # ---- from the worker ---------------------------------------------------------------------------

    def _on_run_started(self, info: RunInfo) -> None:
        self.info = info
        if info.devices:
            self.panel.device_combo.set_devices(info.devices)
        if self.plots is not None:
            self.plots.output.set_points(info)
            self.plots.weights.set_layers(info.histogram_layers)
        where = info.device + (" (CUDA graph)" if info.graph_mode == "cuda_graph" else "")
        if self.phase == "starting":
            self.panel.show_message(f"Training on {where}: {info.num_train:,} training and "
                                    f"{info.num_val:,} validation samples.")
        self.run_started.emit(info)

    def _on_worker_state(self, state: str) -> None:
        if self.phase == "stopping" or self.thread is None:
            return
        if state == "running":
            self._set_phase("running")
        elif state == "paused":
            self._set_phase("paused")
        elif state == "stopped":
            self._set_phase("stopping")

    def _on_snapshot(self, state: TrainedState) -> None:
        if not self._network_changed:
            self.trained = state
            self._set_phase(self.phase)

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

    def _show_status(self, telemetry: Any) -> None:
        percent = round(100 * min(1.0, max(0.0, telemetry.progress)))
        if percent != self.status_progress.value():
            self.status_progress.setValue(percent)
        text = f"Epoch {telemetry.epoch:,}/{telemetry.epochs:,}"
        if telemetry.steps_per_second:
            text += f" · {telemetry.steps_per_second:,.0f} steps/s"
        if telemetry.eta_seconds is not None and self.phase == "running":
            text += f" · {format_duration(telemetry.eta_seconds)} left"
        if self.phase == "paused":
            text = "Paused · " + text
        self.status_label.setText(text)

    def _on_finished(self, outcome: RunOutcome) -> None:
        thread = self.thread
        if thread is not None:
            thread.quit()
            thread.wait()
            gcguard.release()
        self._frame_timer.stop()
        self._take_mail()
        self._due.clear()
        self.thread = self.worker = None
        self.control = None
        if self._closed:
            return
        if outcome.state is not None:
            self.trained = outcome.state
        if self._network_changed:
            message = ("Training stopped because the network changed. The weights of the network as it was "
                       "are kept: undo the change to continue them, or press Train to start afresh.")
            self.say(message)
        elif outcome.status == "failed":
            self.say(outcome.message, error=True)
        elif outcome.status == "stopped":
            self.say(f"Training stopped after epoch {outcome.epochs_completed:,} "
                     f"({outcome.steps:,} steps); the weights are kept — Train continues from them.")
        else:
            self.say(f"Training finished: {outcome.epochs_completed:,} epochs, {outcome.steps:,} steps in "
                     f"{format_duration(outcome.elapsed)}.")
        if self.latest is not None:
            self.panel.show_progress(self.latest)
            if self.plots is not None:
                self.plots.refresh(self.history, self.latest, self._visible, force=True)
            if not self._network_changed:
                self._draw_overlays()
            self.frame_drawn.emit(self.latest)
        self._set_phase("idle")
        reset = self._reset_after_run
        self._reset_after_run = False
        if reset:
            self.reset_weights()
        self.run_finished.emit(outcome)

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
        if self.active and not self._network_changed:
            self._network_changed = True
            self.stop()
            self.say("The network changed while training: stopping the run…")
        if kind == "reset" and not self._opening_checkpoint and not self.active:
            self._forget()  # another design: its own history starts empty
            self.panel.show_message("")
        elif self.trained is not None and not self.trained.fits(self.window.design):
            self.overlay.clear()

    def set_neuron_maps(self, on: bool) -> None:
        self.overlay.set_enabled(on)
        if on:
            self._draw_overlays()

    # ---- checkpoints, exports, plots -----------------------------------------------------------------

    def _weights_for_files(self) -> TrainedState | None:
        if self.trained is None:
            self.say("There are no trained weights yet: train the network first.", error=True)
            return None
        if self.phase not in ("idle", "paused"):
            self.say("Pause or stop training first, so the saved weights are the ones on screen.", error=True)
            return None
        return self.trained

    def _suggested(self, suffix: str, stem: str | None = None) -> str:
        path = self.window.current_path
        if stem is None:
            stem = Path(path).stem if path is not None else _file_stem(self.window.design.name)
        folder = Path(path).parent if path is not None else Path.home()
        return str(folder / f"{stem}{suffix}")

    def _ask_save(self, title: str, suggested: str, file_filter: str) -> Path | None:
        chooser = getattr(self.window, "choose_save_path", None)
        if chooser is not None:
            return chooser(title, suggested, file_filter)
        path, _ = QFileDialog.getSaveFileName(self.window, title, suggested, file_filter)
        return Path(path) if path else None

    def _show_error(self, title: str, message: str) -> None:
        self.say(message, error=True)
        show = getattr(self.window, "show_error", None)
        if show is not None:
            show(title, message)

    def save_checkpoint(self, path: str | Path | None = None) -> bool:
        state = self._weights_for_files()
        if state is None:
            return False
        if path is None:
            path = self._ask_save("Save Checkpoint", self._suggested(CHECKPOINT_SUFFIX), CHECKPOINT_FILTER)
            if path is None:
                return False
        path = Path(path)
        if path.suffix.lower() != CHECKPOINT_SUFFIX:
            path = path.with_name(path.name + CHECKPOINT_SUFFIX)
        design = self.window.design.copy() if state.fits(self.window.design) else state.design
        from .state import save_state_checkpoint

        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            save_state_checkpoint(state, path, design)
        except (NNStudioError, OSError) as exc:
            self._show_error("Could not save the checkpoint", str(exc))
            return False
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.say(f"Saved checkpoint {path} (epoch {state.epoch:,}, step {state.step:,}).")
        return True

    def choose_checkpoint_path(self) -> Path | None:
        """Ask which checkpoint to open (replaced in tests)."""
        start = str(Path(self.window.current_path).parent) if self.window.current_path else ""
        path, _ = QFileDialog.getOpenFileName(self.window, "Open Checkpoint", start, CHECKPOINT_FILTER)
        return Path(path) if path else None

    def open_checkpoint(self, path: str | Path | None = None) -> bool:
        """Open a checkpoint: its design replaces the window's, its weights are kept (Train continues)."""
        if self.active:
            self.say("Stop training before opening a checkpoint.", error=True)
            return False
        keep = getattr(self.window, "maybe_keep_changes", None)
        if keep is not None and not keep("opening a checkpoint"):
            return False
        if path is None:
            path = self.choose_checkpoint_path()
            if path is None:
                return False
        path = Path(path)
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            from nnstudio.ml.checkpoint import load_checkpoint

            from .state import from_checkpoint

            checkpoint = load_checkpoint(path)
            state = from_checkpoint(checkpoint)
        except (NNStudioError, OSError) as exc:
            self._show_error("Could not open the checkpoint", str(exc))
            return False
        finally:
            QGuiApplication.restoreOverrideCursor()
        self._opening_checkpoint = True
        try:
            self.window.set_design(checkpoint.design, None)
        finally:
            self._opening_checkpoint = False
        self._forget()
        self.trained = state
        self.history.load_rows(state.history)
        if self.plots is not None:
            self.plots.refresh(self.history, None, self._visible, force=True)
        self.panel.epoch_label.setText(f"Epoch {state.epoch:,}")
        self.say(f"Opened checkpoint {path.name}: trained for {state.epoch:,} epochs ({state.step:,} steps). "
                 "Train continues from these weights.")
        self._set_phase("idle")
        return True

    def export_model(self, fmt: str, path: str | Path | None = None, wait: bool = False) -> bool:
        """Export the trained model in format `fmt` (onnx, safetensors, pt, pt2, python) on a background thread."""
        state = self._weights_for_files()
        if state is None:
            return False
        suffix = dict(EXPORT_SUFFIXES).get(fmt)
        if suffix is None:
            self.say(f"Unknown export format {fmt!r}.", error=True)
            return False
        if path is None:
            if suffix:
                title = dict(EXPORT_TITLES)[fmt].rstrip("…")
                path = self._ask_save(f"Export Model as {title}", self._suggested(suffix),
                                      f"{title} (*{suffix});;All files (*)")
            else:
                path = self.choose_export_folder()
            if path is None:
                return False
        path = Path(path)
        if suffix and path.suffix.lower() != suffix:
            path = path.with_name(path.name + suffix)
        design = self.window.design.copy() if state.fits(self.window.design) else state.design

        def work() -> Any:
            from nnstudio.ml.export import export_model

            from .state import build_trained_model

            return export_model(build_trained_model(state, design), design, fmt, path)

        task = _BackgroundTask(work, self)
        task.done.connect(lambda result, error, t=task: self._export_done(t, fmt, path, result, error))
        self._tasks.append(task)
        self.say(f"Exporting to {path}…")
        task.start()
        if wait:
            task.thread.join()
        return True

    def choose_export_folder(self) -> Path | None:
        path = QFileDialog.getExistingDirectory(self.window, "Export Model as PyTorch Code",
                                                str(Path(self._suggested("")).parent))
        return Path(path) if path else None

    def _export_done(self, task: _BackgroundTask, fmt: str, path: Path, result: Any, error: Any) -> None:
        if task in self._tasks:
            self._tasks.remove(task)
            gcguard.release()
        if error is not None:
            text = str(error) if isinstance(error, (NNStudioError, OSError)) else \
                f"the export failed: {type(error).__name__}: {error}"
            self.say(f"Could not export: {text}", error=True)
            return
        files = result if isinstance(result, list) else [result]
        shown = ", ".join(str(f) for f in files[:4])
        self.say(f"Exported {dict(EXPORT_TITLES).get(fmt, fmt).rstrip('…')}: {shown}")

    def save_plot_png(self, path: str | Path | None = None, view: str | None = None) -> bool:
        """Save a plot view (default: the first visible one) as a PNG image of what is on screen."""
        plots = self.ensure_plots()
        key = view or next((k for k, _t, _n in PLOT_DOCKS if k in self._visible), "loss")
        if path is None:
            path = self._ask_save("Save Plot as PNG", self._suggested(".png", key), "PNG image (*.png)")
            if path is None:
                return False
        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_name(path.name + ".png")
        widget = plots.views[key]
        plots.views[key].refresh(self.history, self.latest, force=True)
        if not widget.grab().save(str(path), "PNG"):
            self._show_error("Could not save the plot", f"could not write {path}")
            return False
        self.say(f"Saved the {key} plot as {path}")
        return True

    def save_metrics_csv(self, path: str | Path | None = None) -> bool:
        if self.history.empty:
            self.say("There is no training history to save yet.", error=True)
            return False
        if path is None:
            path = self._ask_save("Save Metrics as CSV", self._suggested("-metrics.csv"), "CSV (*.csv)")
            if path is None:
                return False
        path = Path(path)
        try:
            rows = self.history.write_csv(path)
        except OSError as exc:
            self._show_error("Could not save the metrics", f"could not write {path}: {exc.strerror or exc}")
            return False
        self.say(f"Saved {rows:,} rows of metrics to {path}")
        return True

    # ---- closing -------------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop a run and wait for its thread (and any export) to end; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        self._frame_timer.stop()
        if self.control is not None:
            self.control.stop()
        thread = self.thread
        if thread is not None:
            thread.quit()
            thread.wait()
            self.thread = None
            gcguard.release()
        for task in list(self._tasks):
            task.thread.join()
            self._tasks.remove(task)
            gcguard.release()
        self.overlay.clear()

    @property
    def closed(self) -> bool:
        return self._closed


EXPORT_TITLES = (("onnx", "ONNX…"), ("safetensors", "safetensors Weights…"), ("pt", "PyTorch state_dict…"),
                 ("pt2", "PyTorch Program (torch.export)…"), ("python", "PyTorch Code (folder)…"))
EXPORT_SUFFIXES = (("onnx", ".onnx"), ("safetensors", ".safetensors"), ("pt", ".pt"), ("pt2", ".pt2"),
                   ("python", ""))


def _file_stem(name: str) -> str:
    stem = "".join(ch if ch.isalnum() or ch in "-_ " else "-" for ch in name).strip(" -") or "design"
    return stem[:80]

