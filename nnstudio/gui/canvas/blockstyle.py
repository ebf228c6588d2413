"""How a layer block looks: fonts, sizes and colours, all derived from the application font and palette.

Sizes come from font metrics rather than fixed pixels, so blocks grow with the user's font and stay sharp
at any device pixel ratio; colours come from `theme.canvas_colours`.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QFont, QFontMetricsF, QGuiApplication

from nnstudio.core.catalogue import ACTIVATION_TITLES, layer_activation
from nnstudio.core.document import Layer

from ..base.theme import CanvasColours, canvas_colours
from .layer_summaries import SUMMARIES


@dataclass(frozen=True)
class BlockStyle:
    colours: CanvasColours
    title_font: QFont
    body_font: QFont
    small_font: QFont
    title_line: float
    line: float
    small_line: float
    pad: float
    band: float
    radius: float
    width: float
    height: float
    port_radius: float
    grid: float

    @property
    def column_step(self) -> float:
        """Horizontal distance between layout columns: room for a connection and its shape label."""
        return self.width + 4.5 * self.line + 2 * self.pad

    @property
    def row_step(self) -> float:
        return self.height + 2.2 * self.line


def make_block_style(colours: CanvasColours | None = None, base_font: QFont | None = None) -> BlockStyle:
    base = QFont(base_font if base_font is not None else QGuiApplication.font())
    if base.pointSizeF() <= 0:  # a pixel-sized application font
        base.setPointSizeF(9.0)
    title = QFont(base)
    title.setBold(True)
    title.setPointSizeF(base.pointSizeF() * 1.05)
    body = QFont(base)
    body.setPointSizeF(base.pointSizeF() * 0.95)
    small = QFont(base)
    small.setPointSizeF(base.pointSizeF() * 0.85)
    body_metrics = QFontMetricsF(body)
    line = body_metrics.height()
    title_line = QFontMetricsF(title).height()
    small_line = QFontMetricsF(small).height()
    pad = round(line * 0.6)
    band = max(3.0, round(line * 0.32))
    width = round(body_metrics.averageCharWidth() * 27 / 10) * 10
    height = band + pad * 0.7 + title_line + 2 * line + pad * 0.9 + line + pad * 0.7
    return BlockStyle(
        colours=colours if colours is not None else canvas_colours(),
        title_font=title, body_font=body, small_font=small,
        title_line=title_line, line=line, small_line=small_line,
        pad=pad, band=band, radius=round(line * 0.5), width=width, height=round(height),
        port_radius=max(4.0, round(line * 0.36)), grid=10.0,
    )


def layer_summary(layer: Layer) -> str:
    """The key parameters of a layer in a few words, as its block shows them (registered per type)."""
    summary = SUMMARIES.get(layer.type)
    try:
        if summary is not None:
            return summary(layer.params)
    except (KeyError, TypeError, ValueError):  # a document assembled by hand may lack a parameter
        pass
    return ", ".join(f"{k} {v}" for k, v in layer.params.items())


def activation_title(layer: Layer, recipe: str = "pytorch") -> str | None:
    """The activation the block names; an Output's follows the training recipe (tanh under Playground's)."""
    act = layer_activation(layer.type, layer.params, recipe)
    if act is None:
        return None
    return ACTIVATION_TITLES.get(act, act)


def format_params(n: int) -> str:
    """1234 → '1,234 params'; 2_500_000 → '2.5M params'."""
    for unit, scale in (("G", 1e9), ("M", 1e6)):
        if n >= scale:
            value = n / scale
            text = f"{value:.0f}" if value >= 100 else f"{value:.1f}".rstrip("0").rstrip(".")
            return f"{text}{unit} params"
    return f"{n:,} param{'s' if n != 1 else ''}"
