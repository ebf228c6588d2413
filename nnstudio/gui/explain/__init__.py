"""Explain mode in the window: step through one forward and backward pass with the real numbers.

One entry point, `attach_explain(window)`: the Explain dock, Train ▸ Explain One Step, and the inspector's
activation curve with the layer's live pre-activations. What they show is
computed by `nnstudio.ml.explain` (Qt-free, shared with `nnstudio explain`). Attaching imports neither
torch nor numpy: the dock's content is built when it is first shown, the model when a step is explained.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ..base.dock_layout import scrolling
from .host import ExplainWindow
from .session import ExplainSession, Selection

if TYPE_CHECKING:
    from PySide6.QtWidgets import QDockWidget

    from .activation_view import ActivationInspector


class ExplainHost(QWidget):
    """The Explain dock's widget: holds the session at once and builds the panel when first needed."""

    def __init__(self, session: ExplainSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("explainHost")
        self.session = session
        self._panel: Any = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.dock: QDockWidget | None = None
        self.action: QAction | None = None
        self.activations: ActivationInspector | None = None  # the curve under the inspector's layer page

    @property
    def panel(self) -> Any:
        if self._panel is None:
            from .panel import ExplainPanel

            self._panel = ExplainPanel(self.session, self)
            self._layout.addWidget(self._panel)
        return self._panel

    def showEvent(self, event: Any) -> None:
        self.panel  # noqa: B018 - builds it
        super().showEvent(event)

    def explain_step(self) -> bool:
        """Train ▸ Explain One Step: show the dock and explain the batch the next training step takes."""
        self.panel  # noqa: B018
        if self.dock is not None:
            self.dock.show()
            self.dock.raise_()
        return self.session.explain(None)


def attach_explain(window: ExplainWindow) -> ExplainHost:
    """Add the Explain dock (tabbed with the inspector) and Train ▸ Explain One Step (Ctrl+E) to a window;
    attaches training first if it is not. Returns the dock's widget (`.session`, `.panel`)."""
    from ..training import attach_training

    qt_window = window.qt_window()
    existing = qt_window.findChild(ExplainHost)
    if existing is not None:
        return existing
    training = attach_training(window)
    host = ExplainHost(ExplainSession(window, training))
    host.dock = window.add_dock(scrolling(host), "Explain", "explainDock", Qt.DockWidgetArea.RightDockWidgetArea,
                                tabify_with=window.inspector_dock)
    training.panel_dock.raise_()  # the Training tab stays in front; Explain waits behind it
    action = QAction("&Explain One Step", qt_window)
    action.setObjectName("actionExplainStep")
    action.setShortcut(QKeySequence("Ctrl+E"))
    action.setToolTip("Step through one forward and backward pass of the next training batch, with the real "
                      "numbers (Ctrl+E)")
    action.triggered.connect(lambda _checked=False: host.explain_step())
    qt_window.addAction(action)
    training.menu.addSeparator()
    training.menu.addAction(action)
    host.action = action
    from .activation_view import ActivationInspector

    host.activations = ActivationInspector(window, training)
    return host


__all__ = ["ExplainHost", "ExplainSession", "ExplainWindow", "Selection", "attach_explain"]
