"""The look of the window: View ▸ Theme (system, light, dark) and View ▸ Reset Panel Layout.

Light and dark use Qt's Fusion style with a fixed palette, so they look the same on every desktop;
"system" gives back the style and palette the application started with. The choice is kept in the
settings (view/theme) and applied when the next window opens. Everything that draws with palette
colours follows (the canvas re-colours itself on a palette change; drawn icons are drawn again).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QAction, QActionGroup, QColor, QPalette
from PySide6.QtWidgets import QApplication, QMainWindow

from ..base import dock_layout
from ..base.icons import refresh_icons

THEMES = (("system", "&System"), ("light", "&Light"), ("dark", "&Dark"))
_ORIGINAL: dict[str, Any] = {}


def _palette(dark: bool) -> QPalette:
    role = QPalette.ColorRole
    colours = {
        role.Window: "#2b2d31" if dark else "#eff0f1", role.WindowText: "#e6e6e6" if dark else "#1f2328",
        role.Base: "#1e1f22" if dark else "#ffffff", role.AlternateBase: "#2f3136" if dark else "#f5f6f7",
        role.Text: "#e6e6e6" if dark else "#1f2328", role.Button: "#34363b" if dark else "#e8e9ea",
        role.ButtonText: "#e6e6e6" if dark else "#1f2328", role.ToolTipBase: "#3a3c41" if dark else "#ffffdc",
        role.ToolTipText: "#e6e6e6" if dark else "#1f2328", role.Highlight: "#3b7ddd",
        role.HighlightedText: "#ffffff", role.Link: "#8ab4f8" if dark else "#1a5fb4",
        role.PlaceholderText: "#8a8f98", role.BrightText: "#ff6b6b",
        role.Light: "#4a4d52" if dark else "#ffffff", role.Midlight: "#3c3f44" if dark else "#f0f0f0",
        role.Mid: "#2a2c30" if dark else "#b8b9ba", role.Dark: "#17181a" if dark else "#9a9b9c",
        role.Shadow: "#000000" if dark else "#767676",
    }
    palette = QPalette()
    for r, colour in colours.items():
        palette.setColor(r, QColor(colour))
    disabled = QColor("#6d7076" if dark else "#a0a1a2")
    for r in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, r, disabled)
    return palette


def apply_theme(name: str) -> str:
    """Switch the whole application to theme `name` ('system', 'light' or 'dark'); returns the name used."""
    app = QApplication.instance()
    if app is None:
        return "system"
    if not _ORIGINAL:
        _ORIGINAL["style"] = app.style().name()
        _ORIGINAL["palette"] = QPalette(app.palette())
    name = name if name in dict(THEMES) else "system"
    if name == "system":
        app.setStyle(_ORIGINAL["style"])
        app.setPalette(_ORIGINAL["palette"])
    else:
        app.setStyle("Fusion")
        app.setPalette(_palette(dark=name == "dark"))
    for widget in app.topLevelWidgets():
        refresh_icons(widget)
    return name


def install(window: QMainWindow) -> None:
    """Add View ▸ Theme and View ▸ Reset Panel Layout to a main window (and apply the saved theme)."""
    view = getattr(window, "menus", {}).get("view")
    if view is None:
        return
    settings = getattr(window, "settings", None)
    saved = str(settings.value("view/theme", "system")) if settings is not None else "system"
    view.addSeparator()
    menu = view.addMenu("T&heme")
    menu.setObjectName("menuTheme")
    group = QActionGroup(menu)
    group.setExclusive(True)
    for key, title in THEMES:
        action = QAction(title, menu)
        action.setObjectName(f"actionTheme{key.capitalize()}")
        action.setCheckable(True)
        action.setChecked(key == saved)
        action.setToolTip({"system": "Use the desktop's own look", "light": "A light look",
                           "dark": "A dark look"}[key])
        action.triggered.connect(lambda _checked=False, k=key: choose_theme(window, k))
        group.addAction(action)
        menu.addAction(action)
    reset = QAction("&Reset Panel Layout", window)
    reset.setObjectName("actionResetLayout")
    reset.setToolTip("Put every panel back where it starts, at its default size")
    reset.triggered.connect(lambda _checked=False: dock_layout.reset_layout(window))
    window.addAction(reset)
    view.addAction(reset)
    if saved != "system":
        apply_theme(saved)


def choose_theme(window: QMainWindow, name: str) -> str:
    used = apply_theme(name)
    settings = getattr(window, "settings", None)
    if settings is not None:
        settings.setValue("view/theme", used)
    return used
