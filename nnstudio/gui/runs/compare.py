"""Comparing selected runs: their curves overlaid on one axes with a legend, and a diff of their settings.

pyqtgraph is imported only when the curves are first drawn (the window's first paint never waits for it).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nnstudio.runs import EpochRecord, RunRecord

from .model import run_label

METRICS = (("val_loss", "Validation loss"), ("train_loss", "Training loss"), ("val_accuracy", "Validation accuracy"),
           ("train_accuracy", "Training accuracy"), ("learning_rate", "Learning rate"), ("grad_norm", "Gradient norm"))
# Distinct, colour-blind-friendly pens (Okabe–Ito), then pyqtgraph's own hues.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
MAX_CURVES = 12


class RunCurves(QWidget):
    """One curve per selected run, on shared axes, named in the legend."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runsCurves")
        self.metric = QComboBox()
        self.metric.setObjectName("runsCurveMetric")
        for key, label in METRICS:
            self.metric.addItem(label, key)
        self.metric.currentIndexChanged.connect(lambda _i: self._draw())
        self.hint = QLabel("Select runs in the table to overlay their curves.")
        self.hint.setObjectName("runsCurvesHint")
        top = QHBoxLayout()
        top.addWidget(QLabel("Show"))
        top.addWidget(self.metric)
        top.addStretch(1)
        top.addWidget(self.hint)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(4, 4, 4, 4)
        self._layout.addLayout(top)
        self.plot: Any = None
        self.legend: Any = None
        self.items: list[Any] = []
        self._runs: list[tuple[RunRecord, list[EpochRecord]]] = []

    def _ensure_plot(self) -> None:
        if self.plot is not None:
            return
        import pyqtgraph as pg

        self.plot = pg.PlotWidget()
        self.plot.setObjectName("runsCurvesPlot")
        self.plot.setBackground(self.palette().base().color())
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setLabel("bottom", "epoch")
        for side in ("left", "bottom"):
            self.plot.getAxis(side).enableAutoSIPrefix(False)  # "loss (x0.001)" reads badly
        self.legend = self.plot.addLegend(offset=(-10, 10), labelTextColor=self.palette().text().color(),
                                          brush=self.palette().base().color())
        self._layout.addWidget(self.plot, 1)

    def set_runs(self, runs: list[tuple[RunRecord, list[EpochRecord]]]) -> None:
        self._runs = runs[:MAX_CURVES]
        self._draw()

    def _draw(self) -> None:
        key = self.metric.currentData()
        if not self._runs and self.plot is None:
            return
        self._ensure_plot()
        import pyqtgraph as pg

        for item in self.items:
            self.plot.removeItem(item)
        self.items = []
        self.legend.clear()
        for i, (run, history) in enumerate(self._runs):
            points = [(h.epoch, getattr(h, key)) for h in history if getattr(h, key) is not None]
            if not points:
                continue
            xs, ys = zip(*points, strict=True)
            pen = pg.mkPen(PALETTE[i % len(PALETTE)], width=2)
            item = self.plot.plot(list(xs), list(ys), pen=pen, name=run_label(run), symbol="o" if len(xs) < 3 else None,
                                  symbolSize=5, symbolBrush=PALETTE[i % len(PALETTE)])
            self.items.append(item)
        self.plot.setLabel("left", dict(METRICS)[key])
        self.hint.setText(f"{len(self.items)} run(s)" if self.items else "No values of this kind in these runs.")


def flat_settings(run: RunRecord) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for section in ("training", "dataset"):
        for key, value in run.settings.get(section, {}).items():
            out[f"{section}.{key}"] = value
    out["network"] = network_hash(run.design_json)
    out["device"] = run.device
    return out


def network_hash(design_json: str) -> str:
    """A short hash of the layers and connections alone (the settings are compared one by one)."""
    import hashlib
    import json

    try:
        data = json.loads(design_json)
        layers = [{k: layer.get(k) for k in ("type", "name", "params")} for layer in data.get("layers", [])]
        text = json.dumps({"layers": layers, "connections": data.get("connections", [])}, sort_keys=True)
    except (ValueError, AttributeError, TypeError):
        text = design_json
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]


class SettingsDiff(QWidget):
    """Settings of the selected runs side by side: only those that differ, unless asked for all."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runsSettingsDiff")
        self.show_all = QCheckBox("Show settings that are the same")
        self.show_all.setObjectName("runsDiffShowAll")
        self.show_all.toggled.connect(lambda _on: self._fill())
        self.table = QTableWidget()
        self.table.setObjectName("runsDiffTable")
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.show_all)
        layout.addWidget(self.table, 1)
        self._runs: list[RunRecord] = []

    def set_runs(self, runs: list[RunRecord]) -> None:
        self._runs = list(runs)
        self._fill()

    def differing(self) -> dict[str, list[Any]]:
        """Setting → its value in each selected run, for the settings whose values are not all equal."""
        flats = [flat_settings(r) for r in self._runs]
        keys = sorted({k for f in flats for k in f})
        rows = {k: [f.get(k) for f in flats] for k in keys}
        if self.show_all.isChecked():
            return rows
        return {k: v for k, v in rows.items() if len({repr(x) for x in v}) > 1}

    def _fill(self) -> None:
        rows = self.differing()
        self.table.clear()
        self.table.setColumnCount(len(self._runs))
        self.table.setRowCount(len(rows))
        self.table.setHorizontalHeaderLabels([run_label(r) for r in self._runs])
        self.table.setVerticalHeaderLabels(list(rows))
        for r, values in enumerate(rows.values()):
            differ = len({repr(x) for x in values}) > 1
            for c, value in enumerate(values):
                text = "–" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
                item = QTableWidgetItem(text)
                if differ:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
