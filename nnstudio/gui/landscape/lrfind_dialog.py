"""Train ▸ Find Learning Rate: Smith's range test in a window of its own, and one click to apply the rate.

The test runs in a background job from the current weights (the trained ones when they fit the design,
else the design's initial weights for its seed); those weights are never changed. The smoothed loss is
plotted against the rate (log axis) with the steepest descent, fastai's valley and the suggestion
marked; Apply sets the suggested rate as an undoable edit of the training settings.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from nnstudio.core.settings import TRAINING_FIELDS

from ..training.plot_base import add_curve, make_plot
from .jobs import BackgroundJob, JobContext, error_text


class LRFinderDialog(QDialog):
    def __init__(self, views: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lrFinderDialog")
        self.setWindowTitle("Find Learning Rate")
        self.views = views
        self.job: BackgroundJob | None = None
        self.result: Any = None
        column = QVBoxLayout(self)
        self.status = QLabel("")
        self.status.setObjectName("lrFinderStatus")
        self.status.setWordWrap(True)
        column.addWidget(self.status)
        self.plot = make_plot(self, "lrFinderPlot", x_label="learning rate", y_label="loss")
        self.plot.getPlotItem().setLogMode(x=True)
        self.plot.getPlotItem().addLegend(offset=(10, 10))
        self.raw = add_curve(self.plot, "batch loss", "#b0b0b0")
        self.curve = add_curve(self.plot, "smoothed loss", "#1f77b4")
        self.markers: dict[str, pg.InfiniteLine] = {}
        for key, colour, style, height in (("steepest", "#2ca02c", Qt.PenStyle.DashLine, 0.78),
                                           ("valley", "#9467bd", Qt.PenStyle.DotLine, 0.86),
                                           ("suggestion", "#d62728", Qt.PenStyle.SolidLine, 0.94)):
            line = pg.InfiniteLine(angle=90, pen=pg.mkPen(colour, width=2, style=style), label=key,
                                   labelOpts={"position": height, "color": colour})
            line.setVisible(False)
            self.plot.addItem(line)
            self.markers[key] = line
        column.addWidget(self.plot, 1)
        row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setObjectName("lrFinderProgress")
        row.addWidget(self.progress, 1)
        self.run_button = QPushButton("Run Again")
        self.run_button.setObjectName("lrFinderRun")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("lrFinderCancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.apply_button = QPushButton("Apply")
        self.apply_button.setObjectName("lrFinderApply")
        self.apply_button.setEnabled(False)
        self.apply_button.clicked.connect(self.apply)
        close = QPushButton("Close")
        close.setObjectName("lrFinderClose")
        close.clicked.connect(self.close)
        for button in (self.run_button, self.cancel_button, self.apply_button, close):
            row.addWidget(button)
        column.addLayout(row)
        em = self.fontMetrics().height()
        self.resize(em * 48, em * 30)

    def run(self) -> bool:
        if self.job is not None:
            return False
        design, base_dir = self.views.design_and_folder()
        state = self.views.controller.trained
        weights = state.weights if state is not None and state.fits(design) else None
        start = "the trained weights" if weights is not None else "the design's initial weights"

        def work(ctx: JobContext) -> Any:
            from nnstudio.ml.lrfind import find_learning_rate

            return find_learning_rate(design, weights=weights, base_dir=base_dir, device=design.training.device,
                                      progress=ctx.progress, cancelled=ctx.cancelled)

        job = BackgroundJob(work, name="nnstudio-lr-find", parent=self)
        job.progressed.connect(lambda done, total: (self.progress.setRange(0, total), self.progress.setValue(done)))
        job.done.connect(self._finished)
        self.job = job
        self.apply_button.setEnabled(False)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText(f"Sweeping the learning rate from 1e-6 to 10 from {start} "
                            f"(a copy: the network's weights stay as they are)…")
        job.start()
        return True

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _finished(self, result: Any, error: Any) -> None:
        job, self.job = self.job, None
        if job is not None:
            job.wait()
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if error is not None:
            self.status.setText(f"The range test failed: {error_text(error)}")
            return
        self.show_result(result)

    def show_result(self, result: Any) -> None:
        self.result = result
        lrs = np.asarray(result.learning_rates, dtype=np.float64)

        def finite(values: list[float]) -> np.ndarray:
            return np.array([v if math.isfinite(v) else np.nan for v in values], dtype=np.float64)

        self.raw.setData(lrs, finite(result.losses))
        self.curve.setData(lrs, finite(result.smoothed))
        top = np.nanmax(finite(result.smoothed)) if len(lrs) else 1.0
        low = np.nanmin(finite(result.smoothed)) if len(lrs) else 0.0
        self.plot.getPlotItem().setYRange(low - 0.05 * (top - low), top + 0.1 * (top - low))
        for key, value in (("steepest", result.steepest), ("valley", result.valley),
                           ("suggestion", result.suggestion)):
            line = self.markers[key]
            line.setVisible(value is not None)
            if value is not None:
                line.setValue(math.log10(value))
        ending = (f"stopped at {result.stopped_at:.3g} when the loss diverged" if result.diverged
                  else f"reached {result.stopped_at:.3g} without diverging")
        suggestion = result.suggestion
        self.apply_button.setEnabled(suggestion is not None)
        self.status.setText(
            f"{result.iterations} steps, {ending}. Lowest smoothed loss at {_fmt(result.minimum_lr)}; steepest "
            f"descent at {_fmt(result.steepest)}; valley at {_fmt(result.valley)}. Suggested learning rate: "
            f"{_fmt(suggestion)} ({result.suggested_by})." + "".join(f" Note: {n}." for n in result.notes))

    def apply(self) -> bool:
        """Set the suggested rate as one undoable edit; True when the design changed."""
        if self.result is None or self.result.suggestion is None:
            return False
        spec = TRAINING_FIELDS["learning_rate"]
        value = float(min(max(self.result.suggestion, spec.minimum), spec.maximum))
        value = float(f"{value:.3g}")  # a rate a person can read back
        return self.views.set_learning_rate(value)

    def closeEvent(self, event: Any) -> None:
        self.cancel()
        super().closeEvent(event)

    def shutdown(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.job.wait(30)


def _fmt(value: float | None) -> str:
    return f"{value:.3g}" if value is not None else "none"
