"""The window's second stage: build the main window's own parts, then attach every room (training, network,
explain, optimization, inside views, model import, runs) to it.

Imported only after the first paint (by `app.open_main_window`): importing it imports the rooms.
"""

from __future__ import annotations

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
