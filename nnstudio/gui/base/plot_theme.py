"""Every pyqtgraph plot follows the theme: on a palette change, plot backgrounds, axes and titles take its colours.

The rooms build their plots with the palette of the moment (Base behind, Text for axes and labels). When
View ▸ Theme switches the application palette, `follow_theme(window)` walks the window's pyqtgraph views and
re-colours them at once, and sets pyqtgraph's global defaults so plots built later start in the new look.
A view a room has given a transparent background (None) keeps it.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QGraphicsView, QWidget


def plot_colours(palette: QPalette) -> tuple[QColor, QColor]:
    """(background, foreground) of a plot in `palette`: the Base colour behind, the Text colour for axes."""
    return palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Text)


def recolour_plots(root: QWidget) -> int:
    """Give every pyqtgraph view under `root` the colours of `root`'s palette; returns how many it re-coloured."""
    background, foreground = plot_colours(root.palette())
    pg.setConfigOptions(background=background, foreground=foreground)
    # findChildren matches Qt classes: ask for QGraphicsView, keep pyqtgraph's (the canvas is one too).
    views = [v for v in root.findChildren(QGraphicsView) if isinstance(v, pg.GraphicsView)]
    for view in views:
        if getattr(view, "_background", "default") is not None:
            view.setBackground(background)
        for item in view.scene().items():
            if isinstance(item, pg.AxisItem):
                item.setPen(pg.mkPen(foreground))
                item.setTextPen(pg.mkPen(foreground))
            elif isinstance(item, pg.LabelItem):
                item.setText(item.text, color=foreground)
    return len(views)


_PALETTE_EVENTS = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)


class _ThemeFollower(QObject):
    """Event filter on the window: a palette change (the theme switch) re-colours its plots once."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.window = window
        self._pending = False
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() in _PALETTE_EVENTS and not self._pending:
            self._pending = True  # several palette events arrive for one switch: re-colour once, after them
            QTimer.singleShot(0, self._recolour)
        return False

    def _recolour(self) -> None:
        self._pending = False
        recolour_plots(self.window)


def follow_theme(window: QWidget) -> QObject:
    """Keep `window`'s plots in the theme's colours from now on (and colour them now); returns the follower."""
    follower = getattr(window, "_nnstudio_plot_theme", None)
    if follower is None:
        follower = _ThemeFollower(window)
        window._nnstudio_plot_theme = follower  # type: ignore[attr-defined]
    recolour_plots(window)
    return follower
