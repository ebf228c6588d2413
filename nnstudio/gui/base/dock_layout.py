"""The window's arrangement: geometry that fits the screen, dock sizes in proportion, and Reset panel layout.

Dock sizes are shares of the window (capped in font heights), so the same arrangement works at 1280×720
and at 2560×1440; dock contents never push their dock wider (labels that change while training use
`elastic_label`), so the sizes hold once training numbers appear. A saved layout whose side docks were
squeezed below a readable width is not brought back: the default sizes are applied instead.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QFrame, QLabel, QMainWindow, QScrollArea, QSizePolicy, QWidget

from .screen_fit import (  # noqa: F401 - the window's geometry, re-exported here for the rooms
    FILL_SCREEN_UP_TO,
    STALE_BELOW,
    fit_to_screen,
    initial_geometry,
    initial_rect,
    screen_area,
    stale,
)

# Below these widths (in font heights) a side dock counts as squeezed.
MIN_SIDE_EM = {"paletteDock": 7, "trainingDock": 14, "inspectorDock": 14}

LEFT = Qt.DockWidgetArea.LeftDockWidgetArea
RIGHT = Qt.DockWidgetArea.RightDockWidgetArea
BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea
PLOT_TABS = ("accuracyDock", "learningRateDock", "gradientsDock", "weightsDock")


def scrolling(widget: QWidget, horizontal_only: bool = False) -> QScrollArea:
    """`widget` in a scroll area, so a panel with many controls scrolls instead of widening the window (a
    dock's or the central widget's minimum size is the window's: Qt grows the window past the screen)."""
    area = QScrollArea()
    area.setObjectName(f"{widget.objectName() or 'panel'}Scroll")
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(widget)
    if horizontal_only:
        area.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        area.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        area.setFixedHeight(widget.sizeHint().height() + area.horizontalScrollBar().sizeHint().height())
    return area


def elastic_label(label: QLabel) -> QLabel:
    """A label whose text never widens its dock: it takes the width it is given (the text is clipped)."""
    label.setSizePolicy(QSizePolicy.Policy.Ignored, label.sizePolicy().verticalPolicy())
    label.setMinimumWidth(0)
    return label


def _docks(window: Any) -> dict[str, QDockWidget]:
    return dict(getattr(window, "docks", {}) or {d.objectName(): d for d in window.findChildren(QDockWidget)})


def default_sizes(window: QMainWindow) -> None:
    """Side docks and plots in proportion to the window, capped in font heights."""
    docks = _docks(window)
    em = window.fontMetrics().height()
    width, height = max(window.width(), 640), max(window.height(), 400)
    left = min(em * 15, round(width * 0.15))
    right = min(em * 27, round(width * 0.28))
    sides = [(docks[n], s) for n, s in (("paletteDock", left), ("inspectorDock", right), ("trainingDock", right))
             if n in docks]
    if sides:
        window.resizeDocks([d for d, _s in sides], [s for _d, s in sides], Qt.Orientation.Horizontal)
    if "lossDock" in docks:
        middle = max(em * 20, width - left - right)
        pair = [(docks[n], s) for n, s in (("lossDock", round(middle * 0.58)), ("outputDock", round(middle * 0.42)))
                if n in docks]
        window.resizeDocks([d for d, _s in pair], [s for _d, s in pair], Qt.Orientation.Horizontal)
        window.resizeDocks([docks["lossDock"]], [max(em * 12, min(round(height * 0.38), em * 24))],
                           Qt.Orientation.Vertical)


def squeezed(window: QMainWindow) -> list[str]:
    """The visible side docks narrower than they can be read at."""
    em = window.fontMetrics().height()
    docks = _docks(window)
    return [name for name, minimum in MIN_SIDE_EM.items()
            if name in docks and docks[name].isVisible() and not docks[name].visibleRegion().isEmpty()
            and not docks[name].isFloating() and docks[name].width() < minimum * em]


def reset_layout(window: QMainWindow) -> None:
    """Every panel back where a first start puts it, at the default sizes (View ▸ Reset panel layout)."""
    docks = _docks(window)
    for dock in docks.values():
        dock.setFloating(False)
    placed: dict[str, tuple[Qt.DockWidgetArea, str | None]] = {
        "paletteDock": (LEFT, None), "problemsDock": (LEFT, None), "inspectorDock": (RIGHT, None),
        "trainingDock": (RIGHT, "inspectorDock"),
        "lossDock": (BOTTOM, None), "outputDock": (BOTTOM, None),
    }
    placed.update({name: (BOTTOM, "lossDock") for name in PLOT_TABS})
    for name, (area, tab_with) in placed.items():
        dock = docks.get(name)
        if dock is None:
            continue
        window.addDockWidget(area, dock)
        if tab_with is not None and tab_with in docks:
            window.tabifyDockWidget(docks[tab_with], dock)
        elif name == "outputDock" and "lossDock" in docks:
            window.splitDockWidget(docks["lossDock"], dock, Qt.Orientation.Horizontal)
        elif name == "problemsDock" and "paletteDock" in docks:
            window.splitDockWidget(docks["paletteDock"], dock, Qt.Orientation.Vertical)
        dock.show()
    for name in ("trainingDock", "lossDock"):
        if name in docks:
            docks[name].raise_()
    default_sizes(window)
