"""The training panel: the controls and progress of a run, the data with its preview, and the training settings.

Every setting is part of the design: an edit is an undo command on the document, and the panel follows
the document's events (so undo, redo and opening a file update it). While a run is in progress only the
live settings (learning rate, momentum, regularisation rate, gradient clipping) stay editable; the rest
applies to the next run.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QFont, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core import DesignEvent
from nnstudio.core.catalogue import TASK_LOSS
from nnstudio.core.live import LIVE_FIELDS  # settings a running trainer takes at once
from nnstudio.core.settings import (
    BUILTIN_DATASETS,
    DATASET_FIELDS,
    GENERATED_BUILTINS,
    PLAYGROUND_DATASETS,
    PLAYGROUND_FEATURES,
    PLAYGROUND_REGRESSION,
    TRAINING_FIELDS,
    UNLIMITED_EPOCHS,
)

from ..base import data_consent
from ..base.theme import canvas_colours
from ..base.wheel_guard import guard_wheel
from ..editor.commands import SetDatasetCommand, SetInputFeaturesCommand, SetTrainingCommand
from ..editor.param_form import ParamForm
from .preview import DatasetLoader, DatasetPreview

SOURCES = (("playground", "Playground (2-D)"), ("builtin", "Built-in"), ("csv", "CSV file"), ("npz", "NPZ file"))
DATASET_TITLES = {
    "circle": "Circle", "xor": "Exclusive or", "gauss": "Gaussian", "spiral": "Spiral",
    "reg-plane": "Plane (regression)", "reg-gauss": "Multi Gaussian (regression)", "iris": "Iris flowers",
    "wine": "Wine", "breast_cancer": "Breast cancer", "diabetes": "Diabetes (regression)",
    "digits": "Handwritten digits 8×8", "shapes": "Coloured shapes 32×32",
}
FEATURE_TITLES = {"x1": "X₁", "x2": "X₂", "x1^2": "X₁²", "x2^2": "X₂²", "x1*x2": "X₁X₂", "sin(x1)": "sin(X₁)",
                  "sin(x2)": "sin(X₂)"}
REGRESSION_LOSS_TITLES = {"mse": "mean squared error", "mae": "mean absolute error", "huber": "Huber loss"}
_FORM_FIELDS = tuple(k for k in TRAINING_FIELDS if k != "device")
_PREVIEW_DELAY_MS = 150


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


class TrainingPanel(QScrollArea):
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

        self.loader = DatasetLoader(self)
        self.loader.loaded.connect(self._on_loaded)
        self.dataset: Any = None  # the last dataset the preview loaded
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(_PREVIEW_DELAY_MS)
        self._preview_timer.timeout.connect(self.refresh_preview)
        self.preview_enabled = False  # set once the window is on screen
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

    def _build_data_box(self, layout: QVBoxLayout) -> None:
        box = QGroupBox("Data")
        box.setObjectName("trainingDataBox")
        self.data_box = box
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.data_form = form
        self.data_rows: dict[str, int] = {}

        def row(key: str, label: str, widget: QWidget, tip: str) -> None:
            widget.setToolTip(tip)
            caption = QLabel(label)
            caption.setToolTip(tip)
            caption.setBuddy(widget)
            self.data_rows[key] = form.rowCount()
            form.addRow(caption, widget)

        self.source_combo = QComboBox()
        self.source_combo.setObjectName("datasetSource")
        for value, title in SOURCES:
            self.source_combo.addItem(title, value)
        self.source_combo.activated.connect(lambda i: self._set_source(self.source_combo.itemData(i)))
        row("source", "Source", self.source_combo, DATASET_FIELDS["source"].help)

        self.name_combo = QComboBox()
        self.name_combo.setObjectName("datasetName")
        self.name_combo.activated.connect(lambda i: self._set_name(self.name_combo.itemData(i)))
        row("name", "Dataset", self.name_combo, DATASET_FIELDS["name"].help)

        self.preview = DatasetPreview()
        self.data_rows["preview"] = form.rowCount()
        form.addRow(self.preview)
        self.problems = QLabel("")
        self.problems.setObjectName("datasetProblems")
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet(f"color: {canvas_colours().error.name()}")
        self.problems.hide()
        self.data_rows["problems"] = form.rowCount()
        form.addRow(self.problems)

        self.path_edit = QLineEdit()
        self.path_edit.setObjectName("datasetPath")
        self.path_edit.setPlaceholderText("data.csv (next to the design file)")
        self.path_edit.editingFinished.connect(lambda: self._push_dataset("path", self.path_edit.text().strip()))
        self.browse_button = QPushButton("Browse…")
        self.browse_button.setObjectName("datasetBrowse")
        self.browse_button.clicked.connect(self.browse_for_data)
        path_row = QWidget()
        path_layout = QHBoxLayout(path_row)
        path_layout.setContentsMargins(0, 0, 0, 0)
        path_layout.addWidget(self.path_edit, 1)
        path_layout.addWidget(self.browse_button)
        row("path", "File", path_row, DATASET_FIELDS["path"].help)

        self.target_edit = QLineEdit()
        self.target_edit.setObjectName("datasetTarget")
        self.target_edit.setPlaceholderText("last column")
        self.target_edit.editingFinished.connect(lambda: self._push_dataset("target", self.target_edit.text().strip()))
        row("target", "Target column", self.target_edit, DATASET_FIELDS["target"].help)

        spec = DATASET_FIELDS["samples"]
        self.samples_spin = QSpinBox()
        self.samples_spin.setObjectName("datasetSamples")
        self.samples_spin.setRange(int(spec.minimum), int(spec.maximum))
        self.samples_spin.setSingleStep(50)
        self.samples_spin.setGroupSeparatorShown(True)
        self.samples_spin.setKeyboardTracking(False)
        self.samples_spin.valueChanged.connect(lambda v: self._push_dataset("samples", int(v)))
        row("samples", "Samples", self.samples_spin, spec.help)

        # Playground's sliders: noise 0–50 in steps of 5, training share 10–90 % in steps of 10.
        self.noise_slider, self.noise_value = self._slider("datasetNoise", 0, 10)
        self.noise_slider.valueChanged.connect(lambda v: self._push_dataset("noise", round(v * 0.05, 2)))
        row("noise", "Noise", self._with_value(self.noise_slider, self.noise_value),
            "Playground's noise, 0 to 50: how far labels (or targets) are from the clean pattern")
        self.train_slider, self.train_value = self._slider("datasetTrainPercent", 1, 9)
        self.train_slider.valueChanged.connect(lambda v: self._push_dataset("train_percent", int(v * 10)))
        row("train_percent", "Training data", self._with_value(self.train_slider, self.train_value),
            DATASET_FIELDS["train_percent"].help)

        spec = DATASET_FIELDS["seed"]
        self.data_seed = QSpinBox()
        self.data_seed.setObjectName("datasetSeed")
        self.data_seed.setRange(0, int(spec.maximum))
        self.data_seed.setKeyboardTracking(False)
        self.data_seed.valueChanged.connect(lambda v: self._push_dataset("seed", int(v)))
        row("seed", "Data seed", self.data_seed, spec.help)

        features = QWidget()
        features.setObjectName("datasetFeatures")
        grid = QGridLayout(features)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(2)
        self.feature_boxes: dict[str, QCheckBox] = {}
        for i, name in enumerate(PLAYGROUND_FEATURES):
            check = QCheckBox(FEATURE_TITLES[name])
            check.setObjectName(f"datasetFeature_{_feature_id(name)}")
            check.setToolTip(f"Give the network {name} as an input")
            check.toggled.connect(self._features_toggled)
            grid.addWidget(check, i // 3, i % 3)
            self.feature_boxes[name] = check
        row("features", "Features", features, "Which inputs the network sees (Playground's feature columns); "
            "the Input layer's feature count follows")

        self.standardize_check = QCheckBox("Mean 0, variance 1")
        self.standardize_check.setObjectName("datasetStandardize")
        self.standardize_check.toggled.connect(lambda v: self._push_dataset("standardize", bool(v)))
        row("standardize", "Standardise", self.standardize_check, DATASET_FIELDS["standardize"].help)

        self.images_check = QCheckBox("1×8×8 images (for CNNs)")
        self.images_check.setObjectName("datasetAsImages")
        self.images_check.toggled.connect(lambda v: self._push_dataset("as_images", bool(v)))
        row("as_images", "As images", self.images_check, DATASET_FIELDS["as_images"].help)
        layout.addWidget(box)

    def _slider(self, name: str, low: int, high: int) -> tuple[QSlider, QLabel]:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setObjectName(name)
        slider.setRange(low, high)
        slider.setPageStep(1)
        slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        slider.setTickInterval(1)
        value = QLabel()
        value.setObjectName(f"{name}Value")
        value.setMinimumWidth(self.fontMetrics().horizontalAdvance("90 %") + 4)
        value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return slider, value

    @staticmethod
    def _with_value(slider: QSlider, value: QLabel) -> QWidget:
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(slider, 1)
        row.addWidget(value)
        return holder

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
        spec = self.design.dataset
        widgets = (self.source_combo, self.name_combo, self.samples_spin, self.noise_slider, self.train_slider,
                   self.data_seed, self.path_edit, self.target_edit, self.standardize_check, self.images_check,
                   *self.feature_boxes.values())
        for widget in widgets:
            widget.blockSignals(True)
        try:
            self.source_combo.setCurrentIndex(max(0, self.source_combo.findData(spec.source)))
            names = PLAYGROUND_DATASETS if spec.source == "playground" else BUILTIN_DATASETS
            self.name_combo.clear()
            for name in names:
                self.name_combo.addItem(DATASET_TITLES.get(name, name), name)
            self.name_combo.setCurrentIndex(max(0, self.name_combo.findData(spec.name)))
            self.samples_spin.setValue(spec.samples)
            self.noise_slider.setValue(round(spec.noise / 0.05))
            self.noise_value.setText(f"{spec.noise * 100:g}")
            self.train_slider.setValue(round(spec.train_percent / 10))
            self.train_value.setText(f"{spec.train_percent} %")
            self.data_seed.setValue(spec.seed)
            if self.path_edit.text() != spec.path:
                self.path_edit.setText(spec.path)
            if self.target_edit.text() != spec.target:
                self.target_edit.setText(spec.target)
            self.standardize_check.setChecked(spec.standardize)
            self.images_check.setChecked(spec.as_images)
            for name, check in self.feature_boxes.items():
                check.setChecked(name in spec.features)
        finally:
            for widget in widgets:
                widget.blockSignals(False)
        playground = spec.source == "playground" or spec.name in GENERATED_BUILTINS and spec.source == "builtin"
        visible = {
            "name": spec.source in ("playground", "builtin"), "samples": playground, "noise": playground,
            "features": spec.source == "playground", "path": spec.source in ("csv", "npz"),
            "target": spec.source == "csv",
            "as_images": spec.source == "builtin" and spec.name == "digits",
        }
        for key, shown in visible.items():
            self.data_form.setRowVisible(self.data_rows[key], shown)
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

    def _push_dataset(self, key: str, value: Any) -> bool:
        return self._push(SetDatasetCommand(self.design, key, value))

    def _push_training(self, key: str, value: Any) -> bool:
        return self._push(SetTrainingCommand(self.design, key, value))

    def _set_source(self, source: str) -> None:
        spec = self.design.dataset
        if source == spec.source:
            return
        stack = self.session.undo_stack
        stack.beginMacro("Change data source")
        try:
            ok = self._push_dataset("source", source)
            if ok and source == "builtin" and spec.name not in BUILTIN_DATASETS:
                self._push_dataset("name", BUILTIN_DATASETS[0])
            elif ok and source == "playground" and spec.name not in PLAYGROUND_DATASETS:
                self._push_dataset("name", PLAYGROUND_DATASETS[0])
            # The recipe follows the data: Playground's semantics for its sets, PyTorch's for the rest.
            recipe = "playground" if source == "playground" else "pytorch"
            if ok and self.design.training.recipe != recipe:
                self._push_training("recipe", recipe)
                self._push_training("until_paused", recipe == "playground")  # Playground's Play runs on
        finally:
            stack.endMacro()

    def _set_name(self, name: str) -> None:
        """Choose a dataset; a Playground regression set gets Playground's 1,200 points (classification 500)
        unless the sample count was changed from those defaults."""
        spec = self.design.dataset
        if name == spec.name:
            return
        stack = self.session.undo_stack
        stack.beginMacro("Change dataset")
        try:
            ok = self._push_dataset("name", name)
            if ok and spec.source == "playground" and spec.samples in (500, 1200):
                samples = 1200 if name in PLAYGROUND_REGRESSION else 500
                if samples != spec.samples:
                    self._push_dataset("samples", samples)
        finally:
            stack.endMacro()

    def _features_toggled(self) -> None:
        chosen = tuple(name for name, check in self.feature_boxes.items() if check.isChecked())
        inputs = [layer for layer in self.design.layers.values()
                  if layer.type == "Input" and layer.params.get("mode") == "vector"]
        follow = inputs[0].id if len(inputs) == 1 else None
        self._push(SetInputFeaturesCommand(self.design, chosen, follow))

    def browse_for_data(self) -> None:
        path = self.choose_data_file()
        if path is None:
            return
        base = self.base_dir()
        shown = str(path)
        if base:
            try:
                shown = str(Path(path).resolve().relative_to(Path(base).resolve()))
            except ValueError:
                pass
        data_consent.allow(base, path)  # chosen in the file dialog: that is the user's answer
        suffix = Path(path).suffix.lower()
        stack = self.session.undo_stack
        stack.beginMacro("Choose data file")
        try:
            if suffix in (".csv", ".npz") and self.design.dataset.source != suffix[1:]:
                self._push_dataset("source", suffix[1:])
            self._push_dataset("path", shown)
        finally:
            stack.endMacro()

    def choose_data_file(self) -> str | None:
        """Ask for a CSV or NPZ file (replaced in tests)."""
        start = self.base_dir() or ""
        path, _ = QFileDialog.getOpenFileName(self, "Choose Data File", start,
                                              "Data files (*.csv *.npz);;CSV (*.csv);;NumPy archives (*.npz)")
        return path or None

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

    # ---- preview -----------------------------------------------------------------------------------

    def schedule_preview(self) -> None:
        if self.preview_enabled:
            self._preview_timer.start()

    def refresh_preview(self) -> None:
        self._preview_timer.stop()
        if not data_consent.may_read(self, self.design.dataset, self.base_dir()):
            self.preview.show_message(data_consent.refusal(self.design.dataset, self.base_dir()))
            return
        self.preview.show_message("Loading the data…")
        self.loader.request(self.design.dataset, self.design.copy(), self.base_dir())

    def _on_loaded(self, request: int, dataset: Any, error: str, problems: list) -> None:
        if request != self.loader.latest:
            return
        self.dataset = dataset
        if dataset is None:
            self.preview.show_message(f"The data cannot be loaded:\n{error}")
            self.problems.hide()
            return
        self.preview.show_dataset(dataset)
        self.dataset_loaded.emit(dataset)
        self.preview.setToolTip(f"{dataset.num_train:,} training and {dataset.num_val:,} validation samples")
        self.problems.setText("\n".join(f"● {p}" for p in problems))
        self.problems.setVisible(bool(problems))


def _feature_id(name: str) -> str:
    return name.replace("^2", "_sq").replace("*", "_").replace("(", "_").replace(")", "")
