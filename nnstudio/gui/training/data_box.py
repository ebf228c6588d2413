"""The Data box of the training panel: source, dataset, samples, noise and split sliders, features, file and preview.

A mixin of `TrainingPanel`: every edit is an undo command on the document (`SetDatasetCommand`,
`SetInputFeaturesCommand`, and a training recipe that follows the data); the preview loads the chosen
data in the background (`preview.DatasetLoader`) shortly after the last edit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.settings import (
    BUILTIN_DATASETS,
    DATASET_FIELDS,
    GENERATED_BUILTINS,
    PLAYGROUND_DATASETS,
    PLAYGROUND_FEATURES,
    PLAYGROUND_REGRESSION,
)

from ..base import data_consent
from ..base.theme import canvas_colours
from ..editor.commands import SetDatasetCommand, SetInputFeaturesCommand
from .preview import DatasetLoader, DatasetPreview

if TYPE_CHECKING:
    from nnstudio.core import Design

    from ..editor.session import DesignSession

SOURCES = (("playground", "Playground (2-D)"), ("builtin", "Built-in"), ("csv", "CSV file"), ("npz", "NPZ file"))
DATASET_TITLES = {
    "circle": "Circle", "xor": "Exclusive or", "gauss": "Gaussian", "spiral": "Spiral",
    "reg-plane": "Plane (regression)", "reg-gauss": "Multi Gaussian (regression)", "iris": "Iris flowers",
    "wine": "Wine", "breast_cancer": "Breast cancer", "diabetes": "Diabetes (regression)",
    "digits": "Handwritten digits 8×8", "shapes": "Coloured shapes 32×32",
}
FEATURE_TITLES = {"x1": "X₁", "x2": "X₂", "x1^2": "X₁²", "x2^2": "X₂²", "x1*x2": "X₁X₂", "sin(x1)": "sin(X₁)",
                  "sin(x2)": "sin(X₂)"}
_PREVIEW_DELAY_MS = 150


class DataBox:
    """The Data box (mixed into `TrainingPanel`, a QScrollArea)."""

    session: DesignSession
    base_dir: Callable[[], str | None]
    design: Design
    dataset_loaded: Any  # SignalInstance
    _push: Callable[[Any], bool]
    _push_training: Callable[[str, Any], bool]
    show_message: Callable[..., None]
    fontMetrics: Callable[[], Any]

    def _init_preview(self) -> None:
        self.loader = DatasetLoader(self)
        self.loader.loaded.connect(self._on_loaded)
        self.dataset: Any = None  # the last dataset the preview loaded
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(_PREVIEW_DELAY_MS)
        self._preview_timer.timeout.connect(self.refresh_preview)
        self.preview_enabled = False  # set once the window is on screen

    def _push_dataset(self, key: str, value: Any) -> bool:
        return self._push(SetDatasetCommand(self.design, key, value))

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

    def _show_dataset(self) -> None:
        """Show the design's dataset settings (without pushing anything) and the rows that apply."""
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
