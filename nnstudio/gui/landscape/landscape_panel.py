"""The Landscape dock: the loss over a plane through the current weights, with the training path on it.

Compute takes the window's trained weights (paused or idle), builds the loss on the training device
in a background job with progress and cancel, and draws heatmap + contours. While training goes on,
the recorded path keeps being projected onto that plane, and its newest point is the current point.
A second tab draws the 1-D interpolation from the current weights to a checkpoint's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..training.plot_base import add_curve, make_plot
from .jobs import BackgroundJob, JobContext, error_text
from .plane_plot import PlanePlot

LIVE_MS = 250
LIVE_PARAMETERS = 200_000  # above this, the path is projected when the plane is computed, not live


class LandscapePanel(QWidget):
    def __init__(self, views: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("landscapePanel")
        self.views = views
        self.job: BackgroundJob | None = None
        self.landscape: Any = None
        self._plane: tuple[np.ndarray, np.ndarray] | None = None  # centre, back-projection (P, 2)
        self._followed: tuple[int, int] = (0, -1)  # (length, last step) of the path last drawn
        # Controls in a column at the left, so the (square) plane gets the dock's whole height.
        outer = QHBoxLayout(self)
        column = QVBoxLayout()
        outer.addLayout(column)
        em = self.fontMetrics().height()
        self.directions = QComboBox()
        self.directions.setObjectName("landscapeDirections")
        self.directions.addItem("Random directions", "random")
        self.directions.addItem("Principal directions of the path", "pca")
        self.directions.setToolTip("Random: Li et al.'s filter-normalised directions. Principal: the two "
                                   "directions the recorded training path moved along most.")
        column.addWidget(self.directions)
        sizes = QHBoxLayout()
        column.addLayout(sizes)
        sizes.addWidget(QLabel("grid"))
        self.grid = QSpinBox()
        self.grid.setObjectName("landscapeGrid")
        self.grid.setRange(5, 201)
        self.grid.setValue(41)
        sizes.addWidget(self.grid)
        sizes.addWidget(QLabel("span ±"))
        self.span = QDoubleSpinBox()
        self.span.setObjectName("landscapeSpan")
        self.span.setRange(0.01, 100.0)
        self.span.setDecimals(2)
        self.span.setValue(1.0)
        self.span.setToolTip("How far the plane reaches along each direction (1 = the weights' own norm per "
                             "filter for random directions; the path's farthest point for principal ones)")
        sizes.addWidget(self.span)
        buttons = QHBoxLayout()
        column.addLayout(buttons)
        self.compute_button = QPushButton("Compute")
        self.compute_button.setObjectName("landscapeCompute")
        self.compute_button.clicked.connect(self.compute)
        buttons.addWidget(self.compute_button)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("landscapeCancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        buttons.addWidget(self.cancel_button)
        self.line_button = QPushButton("Line to Checkpoint…")
        self.line_button.setObjectName("landscapeLine")
        self.line_button.setToolTip("The loss along the straight line from the current weights to a checkpoint's")
        self.line_button.clicked.connect(lambda: self.interpolate_to())
        column.addWidget(self.line_button)
        self.progress = QProgressBar()
        self.progress.setObjectName("landscapeProgress")
        column.addWidget(self.progress)
        self.status = QLabel("Train the network, then Compute: the loss over a plane through its weights.")
        self.status.setObjectName("landscapeStatus")
        self.status.setWordWrap(True)
        self.status.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.status.setFixedWidth(em * 17)
        column.addWidget(self.status, 1)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("landscapeTabs")
        outer.addWidget(self.tabs, 1)
        self.plane = PlanePlot(self, "landscapePlot")
        self.tabs.addTab(self.plane.widget, "Plane")
        self.line_plot = make_plot(self, "landscapeLinePlot", x_label="α (0 = current weights, 1 = checkpoint)",
                                   y_label="loss")
        self.line_curve = add_curve(self.line_plot, "line", "#1f77b4")
        self.line_ends = pg.ScatterPlotItem(size=9, brush=pg.mkBrush("#ff3030"))
        self.line_plot.addItem(self.line_ends)
        self.tabs.addTab(self.line_plot, "Line")
        self.live = QTimer(self)
        self.live.setInterval(LIVE_MS)
        self.live.timeout.connect(self.follow_path)

    # ---- the plane --------------------------------------------------------------------------------

    def compute(self) -> bool:
        if self.job is not None:
            return False
        source = self.views.weights_for_analysis(self)
        if source is None:
            return False
        state, base_dir = source
        directions = self.directions.currentData()
        trajectory = self.views.trajectory.copy()
        grid, span = self.grid.value(), self.span.value()

        def work(ctx: JobContext) -> Any:
            from nnstudio.ml.landscape import LossProblem, compute_landscape, flatten

            trainer = self.views.analysis_trainer(state, base_dir)
            problem = LossProblem.from_trainer(trainer)
            here = flatten(problem.weights())
            path = trajectory if len(trajectory) else None
            if path is not None:
                last = path.last()
                if last is None or not np.array_equal(last, here.astype(np.float32)):
                    path.append(path.steps[-1] + 1 if path.steps else 0, here.astype(np.float32))
            result = compute_landscape(problem, grid=grid, span=span, directions=directions, trajectory=path,
                                       progress=ctx.progress, cancelled=ctx.cancelled)
            return result, here

        self._start(work, self._plane_done, f"Computing a {grid}×{grid} landscape…")
        return True

    def _plane_done(self, result: Any) -> None:
        landscape, here = result
        self.landscape = landscape
        self.plane.set_surface(landscape.xs, landscape.ys, landscape.losses)
        self.plane.clear_paths()
        if landscape.trajectory is not None:
            self.plane.set_path("path", landscape.trajectory)
        self.plane.set_current((0.0, 0.0))
        # Keep the plane to project the path on while training goes on.
        d = landscape.plane_vectors
        self._plane = (here, np.linalg.pinv(np.stack(d, axis=1)).T) if d is not None else None
        self._followed = (0, -1)
        kind = "random directions" if landscape.directions == "random" else "principal directions"
        extra = (f"; the path's variance: {landscape.explained[0]:.0%} + {landscape.explained[1]:.0%}"
                 if landscape.explained else "")
        self.status.setText(
            f"Loss on the {landscape.split} set at the current weights (red dot): {landscape.center_loss:.5g}; "
            f"lowest on the plane {np.nanmin(landscape.losses):.5g}. {len(landscape.xs)}×{len(landscape.ys)} "
            f"points on {kind} in {landscape.seconds:.2f} s ({landscape.points_per_second:,.0f} points/s){extra}.")
        self.tabs.setCurrentIndex(0)
        self.live.start()

    def follow_path(self) -> None:
        """Project the path recorded since the plane was computed, and mark its newest point."""
        if self._plane is None or not self.isVisible() or self._plane[0].size > LIVE_PARAMETERS:
            return
        trajectory = self.views.trajectory
        key = (len(trajectory), trajectory.steps[-1] if trajectory.steps else -1)
        if key == self._followed:
            return
        self._followed = key
        points = self.views.trajectory.points()
        centre, back = self._plane
        if len(points) == 0 or points.shape[1] != centre.size:
            return
        coords = (points - centre) @ back
        self.plane.set_path("path", coords)
        self.plane.set_current(tuple(coords[-1]))

    # ---- the line -----------------------------------------------------------------------------------

    def interpolate_to(self, checkpoint_path: str | Path | None = None) -> bool:
        if self.job is not None:
            return False
        source = self.views.weights_for_analysis(self)
        if source is None:
            return False
        if checkpoint_path is None:
            chosen, _ = QFileDialog.getOpenFileName(self, "Line to Checkpoint", str(Path.home()),
                                                    "NN Studio checkpoints (*.safetensors)")
            if not chosen:
                return False
            checkpoint_path = chosen
        state, base_dir = source
        target = Path(checkpoint_path)

        def work(ctx: JobContext) -> Any:
            from nnstudio.ml.checkpoint import load_checkpoint
            from nnstudio.ml.landscape import LossProblem, interpolate

            other = load_checkpoint(target)
            trainer = self.views.analysis_trainer(state, base_dir)
            problem = LossProblem.from_trainer(trainer)
            return interpolate(problem, problem.weights(), other.state_dict, progress=ctx.progress,
                               cancelled=ctx.cancelled)

        self._start(work, self._line_done, f"Interpolating to {target.name}…")
        return True

    def _line_done(self, line: Any) -> None:
        self.line_curve.setData(line.alphas, line.losses)
        self.line_ends.setData([0.0, 1.0], [line.loss_a, line.loss_b])
        self.status.setText(f"Loss along the line: {line.loss_a:.5g} at the current weights, {line.loss_b:.5g} at "
                            f"the checkpoint; the line rises {line.barrier:.4g} above the worse end between them.")
        self.tabs.setCurrentIndex(1)

    # ---- the job ------------------------------------------------------------------------------------

    def _start(self, work: Any, on_done: Any, message: str) -> None:
        job = BackgroundJob(work, name="nnstudio-landscape", parent=self)
        job.progressed.connect(lambda done, total: (self.progress.setRange(0, total), self.progress.setValue(done)))
        job.done.connect(lambda result, error: self._finished(result, error, on_done))
        self.job = job
        self.progress.setValue(0)
        self.status.setText(message)
        self.compute_button.setEnabled(False)
        self.line_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        job.start()

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _finished(self, result: Any, error: Any, on_done: Any) -> None:
        from nnstudio.ml.landscape import LandscapeCancelled

        job, self.job = self.job, None
        if job is not None:
            job.wait()
        self.compute_button.setEnabled(True)
        self.line_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if isinstance(error, LandscapeCancelled):
            self.status.setText("Cancelled.")
        elif error is not None:
            self.status.setText(f"Could not compute: {error_text(error)}")
        else:
            on_done(result)

    def shutdown(self) -> None:
        self.live.stop()
        if self.job is not None:
            self.job.cancel()
            self.job.wait(10)
