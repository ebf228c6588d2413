"""The window's geometry on its screen: fill a small screen, 85 % of a large one; a saved geometry brought inside.

Used by the window's first stage (frame.py), so it touches no enum of Qt's namespace (building those costs
tens of milliseconds before the first paint); `dock_layout` re-exports these names.
"""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMainWindow

# Screens up to this size get a window that fills the available area; larger ones 85 % of it, centred.
FILL_SCREEN_UP_TO = (1440, 900)
# A restored window under this share of the first-start size, in both directions, is refitted (see `stale`).
STALE_BELOW = 0.85


def screen_area(window: QMainWindow) -> QRect | None:
    screen = window.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else None


def initial_rect(area: QRect) -> QRect:
    """The first-start geometry on a screen whose available area is `area`."""
    if area.width() <= FILL_SCREEN_UP_TO[0] or area.height() <= FILL_SCREEN_UP_TO[1]:
        return QRect(area)
    width, height = round(area.width() * 0.85), round(area.height() * 0.85)
    return QRect(area.x() + (area.width() - width) // 2, area.y() + (area.height() - height) // 2, width, height)


def initial_geometry(window: QMainWindow) -> None:
    """First start: fill a small screen (a 1280×720 laptop), or 85 % of a large one."""
    area = screen_area(window)
    if area is not None:
        window.setGeometry(initial_rect(area))


def stale(window: QMainWindow, area: QRect) -> bool:
    """A restored size well below the first-start size both ways (under STALE_BELOW of it): left by a smaller
    screen or an old default (1024×576 on a 1600×1000 screen), not a size the user chose for this screen."""
    target = initial_rect(area)
    return (not window.isMaximized() and window.width() < target.width() * STALE_BELOW
            and window.height() < target.height() * STALE_BELOW)


def fit_to_screen(window: QMainWindow) -> None:
    """A restored geometry larger than the screen (another monitor, a smaller resolution) is brought inside;
    one much smaller than the screen in both directions (`stale`) gets the first-start geometry instead."""
    area = screen_area(window)
    if area is None:
        return
    if stale(window, area):
        window.setGeometry(initial_rect(area))
        return
    frame = window.frameGeometry()
    width, height = min(window.width(), area.width()), min(window.height(), area.height())
    if (width, height) != (window.width(), window.height()):
        window.resize(width, height)
    frame = window.frameGeometry()
    x = min(max(frame.x(), area.x()), area.right() - frame.width() + 1)
    y = min(max(frame.y(), area.y()), area.bottom() - frame.height() + 1)
    if (x, y) != (frame.x(), frame.y()):
        window.move(x, y)
