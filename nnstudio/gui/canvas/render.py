"""Export a design's diagram as SVG or PNG, without showing a window (the CLI's `nnstudio render`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QFontMetricsF, QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QApplication

from nnstudio.core import Design, ExportError
from nnstudio.core.inference import format_count
from nnstudio.io.atomic import write_atomic

from ..base.theme import canvas_colours, light_palette
from ..editor.session import DesignSession
from .scene import CanvasScene

FORMATS = (".svg", ".png")
_PNG_PIXELS = 24_000_000  # above this, PNG export lowers its scale (encoding time grows with pixels)


def ensure_application() -> QApplication:
    """The running QApplication, or a new one on the offscreen platform (no display needed)."""
    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv and sys.argv[0] else "nnstudio", "-platform", "offscreen"])
    return app  # type: ignore[return-value]


def render_design(design: Design, out_path: str | os.PathLike[str], *, scale: float = 2.0,
                  caption: bool = True) -> Path:
    """Write the design's diagram to `out_path` (.svg or .png), atomically; returns the path.

    The diagram uses a fixed light look, whatever the desktop's theme, so exports are reproducible.
    PNGs are drawn at `scale` pixels per canvas unit (2 = sharp on high-DPI screens and in print).
    """
    out = Path(out_path)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise ExportError(f"cannot export a diagram as '{out.suffix or out.name}': use a .svg or .png file name")
    ensure_application()
    session = DesignSession(design.copy())
    colours = canvas_colours(light_palette())
    scene = CanvasScene(session, colours=colours)
    try:
        scene.set_item_caching(False)  # vectors, not cached pixmaps, in the SVG
        scene.setBackgroundBrush(colours.background)
        style = scene.style
        margin = style.line * 2
        source = scene.itemsBoundingRect()
        if source.isNull():
            source = QRectF(0, 0, style.width, style.height)
        header = style.line * 2.2 if caption else 0.0
        source = source.adjusted(-margin, -margin - header, margin, margin)
        caption_text = _caption(session) if caption else ""
        if suffix == ".svg":
            data = _svg(scene, source, caption_text, design.name)
        else:
            data = _png(scene, source, caption_text, scale)
    finally:
        session.close()
        scene.clear()
        scene.deleteLater()
    write_atomic(out, data)
    return out


def _caption(session: DesignSession) -> str:
    result = session.inference
    layers = len(session.design.layers)
    text = f"{session.design.name}  ·  {layers} layer{'s' if layers != 1 else ''}  ·  " \
           f"{format_count(result.total_params)} parameters"
    problems = len(result.diagnostics)
    if problems:
        text += f"  ·  {problems} problem{'s' if problems != 1 else ''}"
    return text


def _screen_dpi() -> float:
    screen = QGuiApplication.primaryScreen()
    return screen.logicalDotsPerInch() if screen is not None else 96.0


def _paint(painter: QPainter, scene: CanvasScene, source: QRectF, target: QRectF, caption: str) -> None:
    painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
    painter.fillRect(target, scene.style.colours.background)
    scene.render(painter, target, source, Qt.AspectRatioMode.KeepAspectRatio)
    if caption:
        k = target.width() / source.width()
        painter.save()
        painter.scale(k, k)
        style = scene.style
        painter.setFont(style.body_font)
        painter.setPen(style.colours.secondary_text)
        metrics = QFontMetricsF(style.body_font)
        left, top = style.line * 2, style.line * 1.2
        painter.drawText(QRectF(left, top, source.width() - 2 * left, style.line * 1.4),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         metrics.elidedText(caption, Qt.TextElideMode.ElideRight, source.width() - 2 * left))
        painter.restore()


def _svg(scene: CanvasScene, source: QRectF, caption: str, title: str) -> bytes:
    size = QSize(max(1, round(source.width())), max(1, round(source.height())))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(size)
    generator.setViewBox(QRect(0, 0, size.width(), size.height()))
    generator.setResolution(round(_screen_dpi()))  # fonts measured on screen keep their size in the SVG
    generator.setTitle(title)
    generator.setDescription("Network diagram exported by NN Studio")
    painter = QPainter(generator)
    try:
        _paint(painter, scene, source, QRectF(0, 0, size.width(), size.height()), caption)
    finally:
        painter.end()
    buffer.close()
    return bytes(data.data())


def _png(scene: CanvasScene, source: QRectF, caption: str, scale: float) -> bytes:
    area = source.width() * source.height()
    if area * scale * scale > _PNG_PIXELS:  # a huge design: fewer pixels per unit, never below one
        scale = max(1.0, (_PNG_PIXELS / area) ** 0.5)
    width, height = round(source.width() * scale), round(source.height() * scale)
    if width * height > 400_000_000:
        raise ExportError(f"the diagram is too large for a PNG ({width}×{height} pixels): export it as SVG")
    image = QImage(max(1, width), max(1, height), QImage.Format.Format_RGB32)
    dots_per_metre = round(_screen_dpi() / 0.0254)
    image.setDotsPerMeterX(dots_per_metre)
    image.setDotsPerMeterY(dots_per_metre)
    image.fill(scene.style.colours.background)
    painter = QPainter(image)
    try:
        _paint(painter, scene, source, QRectF(0, 0, image.width(), image.height()), caption)
    finally:
        painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise ExportError("the PNG image could not be encoded")
    buffer.close()
    return bytes(data.data())
