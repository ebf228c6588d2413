"""The sweep view: each run of a sweep as a point, its swept setting across, its final validation figure up.

A number setting is placed at its value (log axis for learning rates); a choice (optimizer, activation)
at one column per choice. A second swept setting colours the points, named in the legend.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from nnstudio.runs import RunRecord

from .compare import PALETTE


def sweep_axes(runs: list[RunRecord]) -> list[str]:
    """The settings a sweep varied, in the order its runs list them."""
    keys: list[str] = []
    for run in runs:
        for key in run.changes:
            if key not in keys:
                keys.append(key)
    return [k for k in keys if len({repr(r.changes.get(k)) for r in runs}) > 1] or keys


class SweepScatter(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runsSweepView")
        self.metric = QComboBox()
        self.metric.setObjectName("runsSweepMetric")
        self.metric.addItem("Validation accuracy", "val_accuracy")
        self.metric.addItem("Validation loss", "val_loss")
        self.metric.currentIndexChanged.connect(lambda _i: self._draw())
        self.title = QLabel("Select a run of a sweep to see the whole sweep here.")
        self.title.setObjectName("runsSweepTitle")
        top = QHBoxLayout()
        top.addWidget(self.metric)
        top.addWidget(self.title, 1)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(4, 4, 4, 4)
        self._layout.addLayout(top)
        self.plot: Any = None
        self.points: list[tuple[float, float, str]] = []  # what was drawn: x, y, colour group
        self._runs: list[RunRecord] = []

    def set_sweep(self, runs: list[RunRecord]) -> None:
        self._runs = [r for r in runs if r.status in ("finished", "stopped")]
        self._draw()

    def _draw(self) -> None:
        runs = self._runs
        if not runs:
            self.points = []
            if self.plot is not None:
                self.plot.clear()
            return
        import pyqtgraph as pg

        if self.plot is None:
            self.plot = pg.PlotWidget()
            self.plot.setObjectName("runsSweepPlot")
            self.plot.setBackground(self.palette().base().color())
            self.plot.showGrid(x=True, y=True, alpha=0.25)
            for side in ("left", "bottom"):
                self.plot.getAxis(side).enableAutoSIPrefix(False)
            self.plot.addLegend(offset=(-10, 10), labelTextColor=self.palette().text().color(),
                                brush=self.palette().base().color())
            self._layout.addWidget(self.plot, 1)
        self.plot.clear()
        self.plot.plotItem.legend.clear()
        key = self.metric.currentData()
        axes = [k for k in sweep_axes(runs) if k != "training.seed"] or sweep_axes(runs)
        x_key = axes[0] if axes else ""
        colour_key = axes[1] if len(axes) > 1 else ""
        values = [r.changes.get(x_key) for r in runs]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        log_x = numeric and "learning_rate" in x_key and all(v > 0 for v in values)
        choices = sorted({str(v) for v in values})
        groups = sorted({str(r.changes.get(colour_key, "")) for r in runs})
        self.points = []
        for g, group in enumerate(groups):
            xs, ys = [], []
            for run, value in zip(runs, values, strict=True):
                y = getattr(run, key)
                if str(run.changes.get(colour_key, "")) != group or y is None:
                    continue
                x = (math.log10(value) if log_x else float(value)) if numeric else float(choices.index(str(value)))
                xs.append(x)
                ys.append(y)
                self.points.append((x, y, group))
            colour = PALETTE[g % len(PALETTE)]
            name = f"{colour_key.rsplit('.', 1)[-1]}={group}" if colour_key else None
            self.plot.plot(xs, ys, pen=None, symbol="o", symbolSize=9, symbolBrush=colour, symbolPen=colour,
                           name=name)
        bottom = self.plot.getAxis("bottom")
        if not numeric:
            bottom.setTicks([list(enumerate(choices))])
        elif log_x:  # placed on a log scale, labelled with the values themselves
            bottom.setTicks([[(math.log10(v), f"{v:g}") for v in sorted(set(values))]])
        else:
            bottom.setTicks(None)
        label = x_key.rsplit(".", 1)[-1] + (" (log scale)" if log_x else "")
        self.plot.setLabel("bottom", label)
        self.plot.setLabel("left", self.metric.currentText())
        self.title.setText(f"{len(runs)} run(s) of the sweep: {label} → final {self.metric.currentText().lower()}")
