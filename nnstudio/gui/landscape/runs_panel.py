"""The Optimizer Race and Seeds docks: several trainings of the design side by side, drawn live.

Race: 2–4 optimizers / learning rates from the same initial weights; loss curves overlaid and their
paths on one plane (the principal plane of all paths, through the common start), with the loss over
that plane drawn once the race ends. Seeds: the design from N initialisations; where each ends (final
loss and accuracy, decision boundaries side by side for 2-D data) and the loss along the line between
any two. Both run `nnstudio.ml.race.MultiRun` — ordinary Trainers advanced in turns — in a background job.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.settings import OPTIMIZERS

from ..training.colors import boundary_values, qimage_from_rgba, rgba_from_signed, signed_map
from ..training.plot_base import add_curve, make_plot
from .jobs import BackgroundJob, JobContext, error_text
from .plane_plot import PlanePlot

RACE_DEFAULTS = (("sgd", 0.1, True), ("momentum", 0.1, True), ("adam", 0.01, True), ("sgd", 8.0, False))
PATHS_LIMIT = 200_000  # parameters up to which the paths' plane is refitted every turn
CURVE_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


class RunsPanel(QWidget):
    """What the race and the seeds share: controls row, a job running a MultiRun, loss curves."""

    KIND = "runs"

    def __init__(self, views: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.views = views
        self.job: BackgroundJob | None = None
        self.states: list[Any] = []
        self.result: dict[str, Any] = {}
        self.column = QVBoxLayout(self)
        self.controls = QHBoxLayout()
        self.column.addLayout(self.controls)
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName(f"{self.KIND}Start")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName(f"{self.KIND}Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.epochs = QSpinBox()
        self.epochs.setObjectName(f"{self.KIND}Epochs")
        self.epochs.setRange(1, 100_000)
        self.epochs.setValue(50)
        self.progress = QProgressBar()
        self.progress.setObjectName(f"{self.KIND}Progress")
        self.progress.setMaximumWidth(self.fontMetrics().height() * 8)
        self.status = QLabel("")
        self.status.setObjectName(f"{self.KIND}Status")
        self.status.setWordWrap(True)
        self.loss_plot = make_plot(self, f"{self.KIND}LossPlot", x_label="epoch", y_label="validation loss")
        self.loss_plot.getPlotItem().setLogMode(y=True)
        self.loss_plot.getPlotItem().addLegend(offset=(-10, 10))
        self.curves: list[Any] = []

    def end_controls(self) -> None:
        self.controls.addWidget(QLabel("epochs"))
        self.controls.addWidget(self.epochs)
        self.controls.addWidget(self.start_button)
        self.controls.addWidget(self.stop_button)
        self.controls.addWidget(self.progress)
        self.controls.addStretch(1)
        self.column.addWidget(self.status)

    def contenders(self) -> list[Any]:
        raise NotImplementedError

    def start(self) -> bool:
        if self.job is not None:
            return False
        try:
            contenders = self.contenders()
        except Exception as exc:  # noqa: BLE001 - a bad entry is told, not raised
            self.status.setText(error_text(exc))
            return False
        design, base_dir = self.views.design_and_folder()
        epochs = self.epochs.value()
        paths_live = self.KIND == "race"
        landscape_at_end = self.KIND == "race"

        def work(ctx: JobContext) -> Any:
            from nnstudio.ml.race import MultiRun

            runs = MultiRun(design, contenders, base_dir=base_dir, device=design.training.device,
                            record_every=0)
            live = paths_live and runs.start.size <= PATHS_LIMIT

            def on_turn(states: list[Any]) -> None:
                done = sum(s.epochs[-1] if s.epochs else 0 for s in states)
                ctx.progress(done, epochs * len(states))
                post: dict[str, Any] = {"states": copy.deepcopy(states)}
                if live and min(len(r.trajectory) for r in runs.recorders) >= 2:
                    post["paths"] = runs.plane()[2]
                ctx.post(post)

            for recorder in runs.recorders:
                recorder.per_epoch = 4
            runs.run(epochs, epochs_per_turn=None, on_turn=on_turn, cancelled=ctx.cancelled)
            out: dict[str, Any] = {"states": copy.deepcopy(runs.states), "task": runs.task,
                                   "weights": [{n: t.cpu().numpy() for n, t in runs.weights(i).items()}
                                               for i in range(len(contenders))]}
            if landscape_at_end and not ctx.cancelled():
                out["landscape"], out["paths"] = runs.landscape(grid=31, progress=None, cancelled=ctx.cancelled)
            return out

        self.clear_curves()
        job = BackgroundJob(work, name=f"nnstudio-{self.KIND}", parent=self)
        job.progressed.connect(lambda done, total: (self.progress.setRange(0, total), self.progress.setValue(done)))
        job.posted.connect(self.show_turn)
        job.done.connect(self._finished)
        self.job = job
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.status.setText(f"Training {len(contenders)} runs side by side…")
        job.start()
        return True

    def stop(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def clear_curves(self) -> None:
        for curve in self.curves:
            self.loss_plot.removeItem(curve)
        legend = self.loss_plot.getPlotItem().legend
        if legend is not None:
            legend.clear()
        self.curves = []

    def show_turn(self, post: dict[str, Any]) -> None:
        self.states = post["states"]
        while len(self.curves) < len(self.states):
            i = len(self.curves)
            self.curves.append(add_curve(self.loss_plot, self.states[i].label, CURVE_COLOURS[i % len(CURVE_COLOURS)]))
        for curve, state in zip(self.curves, self.states, strict=True):
            losses = np.array([v if math.isfinite(v) and v > 0 else np.nan for v in state.val_loss])
            curve.setData(np.asarray(state.epochs, dtype=float), losses)

    def _finished(self, result: Any, error: Any) -> None:
        job, self.job = self.job, None
        if job is not None:
            job.wait()
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        if error is not None:
            self.status.setText(f"Could not run: {error_text(error)}")
            return
        self.result = result
        self.show_turn(result)
        self.finished(result)

    def finished(self, result: dict[str, Any]) -> None:
        self.status.setText(summary(result["states"]))

    def shutdown(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.job.wait(30)


def summary(states: list[Any]) -> str:
    parts = []
    for s in states:
        if s.status == "diverged":
            parts.append(f"{s.label}: diverged at epoch {s.epochs[-1] if s.epochs else 1}")
            continue
        text = f"{s.label}: loss {s.final_loss:.4g}" if s.final_loss is not None else f"{s.label}: no loss"
        if s.rising:
            first = next(v for v in s.val_loss if math.isfinite(v))
            text += f" (rose from {first:.3g}: diverging)"
        if s.final_accuracy is not None:
            text += f", accuracy {s.final_accuracy:.3f}"
        parts.append(text + ("" if s.status == "done" else f" ({s.status})"))
    return "; ".join(parts) + "."


class RacePanel(RunsPanel):
    KIND = "race"

    def __init__(self, views: Any, parent: QWidget | None = None) -> None:
        super().__init__(views, parent)
        self.setObjectName("racePanel")
        grid = QGridLayout()
        self.rows: list[tuple[QCheckBox, QComboBox, QDoubleSpinBox]] = []
        for i, (name, lr, on) in enumerate(RACE_DEFAULTS):
            check = QCheckBox()
            check.setObjectName(f"raceEnabled{i}")
            check.setChecked(on)
            combo = QComboBox()
            combo.setObjectName(f"raceOptimizer{i}")
            for option in OPTIMIZERS:
                combo.addItem(option, option)
            combo.setCurrentIndex(OPTIMIZERS.index(name))
            rate = QDoubleSpinBox()
            rate.setObjectName(f"raceRate{i}")
            rate.setDecimals(5)
            rate.setRange(1e-5, 10.0)
            rate.setValue(lr)
            swatch = QLabel("■")
            swatch.setStyleSheet(f"color: {CURVE_COLOURS[i]}")
            grid.addWidget(check, i, 0)
            grid.addWidget(swatch, i, 1)
            grid.addWidget(combo, i, 2)
            grid.addWidget(rate, i, 3)
            self.rows.append((check, combo, rate))
        self.end_controls()
        # The contenders in a column at the left (one row each), the curves and the plane beside it.
        self.column.removeItem(self.controls)
        self.column.removeWidget(self.status)
        side = QWidget()
        side_column = QVBoxLayout(side)
        side_column.setContentsMargins(0, 0, 0, 0)
        side_column.addLayout(grid)
        side_column.addLayout(self.controls)
        self.status.setFixedWidth(self.fontMetrics().height() * 18)
        side_column.addWidget(self.status, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(side)
        splitter.addWidget(self.loss_plot)
        self.plane = PlanePlot(self, "racePathsPlot")
        self.plane.widget.getPlotItem().setLabel("bottom", "principal direction 1 of the paths")
        self.plane.widget.getPlotItem().setLabel("left", "principal direction 2")
        splitter.addWidget(self.plane.widget)
        grid.setColumnStretch(2, 1)
        em = self.fontMetrics().height()
        splitter.setSizes([em * 20, em * 30, em * 30])
        self.column.addWidget(splitter, 1)
        self.status.setText("Race optimizers from the same initial weights: tick 2–4, set their rates, Start.")

    def contenders(self) -> list[Any]:
        from nnstudio.core.errors import NNStudioError
        from nnstudio.ml.race import race_contenders

        chosen = [(combo.currentData(), rate.value()) for check, combo, rate in self.rows if check.isChecked()]
        if not 1 <= len(chosen) <= 4:
            raise NNStudioError("tick one to four optimizers to race")
        return race_contenders(chosen)

    def clear_curves(self) -> None:
        super().clear_curves()
        self.plane.clear()

    def show_turn(self, post: dict[str, Any]) -> None:
        super().show_turn(post)
        paths = post.get("paths")
        if paths is not None:
            for i, (state, coords) in enumerate(zip(self.states, paths, strict=True)):
                self.plane.set_path(state.label, coords, colour=CURVE_COLOURS[i % len(CURVE_COLOURS)])
            self.plane.set_current((0.0, 0.0))

    def finished(self, result: dict[str, Any]) -> None:
        landscape = result.get("landscape")
        if landscape is not None:
            self.plane.set_surface(landscape.xs, landscape.ys, landscape.losses)
            self.show_turn(result)
        super().finished(result)


class SeedsPanel(RunsPanel):
    KIND = "seeds"

    def __init__(self, views: Any, parent: QWidget | None = None) -> None:
        super().__init__(views, parent)
        self.setObjectName("seedsPanel")
        self.controls.addWidget(QLabel("seeds"))
        self.count = QSpinBox()
        self.count.setObjectName("seedsCount")
        self.count.setRange(2, 8)
        self.count.setValue(4)
        self.controls.addWidget(self.count)
        self.controls.addWidget(QLabel("from"))
        self.first = QSpinBox()
        self.first.setObjectName("seedsFirst")
        self.first.setRange(0, 2**31 - 9)
        self.controls.addWidget(self.first)
        self.epochs.setValue(100)
        self.end_controls()
        self.table = QTableWidget(0, 4)
        self.table.setObjectName("seedsTable")
        self.table.setHorizontalHeaderLabels(["run", "validation loss", "accuracy", "status"])
        self.table.verticalHeader().setVisible(False)
        self.boundaries = QWidget()
        self.boundaries.setObjectName("seedsBoundaries")
        self.boundary_row = QHBoxLayout(self.boundaries)
        self.boundary_labels: list[QLabel] = []
        line_row = QHBoxLayout()
        self.pick_a = QComboBox()
        self.pick_a.setObjectName("seedsLineA")
        self.pick_b = QComboBox()
        self.pick_b.setObjectName("seedsLineB")
        self.line_button = QPushButton("Loss along the line")
        self.line_button.setObjectName("seedsInterpolate")
        self.line_button.clicked.connect(lambda: self.interpolate())
        for widget in (QLabel("from"), self.pick_a, QLabel("to"), self.pick_b, self.line_button):
            line_row.addWidget(widget)
        line_row.addStretch(1)
        self.line_plot = make_plot(self, "seedsLinePlot", x_label="α (0 = first run, 1 = second)", y_label="loss")
        self.line_curve = add_curve(self.line_plot, "line", "#1f77b4")
        self.line_ends = pg.ScatterPlotItem(size=9, brush=pg.mkBrush("#ff3030"))
        self.line_plot.addItem(self.line_ends)
        left = QWidget()
        left_column = QVBoxLayout(left)
        left_column.setContentsMargins(0, 0, 0, 0)
        left_column.addWidget(self.table, 1)
        left_column.addWidget(self.boundaries)
        right = QWidget()
        right_column = QVBoxLayout(right)
        right_column.setContentsMargins(0, 0, 0, 0)
        right_column.addLayout(line_row)
        right_column.addWidget(self.line_plot, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.loss_plot)
        splitter.addWidget(right)
        self.column.addWidget(splitter, 1)
        self.line_job: BackgroundJob | None = None
        self.status.setText("Train the design from several initialisations and see where each one ends.")

    def contenders(self) -> list[Any]:
        from nnstudio.ml.race import seed_contenders

        return seed_contenders(self.count.value(), self.first.value())

    def show_turn(self, post: dict[str, Any]) -> None:
        super().show_turn(post)
        self.table.setRowCount(len(self.states))
        for row, state in enumerate(self.states):
            loss = state.final_loss
            acc = state.final_accuracy
            cells = [state.label, f"{loss:.4g}" if loss is not None else "–",
                     f"{acc:.3f}" if acc is not None else "–", state.status]
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))

    def finished(self, result: dict[str, Any]) -> None:
        super().finished(result)
        labels = [s.label for s in result["states"]]
        for combo, index in ((self.pick_a, 0), (self.pick_b, 1)):
            combo.clear()
            combo.addItems(labels)
            combo.setCurrentIndex(min(index, len(labels) - 1))
        for label in self.boundary_labels:
            self.boundary_row.removeWidget(label)
            label.deleteLater()
        self.boundary_labels = []
        size = self.fontMetrics().height() * 7
        for i, state in enumerate(result["states"]):
            if state.boundary is None:
                continue
            values = signed_map(boundary_values(np.asarray(state.boundary), result["task"]))
            pixmap = QPixmap.fromImage(qimage_from_rgba(rgba_from_signed(values)))
            label = QLabel()
            label.setObjectName(f"seedsBoundary{i}")
            label.setPixmap(pixmap.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.SmoothTransformation))
            label.setToolTip(f"{state.label}: the decision boundary where it ended")
            label.setStyleSheet(f"border: 2px solid {CURVE_COLOURS[i % len(CURVE_COLOURS)]}")
            self.boundary_row.addWidget(label)
            self.boundary_labels.append(label)

    def interpolate(self, a: int | None = None, b: int | None = None) -> bool:
        weights = self.result.get("weights")
        if not weights or self.line_job is not None:
            return False
        a = self.pick_a.currentIndex() if a is None else a
        b = self.pick_b.currentIndex() if b is None else b
        if a == b or min(a, b) < 0:
            self.status.setText("Choose two different runs for the line.")
            return False
        design, base_dir = self.views.design_and_folder()
        wa, wb = weights[a], weights[b]

        def work(ctx: JobContext) -> Any:
            import torch

            from nnstudio.ml.landscape import LossProblem, interpolate
            from nnstudio.ml.trainer import Trainer

            trainer = Trainer(design, base_dir=base_dir, device=design.training.device, publish_hz=0,
                              cuda_graphs="off")
            problem = LossProblem.from_trainer(trainer)
            to_t = lambda w: {n: torch.as_tensor(v) for n, v in w.items()}  # noqa: E731
            return interpolate(problem, to_t(wa), to_t(wb), progress=ctx.progress, cancelled=ctx.cancelled)

        job = BackgroundJob(work, name="nnstudio-seeds-line", parent=self)
        job.done.connect(lambda line, error: self._line_done(line, error, a, b))
        self.line_job = job
        job.start()
        return True

    def _line_done(self, line: Any, error: Any, a: int, b: int) -> None:
        job, self.line_job = self.line_job, None
        if job is not None:
            job.wait()
        if error is not None:
            self.status.setText(f"Could not interpolate: {error_text(error)}")
            return
        self.line_curve.setData(line.alphas, line.losses)
        self.line_ends.setData([0.0, 1.0], [line.loss_a, line.loss_b])
        names = [s.label for s in self.result["states"]]
        self.status.setText(f"From {names[a]} (training loss {line.loss_a:.4g}) to {names[b]} ({line.loss_b:.4g}): "
                            f"the line rises {line.barrier:.4g} above the worse end — "
                            + ("a barrier between two minima." if line.barrier > 1e-3 else "no barrier between them."))

    def shutdown(self) -> None:
        super().shutdown()
        if self.line_job is not None:
            self.line_job.cancel()
            self.line_job.wait(10)
