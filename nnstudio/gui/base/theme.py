"""Colours for the canvas and panels, derived from the system palette so light and dark looks both work."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QGuiApplication, QPalette

# One hue per catalogue group; saturated enough to read on white and on near-black.
GROUP_COLOURS = {
    "Input & output": "#17a589",
    "Core": "#3b7ddd",
    "Convolution": "#8e5cf0",
    "Merge": "#e8912d",
    "Regularisation": "#d6507a",
}
_FALLBACK_GROUP = "#8a8f98"


def group_colour(group: str) -> QColor:
    return QColor(GROUP_COLOURS.get(group, _FALLBACK_GROUP))


def mix(a: QColor, b: QColor, t: float) -> QColor:
    """The colour `t` of the way from `a` to `b` (0 → a, 1 → b)."""
    return QColor.fromRgbF(
        a.redF() + (b.redF() - a.redF()) * t,
        a.greenF() + (b.greenF() - a.greenF()) * t,
        a.blueF() + (b.blueF() - a.blueF()) * t,
        a.alphaF() + (b.alphaF() - a.alphaF()) * t,
    )


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightnessF() < 0.5


@dataclass(frozen=True)
class CanvasColours:
    background: QColor
    grid_minor: QColor
    grid_major: QColor
    block: QColor
    block_border: QColor
    text: QColor
    secondary_text: QColor
    selection: QColor
    connection: QColor
    label_background: QColor
    error: QColor
    warning: QColor
    accept: QColor
    dark: bool


def canvas_colours(palette: QPalette | None = None) -> CanvasColours:
    """Colours for the current palette (the application's unless one is given)."""
    if palette is None:
        palette = QGuiApplication.palette()
    dark = is_dark(palette)
    role = QPalette.ColorRole
    window = palette.color(role.Window)
    base = palette.color(role.Base)
    text = palette.color(role.Text)
    background = mix(window, QColor("black" if dark else "white"), 0.35 if dark else 0.5)
    block = mix(base, QColor("white"), 0.06) if dark else base
    return CanvasColours(
        background=background,
        grid_minor=mix(background, text, 0.05 if dark else 0.06),
        grid_major=mix(background, text, 0.10 if dark else 0.12),
        block=block,
        block_border=mix(block, text, 0.28),
        text=text,
        secondary_text=mix(block, text, 0.62),
        selection=palette.color(role.Highlight),
        connection=mix(background, text, 0.45),
        label_background=mix(background, text, 0.10 if dark else 0.04),
        error=QColor("#f28b82" if dark else "#d93025"),
        warning=QColor("#fdd663" if dark else "#e37400"),
        accept=QColor("#81c995" if dark else "#188038"),
        dark=dark,
    )


def light_palette() -> QPalette:
    """A fixed light palette for exported diagrams, so a PNG looks the same on every machine."""
    palette = QPalette()
    role = QPalette.ColorRole
    palette.setColor(role.Window, QColor("#efefef"))
    palette.setColor(role.Base, QColor("#ffffff"))
    palette.setColor(role.Text, QColor("#1f2328"))
    palette.setColor(role.WindowText, QColor("#1f2328"))
    palette.setColor(role.Highlight, QColor("#3b7ddd"))
    return palette
