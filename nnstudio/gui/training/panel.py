"""The training panel: the controls and progress of a run, the data with its preview, and the training settings.

The Data box (sources, sliders, features, file, preview) is its own part, `data_box.DataBox`.

Every setting is part of the design: an edit is an undo command on the document, and the panel follows
the document's events (so undo, redo and opening a file update it). While a run is in progress only the
live settings (learning rate, momentum, regularisation rate, gradient clipping) stay editable; the rest
applies to the next run.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QFont, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core import DesignEvent
from nnstudio.core.catalogue import TASK_LOSS
from nnstudio.core.live import LIVE_FIELDS  # settings a running trainer takes at once
from nnstudio.core.settings import (
    TRAINING_FIELDS,
    UNLIMITED_EPOCHS,
)

from ..base.theme import canvas_colours
from ..base.wheel_guard import guard_wheel
from ..editor.commands import SetTrainingCommand
from ..editor.param_form import ParamForm
from .data_box import DATASET_TITLES, FEATURE_TITLES, SOURCES, DataBox

REGRESSION_LOSS_TITLES = {"mse": "mean squared error", "mae": "mean absolute error", "huber": "Huber loss"}
__all__ = ["DATASET_TITLES", "FEATURE_TITLES", "LIVE_FIELDS", "SOURCES", "DeviceCombo", "TrainingPanel",
           "format_duration"]

_FORM_FIELDS = tuple(k for k in TRAINING_FIELDS if k != "device")


def format_duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "—"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class DeviceCombo(QComboBox):
    """'Automatic' and 'CPU' at first; the GPUs PyTorch sees are listed when the list is first opened
    (torch is imported then, never at start-up) or when a run reports them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.devices_listed = False
        self.set_devices([("auto", "Automatic"), ("cpu", "CPU")], listed=False)

    def set_devices(self, devices: list[tuple[str, str]], listed: bool = True) -> None:
        current = self.currentData()
        self.blockSignals(True)
        self.clear()
        for value, title in devices:
            self.addItem(title, value)
        self.devices_listed = listed
        if current is not None:
            self.set_value(current)
        self.blockSignals(False)

    def set_value(self, value: str) -> None:
        index = self.findData(value)
        if index < 0:
            suffix = " (not found on this computer)" if self.devices_listed else ""
            self.addItem(f"{value}{suffix}", value)
            index = self.count() - 1
        self.blockSignals(True)
        self.setCurrentIndex(index)
        self.blockSignals(False)

    def list_devices(self) -> None:
        from .worker import available_devices

        if "torch" not in sys.modules:
            QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                devices = available_devices()
            finally:
                QGuiApplication.restoreOverrideCursor()
        else:
            devices = available_devices()
        self.set_devices(devices)

    def showPopup(self) -> None:
        if not self.devices_listed:
            self.list_devices()
        super().showPopup()


class TrainingPanel(DataBox, QScrollArea):
    """Run controls and progress, data and preview, training settings. Owned by the training controller."""

    message_changed = Signal(str, bool)  # text, is_error
    dataset_loaded = Signal(object)  # the Dataset the preview shows

    def __init__(self, session: Any, base_dir: Callable[[], str | None] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainingPanel")
        self.session = session
        self.base_dir = base_dir or (lambda: None)
        self.running = False
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)  # never clip: scroll both ways
        body = QWidget()
        body.setObjectName("trainingPanelBody")
        self.setWidget(body)
        layout = QVBoxLayout(body)
        m = self.fontMetrics().height() // 2
        layout.setContentsMargins(m, m, m, m)
        layout.setSpacing(m)
        self._build_run_box(layout)
        self._build_data_box(layout)
        self._build_training_box(layout)
        layout.addStretch(1)
        guard_wheel(self)

        self._init_preview()
        session.changed.connect(self._on_changed)
        self.show_settings()

    @property
    def design(self):
        return self.session.design

    # ---- building ----------------------------------------------------------------------------------

    def _build_run_box(self, layout: QVBoxLayout) -> None:
        box = QGroupBox("Run")
        box.setObjectName("trainingRunBox")
        column = QVBoxLayout(box)
        self.buttons_row = QGridLayout()
        self.buttons_row.setHorizontalSpacing(4)
        self.buttons_row.setVerticalSpacing(4)
        column.addLayout(self.buttons_row)

        counter_row = QHBoxLayout()
        self.epoch_label = QLabel("Epoch 0")
        self.epoch_label.setObjectName("trainingEpoch")
        font = QFont(self.epoch_label.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setWeight(QFont.Weight.Light)
        self.epoch_label.setFont(font)
        self.epoch_label.setToolTip("Epochs: passes over the training data")
        counter_row.addWidget(self.epoch_label, 1)
        self.loss_numbers = QLabel("")
        self.loss_numbers.setObjectName("trainingLossNumbers")
        self.loss_numbers.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.loss_numbers.setToolTip("Loss on the training data (running mean) and on the validation data")
        counter_row.addWidget(self.loss_numbers)
        column.addLayout(counter_row)

        self.progress = QProgressBar()
        self.progress.setObjectName("trainingProgress")
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("Not started")
        column.addWidget(self.progress)
        self.rate_label = QLabel("")
        self.rate_label.setObjectName("trainingRate")
        column.addWidget(self.rate_label)

        self.banner = QLabel("Training is running: changing the network's layers stops it. "
                             "The learning rate and other live settings apply at once.")
        self.banner.setObjectName("trainingBanner")
        self.banner.setWordWrap(True)
        colours = canvas_colours()
        self.banner.setStyleSheet(
            f"QLabel {{ background: {colours.selection.lighter(185).name()}; border-radius: 4px; padding: 4px; }}")
        self.banner.hide()
        column.addWidget(self.banner)
        self.message = QLabel("")
        self.message.setObjectName("trainingMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        column.addWidget(self.message)
        layout.addWidget(box)

    def set_actions(self, actions: list[QAction]) -> None:
        """Buttons for the run actions (Train, Pause, Resume, Step, Stop, Reset), three to a row."""
        for i, action in enumerate(actions):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setObjectName(f"button{action.objectName().removeprefix('action')}")
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            self.buttons_row.addWidget(button, i // 3, i % 3)

    def _build_training_box(self, layout: QVBoxLayout) -> None:
        box = QGroupBox("Training")
        box.setObjectName("trainingSettingsBox")
        column = QVBoxLayout(box)
        loss_row = QFormLayout()
        loss_row.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.loss_label = QLabel()
        self.loss_label.setObjectName("trainingLoss")
        self.loss_label.setWordWrap(True)
        self.loss_label.setToolTip("The loss follows from the Output layer's task (set it in the Inspector); "
                                   "regression outputs can use another loss below")
        loss_row.addRow("Loss", self.loss_label)
        column.addLayout(loss_row)
        specs = {k: TRAINING_FIELDS[k] for k in _FORM_FIELDS}
        self.form = ParamForm(specs, self.design.training.to_dict(), object_prefix="training_")
        self.form.setObjectName("trainingForm")
        for hint in self.form.hints.values():
            hint.hide()  # the help stays in each field's tooltip; the panel stays compact
        self.form.edited.connect(self._push_training)
        column.addWidget(self.form)
        device_row = QFormLayout()
        device_row.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.device_combo = DeviceCombo()
        self.device_combo.setObjectName("training_device")
        self.device_combo.setToolTip(TRAINING_FIELDS["device"].help)
        self.device_combo.activated.connect(
            lambda i: self._push_training("device", self.device_combo.itemData(i)))
        device_row.addRow("Device", self.device_combo)
        column.addLayout(device_row)
        self.training_box = box
        layout.addWidget(box)

    # ---- showing the document ----------------------------------------------------------------------

    def show_settings(self) -> None:
        """Show the design's dataset and training settings (without pushing anything)."""
        self._show_dataset()
        self.form.set_values(self.design.training.to_dict())
        self.device_combo.set_value(self.design.training.device)
        self._show_training_rows()
        self._show_loss()

    def _show_training_rows(self) -> None:
        config = self.design.training
        task = self.output_task()
        self.form.set_row_visible("momentum", config.optimizer in ("momentum", "nesterov"))
        self.form.set_row_visible("regularization_rate", config.regularization != "none")
        self.form.set_row_visible("step_size", config.schedule == "step")
        self.form.set_row_visible("gamma", config.schedule in ("step", "exponential"))
        self.form.set_row_visible("regression_loss", task == "regression" and not config.playground)
        self.form.set_row_visible("init", not config.playground)  # the Playground recipe has its own

    def output_task(self) -> str | None:
        for layer in self.design.layers.values():
            if layer.type == "Output":
                return layer.params.get("task")
        return None

    def _show_loss(self) -> None:
        task = self.output_task()
        playground = self.design.training.playground
        if task is None:
            self.loss_label.setText("— (add an Output layer)")
        elif playground and task in ("binary", "regression"):
            self.loss_label.setText("½(out − t)², tanh output, t = ±1 (Playground)" if task == "binary"
                                    else "½(out − y)², linear output (Playground)")
        elif task == "regression":
            loss = self.design.training.regression_loss
            self.loss_label.setText(f"{REGRESSION_LOSS_TITLES.get(loss, loss)} (regression output)")
        else:
            self.loss_label.setText(f"{TASK_LOSS.get(task, task)} ({task} output)")

    def _on_changed(self, event: DesignEvent) -> None:
        kind = event.kind
        if kind in ("dataset_changed", "reset"):
            self.show_settings()
            self.schedule_preview()
        elif kind == "training_changed":
            self.form.set_values(self.design.training.to_dict())
            self.device_combo.set_value(self.design.training.device)
            self._show_training_rows()
            self._show_loss()
        elif kind in ("param_changed", "layer_added", "layer_removed"):
            layer = self.design.layers.get(event.layer_id or "")
            kind_of = layer.type if layer is not None else getattr(event.value, "type", None)
            if kind_of in ("Input", "Output"):
                self._show_loss()
                self._show_training_rows()
                self.schedule_preview()

    # ---- editing -----------------------------------------------------------------------------------

    def _push(self, command: Any) -> bool:
        if self.session.push(command):
            return True
        self.show_message(str(command.error), error=True)
        self.show_settings()  # put the editor back to what the document holds
        return False

    def _push_training(self, key: str, value: Any) -> bool:
        return self._push(SetTrainingCommand(self.design, key, value))

    # ---- run state ---------------------------------------------------------------------------------

    def set_running(self, running: bool) -> None:
        """While a run is in progress, only the live settings stay editable."""
        self.running = running
        self.data_box.setEnabled(not running)
        for key, editor in self.form.editors.items():
            editor.setEnabled(not running or key in LIVE_FIELDS)
            editor.setToolTip(TRAINING_FIELDS[key].help + ("" if not running or key in LIVE_FIELDS
                                                          else "\n(stop training to change this)"))
        self.device_combo.setEnabled(not running)
        self.banner.setVisible(running)

    def show_message(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        colour = canvas_colours().error.name() if error else ""
        self.message.setStyleSheet(f"color: {colour}" if error else "")
        self.message.setProperty("error", error)
        self.message.setVisible(bool(text))
        self.message_changed.emit(text, error)

    def show_progress(self, telemetry: Any) -> None:
        epochs = max(1, telemetry.epochs)
        unlimited = epochs >= UNLIMITED_EPOCHS  # training until paused: no end to count towards
        self.epoch_label.setText(f"Epoch {telemetry.epoch:,}" + ("" if unlimited else f" / {epochs:,}"))
        percent = round(100 * min(1.0, max(0.0, telemetry.progress)))
        if percent != self.progress.value():
            self.progress.setValue(percent)
            self.progress.setFormat(f"{percent} %")
        parts = []
        if telemetry.steps_per_second:
            parts.append(f"{telemetry.steps_per_second:,.0f} steps/s")
        if (telemetry.reason in ("batch", "epoch_end", "start") and telemetry.eta_seconds is not None
                and not unlimited):
            parts.append(f"{format_duration(telemetry.eta_seconds)} left")
        parts.append(f"elapsed {format_duration(telemetry.elapsed)}")
        self.rate_label.setText(" · ".join(parts))
        losses = []
        if telemetry.train_loss is not None:
            losses.append(f"train {telemetry.train_loss:.4g}")
        if telemetry.val_loss is not None:
            losses.append(f"test {telemetry.val_loss:.4g}")
        self.loss_numbers.setText("\n".join(losses))

    def reset_progress(self) -> None:
        self.epoch_label.setText("Epoch 0")
        self.progress.setValue(0)
        self.progress.setFormat("Not started")
        self.rate_label.setText("")
        self.loss_numbers.setText("")
