"""The Network tab: Playground's control bar, the `+` / `−` buttons and the network view, wired to the
document (it mirrors every change) and to the training controller (live frames, runs, weight edits)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut, QUndoStack
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..base.dock_layout import scrolling
from ..training.view_checks import bind_view_check
from .controls import PlaygroundBar
from .edits import (
    EditValueCommand,
    add_hidden_layer,
    change_units,
    preview,
    remove_hidden_layer,
    set_value,
    toggle_feature,
)
from .host import NetworkHost
from .view import LayerButtons, NetworkView, neuron_button
from .view_options import apply_view_settings

if TYPE_CHECKING:
    from ..training.controller import TrainingController

FRAME_HZ = 40.0  # above 30, so the frames drawn stay >= 30 a second despite timer jitter (bench/network_view_fps.py)
VIEW_SHARE = 0.2


class NetworkPanel(QWidget):
    def __init__(self, window: NetworkHost, controller: TrainingController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("networkPanel")
        self.window, self.controller = window, controller
        self.session = window.session
        self.tabs: QTabWidget | None = None  # the Canvas / Network tabs it is shown in (set when attached)
        self._stale = False  # a frame arrived while hidden: draw the newest when shown
        self.force = False  # draw even a network with layers above 8 neurons
        self.value_edits = QUndoStack(self)  # edits of trained weights: not edits of the design file
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.bar = PlaygroundBar(self)
        layout.addWidget(scrolling(self.bar, horizontal_only=True))  # a narrow window scrolls the bar
        top = QHBoxLayout()
        self.layer_buttons = LayerButtons()
        top.addWidget(self.layer_buttons, 1)
        self.show_anyway = QPushButton("Show Anyway")
        self.show_anyway.setObjectName("networkShowAnyway")
        self.show_anyway.clicked.connect(self._show_anyway)
        top.addWidget(self.show_anyway)
        self.undo_button = QToolButton()
        self.undo_button.setObjectName("networkUndoValue")
        self.undo_button.setText("Undo value")
        self.redo_button = QToolButton()
        self.redo_button.setObjectName("networkRedoValue")
        self.redo_button.setText("Redo value")
        self.undo_button.clicked.connect(self.value_edits.undo)
        self.redo_button.clicked.connect(self.value_edits.redo)
        self.value_edits.canUndoChanged.connect(self.undo_button.setEnabled)
        self.value_edits.canRedoChanged.connect(self.redo_button.setEnabled)
        self.value_edits.undoTextChanged.connect(lambda t: self.undo_button.setToolTip(f"Undo {t}"))
        self.undo_button.setEnabled(False)
        self.redo_button.setEnabled(False)
        top.addWidget(self.undo_button)
        top.addWidget(self.redo_button)
        layout.addLayout(top)
        self.view = NetworkView()
        layout.addWidget(self.view, 1)
        self.message = QLabel("")
        self.message.setObjectName("networkMessage")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        for keys, slot in ((QKeySequence.StandardKey.Undo, self.value_edits.undo),
                           (QKeySequence.StandardKey.Redo, self.value_edits.redo)):
            shortcut = QShortcut(keys, self.view)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(slot)
        self._neuron_buttons: list[QToolButton] = []
        self.layer_buttons.add_layer.clicked.connect(lambda: self._edit(add_hidden_layer(self.session)))
        self.layer_buttons.remove_layer.clicked.connect(lambda: self._edit(remove_hidden_layer(self.session)))
        self.view.feature_clicked.connect(self._toggle_feature)
        self.view.link_clicked.connect(self._edit_link)
        self.view.neuron_clicked.connect(self._edit_bias)
        self.session.changed.connect(self._on_design_event)
        bind_view_check(self.bar.show_test, self.session, "show_test_data")
        bind_view_check(self.bar.discretize, self.session, "discretize")
        controller.panel.dataset_loaded.connect(lambda _dataset: apply_view_settings(self))  # new test points
        controller.frame_drawn.connect(self._on_frame)
        controller.phase_changed.connect(self._on_phase)
        self.ask_value = self._ask_value  # replaced in tests
        # While a run trains and this tab shows, the view draws the newest publication at its own pace (up
        # to FRAME_HZ, and so that drawing it takes at most VIEW_SHARE of the time), not only when the
        # controller's turn redraws the plots.
        self._drawn: Any = None
        self._frame_cost = 0.0
        self.pull_frames = True  # False: draw only the frames the training controller draws
        self._frame_timer = QTimer(self)
        self._frame_timer.setObjectName("networkFrameTimer")
        self._frame_timer.setSingleShot(True)
        self._frame_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._frame_timer.timeout.connect(self._pull_frame)
        self.refresh()
        apply_view_settings(self)
        self._on_phase(controller.phase)

    # ---- following the document and the training -----------------------------------------------------

    def _on_design_event(self, event: Any) -> None:
        if event.kind == "reset":
            self.force = False
            self.value_edits.clear()
        if event.kind in ("training_changed", "dataset_changed", "reset", "param_changed", "layer_added",
                          "layer_removed", "connected", "disconnected"):
            self.refresh()
        if event.kind in ("view_changed", "dataset_changed", "reset"):
            apply_view_settings(self)  # Show test data / Discretize output

    def refresh(self) -> None:
        info = self.view.set_design(self.session.design, force=self.force)
        self.show_anyway.setVisible(info.too_big and not self.force)
        self.layer_buttons.setEnabled(not info.problem)
        hidden = len(info.hidden)
        self.layer_buttons.label.setText(f"{hidden} hidden layer{'s' if hidden != 1 else ''}")
        self.layer_buttons.remove_layer.setEnabled(hidden > 0)
        self.bar.show_settings()
        self._place_neuron_buttons()
        trained = self.controller.trained
        if self.controller.latest is not None and trained is not None and trained.fits(self.session.design):
            self._on_frame(self.controller.latest)
        elif not self.controller.active:
            self.view.clear_training()

    def _place_neuron_buttons(self) -> None:
        for button in self._neuron_buttons:
            button.deleteLater()
        self._neuron_buttons = []
        info = self.view.layout_info
        if info.problem:
            return
        for c, column in enumerate(info.columns[1:-1], start=1):
            x = self.view.column_x(c)
            for text, delta, name in (("+", 1, "networkAddNeuron"), ("−", -1, "networkRemoveNeuron")):
                tip = f"{'Add a neuron to' if delta > 0 else 'Remove a neuron from'} '{column.name}'"
                button = neuron_button(text, f"{name}_{column.name}", tip, self.view)
                button.move(round(x - 21 + (0 if delta > 0 else 22)), 22)
                lid = column.layer_id
                button.clicked.connect(
                    lambda _c=False, lid=lid, d=delta: self._edit(change_units(self.session, lid, d)))
                button.setEnabled(1 <= column.units + delta <= 8)
                button.show()
                self._neuron_buttons.append(button)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self.controller.active:
            self._schedule_pull()
        if self._stale and self.controller.latest is not None:
            self._on_frame(self.controller.latest)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._place_neuron_buttons()

    def _pull_frame(self) -> None:
        mailbox = self.controller.mailbox
        if not self.isVisible() or not self.controller.active or mailbox is None or not self.pull_frames:
            return
        started = time.perf_counter()
        latest = mailbox.peek()
        if latest is not None and latest is not self._drawn:
            # Paced here, within VIEW_SHARE: not counted again against the training controller's drawing
            # share, or the plots' turns starve while this tab shows.
            self.view.self_paced = True
            try:
                self._on_frame(latest)
                self.view.repaint()
            finally:
                self.view.self_paced = False
            self._frame_cost = time.perf_counter() - started
        self._schedule_pull(time.perf_counter() - started)

    def _schedule_pull(self, spent: float = 0.0) -> None:
        # Counted from the start of the pull that just ran, so that drawing does not stretch the period.
        gap = max(1.0 / FRAME_HZ, self._frame_cost / VIEW_SHARE - self._frame_cost)
        self._frame_timer.start(max(1, round((gap - spent) * 1000)))

    def _on_frame(self, telemetry: Any) -> None:
        if telemetry is None or telemetry is self._drawn:
            return
        if not self.isVisible():  # drawn when the tab is shown again: a hidden view costs training nothing
            self._stale = True
            return
        self._stale = False
        self._drawn = telemetry
        self.bar.show_counter(telemetry)
        info = self.controller.info
        task = getattr(info, "task", None) or self._task()
        self.view.set_telemetry(telemetry, task)

    def _task(self) -> str | None:
        for layer in self.session.design.layers.values():
            if layer.type == "Output":
                return layer.params.get("task")
        return None

    def _on_phase(self, phase: str) -> None:
        running = phase in ("starting", "running")
        if running and self.isVisible() and not self._frame_timer.isActive():
            self._schedule_pull()
        self.bar.play.setText("Pause" if running else "Train")
        self.bar.step_epoch.setEnabled(phase in ("idle", "paused"))
        self.bar.step_batch.setEnabled(phase in ("idle", "paused"))
        if self.controller.latest is None:
            self.bar.show_counter(None)
            if phase == "idle":
                self.view.clear_training()

    # ---- training actions -------------------------------------------------------------------------------

    def play_or_pause(self) -> bool:
        if self.controller.phase in ("starting", "running"):
            return self.controller.pause()
        return self.controller.train()

    def step_batch(self) -> bool:
        return self.controller.step()

    def step_epoch(self) -> bool:
        """Playground's Step: train to the end of the epoch in progress (a whole epoch between epochs)."""
        controller = self.controller
        latest = controller.latest
        if controller.phase == "paused" and controller.control is not None and latest is not None:
            left = latest.batches_per_epoch - latest.batch if latest.batch else latest.batches_per_epoch
            controller.control.step(max(1, left))
            return True
        if controller.phase != "idle":
            return False
        batches = self._batches_per_epoch()
        trained = controller.trained
        if trained is not None and trained.fits(self.session.design) and trained.batch:
            batches -= trained.batch
        return controller._start(step=max(1, batches))

    def _batches_per_epoch(self) -> int:
        from nnstudio.data import load_dataset

        design = self.session.design
        dataset = self.controller.panel.dataset
        if dataset is None:
            dataset = load_dataset(design.dataset, base_dir=self.controller.base_dir())
        n = dataset.num_train
        batch = max(1, min(design.training.batch_size, n))
        return n // batch if design.training.playground else -(-n // batch)

    # ---- edits ------------------------------------------------------------------------------------------

    def push(self, command: Any) -> bool:
        if self.session.push(command):
            return True
        self.say(str(command.error))
        self.bar.show_settings()
        return False

    def say(self, text: str) -> None:
        self.message.setText(text)
        self.window.status(text)

    def _edit(self, ok: bool) -> None:
        if not ok:
            self.say("That change is not possible here (Playground keeps 1 to 8 neurons per layer).")

    def _show_anyway(self) -> None:
        self.force = True
        self.refresh()

    def _toggle_feature(self, name: str) -> None:
        why = toggle_feature(self.session, name)
        if why:
            self.say(why)

    def _edit_link(self, column: int, row: int, source: int) -> None:
        sources = self.view._sources(column)
        index = sources.index(source)
        name = f"{self.view.layout_info.columns[column].name}.weight"
        self._edit_value(name, row * len(sources) + index, self.view.weight(column, row, index), "weight")

    def _edit_bias(self, column: int, row: int) -> None:
        name = f"{self.view.layout_info.columns[column].name}.bias"
        self._edit_value(name, row, self.view.bias(column, row), "bias")

    def _edit_value(self, name: str, index: int, old: float | None, what: str) -> None:
        if old is None:
            self.say("Train or step once first: the weights exist once training has started.")
            return
        new = self.ask_value(f"Edit {what}", f"New value of {name}[{index}]:", old)
        if new is None or new == old:
            return
        self.value_edits.push(EditValueCommand(self.apply_value, name, index, old, new,
                                               f"set {name}[{index}] to {new:g}"))

    def _ask_value(self, title: str, label: str, value: float) -> float | None:
        new, ok = QInputDialog.getDouble(self, title, label, value, -1e6, 1e6, 4)
        return float(new) if ok else None

    def apply_value(self, name: str, index: int, value: float) -> None:
        """Set one weight or bias: in the live model when a run is in progress, and in the kept weights
        (so the next run and Save Checkpoint have it); the view shows the network with it at once."""
        controller = self.controller
        if controller.control is not None and controller.active:
            controller.control.edit_parameters([(name, index, value)])
        trained = controller.trained
        if trained is not None and name in trained.weights:
            trained.weights = set_value(trained.weights, name, index, value)
        params = dict(self.view.parameters)
        if name in params:
            params = set_value(params, name, index, value)
            self.view.parameters = params
        if not controller.active and trained is not None and trained.fits(self.session.design):
            try:
                self.view.set_telemetry(preview(self.session.design, trained.weights, controller.base_dir()),
                                        self._task())
            except Exception as exc:  # noqa: BLE001 - a preview that fails must not lose the edit
                self.say(f"The edit is kept; its heatmaps could not be redrawn ({exc})")
        self.view.update()
