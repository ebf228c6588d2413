"""Puts the CNN, results and health views into the main window: `attach_inside_views(window)`, one call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction

from ..health.overlay import HealthOverlay
from ..health.view import HealthView
from .host import InsideViewsHost
from .maps_view import FiltersMapsView
from .report_action import save_report
from .results_view import ResultsView
from .tap import TapSink, WeightsTap

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
        self.health.findings_changed.connect(lambda found: self.overlay.show(window.design, found))
        self.health.layer_chosen.connect(self._select_layer)
        self.results.refresh_button.clicked.connect(self.compute_results)

        action = QAction("Save &Report…", window.qt_window())
        action.setObjectName("actionSaveReport")
        action.setToolTip("Save an HTML report of the trained model: curves, results, health, filters")
        action.triggered.connect(lambda: save_report(window, controller))
        self.report_action = action
        window.menu("file").addAction(action)

    def _on_run_started(self) -> None:
        self.health.reset()
        self.overlay.clear()

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
