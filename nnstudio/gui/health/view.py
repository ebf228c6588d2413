"""The Health dock: findings of the run in progress (what, where, why, fix) and a gradient-flow bar chart.

It reads the telemetry the window already draws (`TrainingController.frame_drawn`), keeps a small record
per frame and re-runs the rules of `nnstudio.ml.health` at most once a second.
"""

from __future__ import annotations

import math
import time
from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from nnstudio.ml.health import HealthRecord, diagnose, gradient_flow

DIAGNOSE_EVERY = 1.0  # seconds


class GradientFlowChart(QWidget):
    """Horizontal bars of each parameter layer's gradient norm, log scale; red below 1/1000 of the largest."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values: dict[str, float] = {}
        self.setMinimumHeight(60)

    def sizeHint(self) -> QSize:
        return QSize(320, 24 + 18 * max(1, len(self.values)))

    def set_values(self, values: dict[str, float]) -> None:
        self.values = dict(values)
        self.setMinimumHeight(24 + 18 * max(1, len(self.values)))
        self.update()

    def paintEvent(self, event: Any) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().text().color())
        painter.drawText(QRectF(4, 0, self.width(), 18), Qt.AlignmentFlag.AlignLeft,
                         "Gradient flow: gradient norm per layer (log scale)")
        finite = [v for v in self.values.values() if v > 0 and math.isfinite(v)]
        if not finite:
            return
        lo, hi = math.log10(min(finite)) - 1, math.log10(max(finite))
        span = max(hi - lo, 1e-9)
        label_w = 90
        for i, (name, v) in enumerate(self.values.items()):
            y = 20 + i * 18
            painter.setPen(self.palette().text().color())
            painter.drawText(QRectF(0, y, label_w - 4, 16), Qt.AlignmentFlag.AlignRight, name)
            t = (math.log10(v) - lo) / span if v > 0 and math.isfinite(v) else 0.0
            width = max(1.0, t * (self.width() - label_w - 80))
            weak = v <= max(finite) * 1e-3
            painter.fillRect(QRectF(label_w, y + 2, width, 12), QColor(214, 39, 40) if weak else QColor(31, 119, 180))
            painter.drawText(QRectF(label_w + width + 4, y, 80, 16), Qt.AlignmentFlag.AlignLeft, f"{v:.2e}")


class HealthView(QWidget):
    findings_changed = Signal(list)  # list[Finding]
    layer_chosen = Signal(str)  # a layer name, when a finding about it is activated

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("healthView")
        self.records: list[HealthRecord] = []
        self.failure: str | None = None
        self.findings: list[Any] = []
        self._last = 0.0
        self._last_step = -1
        self.summary = QLabel("Health findings appear while a design trains.", objectName="healthSummary")
        self.summary.setWordWrap(True)
        self.list = QListWidget(objectName="healthFindingsList")
        self.list.setWordWrap(True)
        self.list.itemActivated.connect(self._activated)
        self.list.itemClicked.connect(self._activated)
        self.chart = GradientFlowChart()
        self.chart.setObjectName("healthGradientFlow")
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.chart)

    def reset(self) -> None:
        self.records.clear()
        self.failure = None
        self._last_step = -1
        self._set_findings([])
        self.summary.setText("Training… health findings appear here.")

    def add_telemetry(self, telemetry: Any) -> None:
        if telemetry is None or telemetry.step == self._last_step or telemetry.train_loss is None:
            return
        self._last_step = telemetry.step
        self.records.append(HealthRecord.from_telemetry(telemetry))
        if len(self.records) > 20_000:
            self.records = self.records[:1] + self.records[2::2]
        if time.perf_counter() - self._last >= DIAGNOSE_EVERY or telemetry.reason in ("end", "paused"):
            self.update_findings()

    def finish(self, failure: str | None) -> None:
        self.failure = failure
        self.update_findings()

    def update_findings(self) -> None:
        self._last = time.perf_counter()
        self._set_findings(diagnose(self.records, failure=self.failure))
        self.chart.set_values(gradient_flow(self.records))

    def _set_findings(self, findings: list[Any]) -> None:
        if [f.line for f in findings] == [f.line for f in self.findings] and self.list.count() == len(findings):
            return
        self.findings = findings
        self.list.clear()
        for f in findings:
            where = f"{f.layer}: " if f.layer else ""
            item = QListWidgetItem(f"{'⛔' if f.severity == 'error' else '⚠'} {where}{f.title} — {f.explanation}\n"
                                   f"    Fix: {f.fix}")
            item.setData(Qt.ItemDataRole.UserRole, f.layer)
            item.setToolTip(f.line)
            self.list.addItem(item)
        if self.records:
            self.summary.setText(f"{len(findings)} finding(s) after {self.records[-1].step:,} steps."
                                 if findings else f"No problems found after {self.records[-1].step:,} steps.")
        self.findings_changed.emit(findings)

    def _activated(self, item: QListWidgetItem) -> None:
        layer = item.data(Qt.ItemDataRole.UserRole)
        if layer:
            self.layer_chosen.emit(layer)
