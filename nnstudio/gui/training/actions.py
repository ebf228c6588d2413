"""Training's actions, menus, toolbar, status widgets and docks in the window, and what they show per phase.

A mixin of `TrainingController`: it builds the Train menu (and the File menu's checkpoint and export
entries), the training toolbar, the status bar's progress, the Training panel's dock and the plot docks
(placeholders until the plots are built after the first paint), and enables each action for the phase.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMenu, QProgressBar, QToolBar

from nnstudio.core.settings import UNLIMITED_EPOCHS

from ..base.icons import set_icon
from .files import EXPORT_TITLES
from .host import PLOT_DOCKS, TrainingHost
from .panel import TrainingPanel, format_duration

if TYPE_CHECKING:
    from nnstudio.ml.telemetry import Telemetry

ACTIVE_PHASES = ("starting", "running", "paused", "stopping")


class TrainingActions:
    """Actions, menus, toolbar, status widgets and docks (mixed into `TrainingController`)."""

    window: TrainingHost
    panel: TrainingPanel
    phase: str
    actions: dict[str, QAction]

    def _action(self, key: str, text: str, slot: Callable[[], Any], shortcut: str | None, tip: str,
                icon: str | None = None, checkable: bool = False) -> QAction:
        action = QAction(text, self.window.qt_window())
        action.setObjectName("action" + key[0].upper() + key[1:])
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            tip = f"{tip} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})"
        action.setToolTip(tip)
        action.setStatusTip(tip)
        if icon is not None:
            set_icon(action, icon)  # drawn in the palette's text colour, so it reads on a dark look too
        action.setCheckable(checkable)
        if checkable:
            action.toggled.connect(lambda on: slot(on))
        else:
            action.triggered.connect(lambda _checked=False: slot())
        self.window.qt_window().addAction(action)  # shortcuts work while the menu bar is hidden
        self.actions[key] = action
        return action

    def _create_actions(self) -> None:
        self.actions: dict[str, QAction] = {}
        a = self._action
        a("train", "&Train", self.train, "F5", "Train the network (resumes when paused)", "train")
        a("pause", "&Pause", self.pause, "F6", "Pause training after the current batch", "pause")
        a("resume", "&Resume", self.resume, None, "Continue a paused training", "train")
        a("step", "&Step", self.step, "F10", "Train exactly one batch, then pause", "step")
        a("stop", "St&op", self.stop, "Shift+F5", "Stop training; the trained weights are kept", "stop")
        a("reset", "Rese&t Weights", self.reset_weights, "Ctrl+R",
          "Forget the trained weights and the plots: the next run starts from new weights", "reset")
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
        menu = QMenu("T&rain", window.qt_window())
        menu.setObjectName("menuTrain")
        acts = self.actions
        # Train reads "Resume" while paused, so the separate Resume action stays out of the menu.
        menu.addActions([acts[k] for k in ("train", "pause", "step", "stop", "reset")])
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
        bar = window.qt_window().menuBar()
        menus = window.menus
        help_menu = menus.get("help")
        if help_menu is not None:
            bar.insertMenu(help_menu.menuAction(), menu)
        else:
            bar.addMenu(menu)
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
        bar = QToolBar("Training Toolbar", self.window.qt_window())
        bar.setObjectName("trainingToolBar")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonFollowStyle)
        for key in ("train", "pause", "step", "stop", "reset"):
            bar.addAction(self.actions[key])
        self.window.qt_window().addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar
        view = self.window.menus.get("view")
        if view is not None:
            toggle = bar.toggleViewAction()
            toggle.setObjectName("actionShowTrainingToolbar")
            toggle.setText("T&raining Toolbar")
            view.addAction(toggle)

    def _create_status_widgets(self) -> None:
        qt_window = self.window.qt_window()
        bar = qt_window.statusBar()
        self.status_label = QLabel("")
        self.status_label.setObjectName("statusTraining")
        self.status_progress = QProgressBar()
        self.status_progress.setObjectName("statusTrainingProgress")
        self.status_progress.setRange(0, 100)
        self.status_progress.setTextVisible(False)
        self.status_progress.setMaximumWidth(qt_window.fontMetrics().height() * 8)
        self.status_progress.setMaximumHeight(qt_window.fontMetrics().height())
        bar.addPermanentWidget(self.status_label)
        bar.addPermanentWidget(self.status_progress)
        self.status_label.hide()
        self.status_progress.hide()

    def _create_docks(self) -> None:
        window = self.window
        right = Qt.DockWidgetArea.RightDockWidgetArea
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        self.panel_dock = window.add_dock(self.panel, "Training", "trainingDock", right,
                                          tabify_with=window.inspector_dock)
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
            dock = window.add_dock(placeholder, title, name, bottom, tabify_with=tab_with)
            if key == "output" and not restored:
                window.qt_window().splitDockWidget(loss, dock, Qt.Orientation.Horizontal)
            dock.visibilityChanged.connect(lambda visible, k=key: self._dock_visibility(k, visible))
            self.plot_docks[key] = dock
        self.plot_docks["loss"].raise_()
        self._layout_restored = restored

    def _saved_layout_has(self, dock_name: str) -> bool:
        """Whether the window's saved layout (QMainWindow.saveState) knows a dock of this name."""
        state = self.window.settings.value("window/state")
        if not isinstance(state, QByteArray) or state.isEmpty():
            return False
        return dock_name.encode("utf-16-be") in bytes(state.data())

    def _size_docks(self) -> None:
        """First start (or a saved layout that was squeezed): the default sizes, in proportion to the window."""
        from ..base import dock_layout

        window = self.window.qt_window()
        if self._layout_restored and not dock_layout.squeezed(window):
            return
        dock_layout.default_sizes(window)
        QTimer.singleShot(0, self.window.apply_view_state)  # the canvas got smaller: show the design again


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


    def _show_status(self, telemetry: Telemetry) -> None:
        percent = round(100 * min(1.0, max(0.0, telemetry.progress)))
        if percent != self.status_progress.value():
            self.status_progress.setValue(percent)
        text = f"Epoch {telemetry.epoch:,}" + (f"/{telemetry.epochs:,}" if telemetry.epochs < UNLIMITED_EPOCHS else "")
        if telemetry.steps_per_second:
            text += f" · {telemetry.steps_per_second:,.0f} steps/s"
        if telemetry.eta_seconds is not None and self.phase == "running" and telemetry.epochs < UNLIMITED_EPOCHS:
            text += f" · {format_duration(telemetry.eta_seconds)} left"
        if self.phase == "paused":
            text = "Paused · " + text
        self.status_label.setText(text)

