"""The window's second stage: build the main window's own parts, then attach every room (training, network,
explain, optimization, inside views, model import, runs) to it.

Imported only after the first paint (by `app.open_main_window`): importing it imports the rooms.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer

from ..base import dock_layout
from ..base.dock_tabs import ReadableDockTabs
from ..base.plot_theme import follow_theme
from ..base.wheel_guard import guard_application
from ..cnn.wiring import attach_inside_views
from ..explain import attach_explain
from ..landscape import attach_optimization
from ..network import attach_network_view
from ..runs import attach_runs
from ..training import attach_training
from .mainwindow import MainWindow
from .model_import import attach_model_import


def build_rooms(window: MainWindow) -> None:
    """Fill `window` (a `MainWindow`, possibly made with `defer=True`) with everything NN Studio shows."""
    window.build()
    controller = attach_training(window)
    attach_network_view(window, controller)
    attach_explain(window)
    attach_optimization(window)
    attach_inside_views(window)
    attach_model_import(window)
    attach_runs(window)  # issue 16: the Runs panel; every run the window trains is recorded
    follow_theme(window)  # every pyqtgraph plot re-colours when View ▸ Theme changes
    guard_application()  # no unfocused spin box, combo or slider takes the wheel, in any dock
    window.readable_tabs = ReadableDockTabs(window)  # type: ignore[attr-defined]  # whole panel titles
    window.finish_layout()  # built after the first paint: the saved panel layout is applied now
    window._size_docks_once = _SizeDocksOncePlotted(window, controller)  # type: ignore[attr-defined]


class _SizeDocksOncePlotted(QObject):
    """The default panel sizes once the training plots exist. The controller builds them just after the
    window's first paint following its attachment, and their minimum sizes then squeeze the side panels of a
    first start (Layers ≈ 100 px at 1280×720); so at that paint this waits (a few event-loop turns) for the
    plots, then applies the default sizes when the window has no saved layout or its saved one is squeezed."""

    TURNS = 50

    def __init__(self, window: MainWindow, controller: QObject) -> None:
        super().__init__(window)
        self.window, self.controller, self.turns, self.step = window, controller, 0, "wait"
        # A timer of this object's own, not QTimer.singleShot: a window deleted meanwhile takes it along.
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(0)
        self.timer.timeout.connect(self._next)
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Paint:
            self.window.removeEventFilter(self)
            self.timer.start()
        return False

    def _next(self) -> None:
        if self.step == "view":  # the canvas changed size: show the design again
            self.step = "done"
            self.window.apply_view_state()
            return
        if self.controller.plots is None and self.turns < self.TURNS:
            self.turns += 1  # the controller's own after-paint step is queued behind this one
            self.timer.start()
            return
        self.step = "done"
        saved = self.window._saved_state
        if saved is None or saved.isEmpty() or dock_layout.squeezed(self.window):
            self.window.layout().activate()  # the plots' places first, then the sizes
            dock_layout.default_sizes(self.window)
            self.step = "view"
            self.timer.start()
