"""Editors built from `ParamSpec` schemas: one form row per value, with its help as tooltip and hint.

The inspector uses it for layer parameters; the same form serves dataset and training settings, whose
fields are described by `ParamSpec`s too.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core import ParamSpec
from nnstudio.core.catalogue import ACTIVATION_TITLES

from ..base.theme import mix
from ..base.wheel_guard import WheelGuard, guard_control


def heading_label(text: str) -> QLabel:
    """A bold section heading for the inspector and the training panel."""
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label

_INT_LIMIT = 2**31 - 1


class _DoubleSpinBox(QDoubleSpinBox):
    """Shows 0.5 rather than 0.5000."""

    def textFromValue(self, value: float) -> str:
        text = self.locale().toString(float(value), "f", self.decimals())
        point = self.locale().decimalPoint()
        if point in text:
            text = text.rstrip("0").rstrip(point)
        return text


def _number(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def hint_text(spec: ParamSpec) -> str:
    """The help line shown under an editor, with the allowed range for numbers."""
    text = spec.help
    if spec.kind in ("int", "float") and spec.minimum is not None and spec.maximum is not None:
        text += f" ({_number(spec.minimum)} – {_number(spec.maximum)})"
    return text


def choice_title(spec: ParamSpec, value: str) -> str:
    if spec.name in ("activation", "function"):
        return ACTIVATION_TITLES.get(value, value)
    return value.replace("_", " ")


class ParamForm(QWidget):
    """A form for a dictionary of values described by ParamSpecs; `edited(key, value)` on user changes."""

    edited = Signal(str, object)

    def __init__(self, specs: dict[str, ParamSpec], values: dict[str, Any], object_prefix: str = "param_",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.specs = specs
        self.editors: dict[str, QWidget] = {}
        self.hints: dict[str, QLabel] = {}
        self._rows: dict[str, int] = {}
        self._guard = WheelGuard(self)
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        hint_colour = mix(self.palette().base().color(), self.palette().text().color(), 0.6)
        for key, spec in specs.items():
            editor = self._make_editor(spec)
            editor.setObjectName(f"{object_prefix}{key}")
            editor.setToolTip(spec.help)
            guard_control(editor, self._guard)
            hint = QLabel(hint_text(spec))
            hint.setObjectName(f"{object_prefix}{key}_hint")
            hint.setWordWrap(True)
            font = hint.font()
            font.setPointSizeF(font.pointSizeF() * 0.88)
            hint.setFont(font)
            hint.setStyleSheet(f"color: {hint_colour.name()}")
            field = QWidget()
            column = QVBoxLayout(field)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(max(1, self.fontMetrics().height() // 6))
            column.addWidget(editor)
            column.addWidget(hint)
            label = QLabel(spec.title)
            label.setToolTip(spec.help)
            label.setBuddy(editor)
            self._rows[key] = self.form.rowCount()
            self.form.addRow(label, field)
            self.editors[key] = editor
            self.hints[key] = hint
        self.set_values(values)

    def _make_editor(self, spec: ParamSpec) -> QWidget:
        key = spec.name
        if spec.kind == "int":
            box = QSpinBox()
            lo = int(spec.minimum) if spec.minimum is not None else -_INT_LIMIT
            hi = int(spec.maximum) if spec.maximum is not None else _INT_LIMIT
            box.setRange(max(lo, -_INT_LIMIT), min(hi, _INT_LIMIT))
            box.setGroupSeparatorShown(hi >= 10_000)
            box.setAccelerated(True)
            box.valueChanged.connect(lambda v, k=key: self.edited.emit(k, int(v)))
            return box
        if spec.kind == "float":
            box = _DoubleSpinBox()
            lo = spec.minimum if spec.minimum is not None else -1e12
            hi = spec.maximum if spec.maximum is not None else 1e12
            # Enough decimals that the smallest allowed value is representable (1e-6 for learning rates).
            box.setDecimals(max(3, math.ceil(-math.log10(lo))) if 0 < lo < 1 else 3)
            box.setRange(lo, hi)
            box.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType if spec.log_scale
                            else QDoubleSpinBox.StepType.DefaultStepType)
            box.setSingleStep(0.05 if hi - lo <= 1 else 0.1)
            box.valueChanged.connect(lambda v, k=key: self.edited.emit(k, float(v)))
            return box
        if spec.kind == "bool":
            box = QCheckBox(self.tr("Enabled"))
            box.toggled.connect(lambda v, k=key: self.edited.emit(k, bool(v)))
            return box
        if spec.kind == "choice":
            box = QComboBox()
            for choice in spec.choices:
                box.addItem(choice_title(spec, choice), choice)
            box.activated.connect(lambda i, k=key, b=box: self.edited.emit(k, b.itemData(i)))
            return box
        line = QLineEdit()
        line.setMaxLength(spec.max_length)
        line.editingFinished.connect(lambda k=key, e=line: self.edited.emit(k, e.text()))
        return line

    def set_values(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            self.set_value(key, value)

    def set_value(self, key: str, value: Any) -> None:
        """Show a value without emitting `edited` (the document changed, not the user)."""
        editor = self.editors.get(key)
        if editor is None:
            return
        editor.blockSignals(True)
        try:
            if isinstance(editor, QSpinBox):
                if editor.value() != value:
                    editor.setValue(int(value))
            elif isinstance(editor, QDoubleSpinBox):
                if abs(editor.value() - float(value)) > 1e-12:
                    editor.setValue(float(value))
            elif isinstance(editor, QCheckBox):
                editor.setChecked(bool(value))
            elif isinstance(editor, QComboBox):
                editor.setCurrentIndex(max(0, editor.findData(value)))
            elif isinstance(editor, QLineEdit):
                if editor.text() != value:
                    editor.setText(str(value))
        finally:
            editor.blockSignals(False)

    def set_row_visible(self, key: str, visible: bool) -> None:
        if key in self._rows:
            self.form.setRowVisible(self._rows[key], visible)

    def editor(self, key: str) -> QWidget:
        return self.editors[key]
