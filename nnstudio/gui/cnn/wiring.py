"""Puts the CNN, results and health views into the main window: `attach_inside_views(window)`, one call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction

from ..health.overlay import HealthOverlay
from ..health.view import HealthView
from .host import InsideViewsHost
from .maps_view import EMPTY_MESSAGE, FiltersMapsView
from .report_action import save_report
from .results_view import ResultsView
from .tap import RunData, TapSink, WeightsTap, load_run_data

if TYPE_CHECKING:
    from ..training.controller import TrainingController


class InsideViews(QObject):
    """Owns the three docks, the tap sink and the health badges; lives as long as the window."""

    def __init__(self, window: InsideViewsHost, controller: TrainingController) -> None:
        super().__init__(window.qt_window())
        self.setObjectName("insideViews")
        self.window, self.controller = window, controller
        self.maps = FiltersMapsView()
        self.results = ResultsView()
        self.health = HealthView()
        self.overlay = HealthOverlay(window.scene)
        self.sink = TapSink(self)
        self.data: Any = None
        self.generation = 0  # bumped by each run and each opened checkpoint: late data of an older one is dropped
        self.loading: Any = None  # the BackgroundWorker loading an opened checkpoint's data
        self.report_worker: Any = None  # the BackgroundWorker of the last File ▸ Save Report…
        self.weights: tuple[dict[str, Any], int] | None = None
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        loss = controller.plot_docks.get("loss")
        self.maps_dock = window.add_dock(self.maps, "Filters && maps", "filtersMapsDock", bottom, tabify_with=loss)
        self.results_dock = window.add_dock(self.results, "Results", "resultsDock", bottom, tabify_with=loss)
        self.health_dock = window.add_dock(self.health, "Health", "healthDock", bottom, tabify_with=loss)
        if loss is not None:
            loss.raise_()
        self.maps_dock.visibilityChanged.connect(lambda shown: shown and self.maps.refresh())

        controller.callback_factories.append(lambda: WeightsTap(self.sink))
        self.sink.data_ready.connect(self._on_data)
        self.sink.weights_ready.connect(self._on_weights)
        controller.run_started.connect(lambda _info: self._on_run_started())
        controller.frame_drawn.connect(self.health.add_telemetry)
        controller.run_finished.connect(self._on_finished)
        controller.checkpoint_opened.connect(self.show_checkpoint)
        self.health.findings_changed.connect(lambda found: self.overlay.show(window.design, found))
        self.health.layer_chosen.connect(self._select_layer)
        self.results.refresh_button.clicked.connect(self.compute_results)

        action = QAction("Save &Report…", window.qt_window())
        action.setObjectName("actionSaveReport")
        action.setToolTip("Save an HTML report of the trained model: curves, results, health, filters")
        action.triggered.connect(lambda: save_report(window, controller, owner=self))
        self.report_action = action
        window.menu("file").addAction(action)

    def _on_run_started(self) -> None:
        self.generation += 1
        self.health.reset()
        self.overlay.clear()

    def show_checkpoint(self, state: Any) -> None:
        """Fill Filters & maps and Results from opened trained weights, as a run's end fills them. The data
        loads on a BackgroundWorker; a data file outside the design's folder is not read without a question,
        so then the docks say so instead (Train asks)."""
        from nnstudio.core.text import shown

        from ..base import data_consent
        from ..base.background import BackgroundWorker

        self.generation += 1
        generation = self.generation
        self.health.reset()
        self.overlay.clear()
        design, base = state.design.copy(), self.controller.base_dir()
        outside = data_consent.outside_design_folder(design.dataset, base)
        if outside is not None:
            self._say_views(f"The data file {shown(str(outside), 200)} is outside the design's folder and was not "
                            "read; Train (which asks first) fills these views.")
            return
        self._say_views("Loading the data for the opened checkpoint…")
        worker = BackgroundWorker(lambda: load_run_data(design, base), "nnstudio-checkpoint-views", self)
        worker.returned.connect(lambda data: self._checkpoint_data(generation, state, data))
        worker.errored.connect(lambda error: generation == self.generation and self._say_views(
            f"Could not load the checkpoint's data: {error}"))
        worker.finished.connect(worker.deleteLater)
        self.loading = worker
        worker.start()

    def _checkpoint_data(self, generation: int, state: Any, data: RunData) -> None:
        if generation != self.generation:
            return  # a run started or another checkpoint opened meanwhile
        self.maps.message.setText(EMPTY_MESSAGE)
        self._on_data(data)
        self._on_weights(state.weights, state.step, "end")
        self.maps.refresh()

    def _say_views(self, text: str) -> None:
        self.maps.message.setText(text)
        self.maps.message.setVisible(True)
        self.results.message.setText(text)

    def _on_data(self, data: Any) -> None:
        self.data = data
        self.maps.set_run_data(data)

    def _on_weights(self, weights: dict[str, Any], step: int, reason: str) -> None:
        self.weights = (weights, step)
        self.maps.set_weights(weights, step)
        if reason in ("paused", "end"):
            self.compute_results()

    def compute_results(self) -> None:
        if self.maps.copy.model is not None and self.data is not None:
            self.results.compute(self.maps.copy.model, self.data)

    def _on_finished(self, outcome: Any) -> None:
        failure = outcome.message if getattr(outcome, "status", "") == "failed" else None
        self.health.finish(failure)

    def _select_layer(self, name: str) -> None:
        layer = self.window.design.layer_by_name(name)
        if layer is not None:
            self.window.select_layers([layer.id], centre=True)


def attach_inside_views(window: InsideViewsHost) -> InsideViews:
    """Add Filters & maps, Results and Health docks and File ▸ Save Report… to a window with training."""
    from ..training import attach_training

    existing = window.qt_window().findChild(InsideViews)
    if existing is not None:
        return existing
    return InsideViews(window, attach_training(window))
