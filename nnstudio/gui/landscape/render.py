"""Draw a computed loss landscape (heatmap, contours, trajectory, current point) as a PNG, without a window.

`nnstudio landscape` uses it; it paints with QPainter on a QImage on Qt's offscreen platform, and
traces contours with pyqtgraph's marching squares, so the picture matches the Landscape dock's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPen

from nnstudio.gui.canvas.render import ensure_application
from nnstudio.io.atomic import write_atomic

from .colors import RUN_COLOURS, contour_levels, log_levels, rgb_image


def contour_paths(logs: np.ndarray, levels: np.ndarray) -> list[list[tuple[float, float]]]:
    """Contour polylines in (column, row) index coordinates of `logs` (rows = y)."""
    import pyqtgraph.functions as fn

    lines = []
    for level in levels:
        for line in fn.isocurve(logs.T, float(level), connected=True):
            lines.append([(float(x), float(y)) for x, y in line])
    return lines


def render_landscape_png(landscape: Any, out_path: str | os.PathLike[str], *, title: str = "",
                         size: tuple[int, int] = (900, 760), paths: list[tuple[str, np.ndarray]] | None = None) -> Path:
    """Write the landscape as a PNG (atomically). `paths`: extra (label, (T, 2) coordinates) to draw, as
    the race's runs; by default the landscape's own trajectory."""
    ensure_application()
    width, height = size
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("#ffffff"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    try:
        _paint(painter, landscape, width, height, title, paths)
    finally:
        painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    out = Path(out_path)
    write_atomic(out, bytes(data.data()))
    return out


def _paint(p: QPainter, ls: Any, width: int, height: int, title: str,
           paths: list[tuple[str, np.ndarray]] | None) -> None:
    font = QFont()
    font.setPixelSize(14)
    p.setFont(font)
    left, top, bar = 70, 56, 90
    side = min(width - left - bar - 30, height - top - 60)
    plot = QRectF(left, top, side, side)
    xs, ys = np.asarray(ls.xs), np.asarray(ls.ys)
    logs, low, high = log_levels(ls.losses)
    rgb = np.ascontiguousarray(rgb_image(logs, low, high)[::-1])  # image rows top-down: flip y
    rows, cols = rgb.shape[:2]
    heat = QImage(rgb.data, cols, rows, 3 * cols, QImage.Format.Format_RGB888).copy()
    p.drawImage(plot, heat)

    # Each heatmap cell is centred on its grid point: the picture reaches half a cell past the end points.
    half_x, half_y = (xs[-1] - xs[0]) / (len(xs) - 1) / 2, (ys[-1] - ys[0]) / (len(ys) - 1) / 2
    x0, x1, y0, y1 = xs[0] - half_x, xs[-1] + half_x, ys[0] - half_y, ys[-1] + half_y

    def to_px(a: float, b: float) -> QPointF:
        u = (a - x0) / (x1 - x0)
        v = (b - y0) / (y1 - y0)
        return QPointF(plot.left() + u * plot.width(), plot.bottom() - v * plot.height())

    # Contours: marching squares puts grid point i at index coordinate i + 0.5.
    p.setPen(QPen(QColor(255, 255, 255, 150), 1.0))
    dx, dy = xs[1] - xs[0], ys[1] - ys[0]
    for line in contour_paths(logs, contour_levels(low, high)):
        path = QPainterPath()
        for k, (ci, ri) in enumerate(line):
            point = to_px(xs[0] + (ci - 0.5) * dx, ys[0] + (ri - 0.5) * dy)
            if k == 0:
                path.moveTo(point)
            else:
                path.lineTo(point)
        p.drawPath(path)

    drawn = paths if paths is not None else (
        [("trajectory", ls.trajectory)] if getattr(ls, "trajectory", None) is not None else [])
    p.setClipRect(plot)
    for i, (_label, coords) in enumerate(drawn):
        coords = np.asarray(coords)
        colour = QColor(RUN_COLOURS[i % len(RUN_COLOURS)])
        path = QPainterPath()
        started = False
        for a, b in coords:
            if not (np.isfinite(a) and np.isfinite(b)):
                continue
            point = to_px(a, b)
            if started:
                path.lineTo(point)
            else:
                path.moveTo(point)
                started = True
        p.setPen(QPen(colour, 2.0))
        p.drawPath(path)
        finite = coords[np.all(np.isfinite(coords), axis=1)] if len(coords) else coords
        if len(finite):
            p.setBrush(colour)
            p.drawEllipse(to_px(*finite[0]), 4, 4)  # where the run started
            p.setBrush(Qt.BrushStyle.NoBrush)
    p.setClipping(False)
    # The current weights: the centre of the plane.
    centre = to_px(0.0, 0.0)
    p.setPen(QPen(QColor("#000000"), 2.0))
    p.setBrush(QColor("#ff3030"))
    p.drawEllipse(centre, 6, 6)
    p.setBrush(Qt.BrushStyle.NoBrush)

    # Frame, ticks and labels.
    p.setPen(QPen(QColor("#333333"), 1.0))
    p.drawRect(plot)
    for value in np.linspace(xs[0], xs[-1], 5):
        pt = to_px(value, ys[0])
        p.drawLine(pt, pt + QPointF(0, 5))
        p.drawText(QRectF(pt.x() - 40, pt.y() + 6, 80, 18), Qt.AlignmentFlag.AlignHCenter, f"{value:.2g}")
    for value in np.linspace(ys[0], ys[-1], 5):
        pt = to_px(xs[0], value)
        p.drawLine(pt, pt - QPointF(5, 0))
        p.drawText(QRectF(pt.x() - 60, pt.y() - 9, 52, 18), Qt.AlignmentFlag.AlignRight, f"{value:.2g}")
    kind = {"random": "filter-normalised random direction", "pca": "principal direction"}.get(ls.directions,
                                                                                              "direction")
    p.drawText(QRectF(plot.left(), plot.bottom() + 26, plot.width(), 20), Qt.AlignmentFlag.AlignHCenter,
               f"{kind} 1" + (f" ({ls.explained[0]:.0%} of the path)" if ls.explained else ""))
    p.save()
    p.translate(plot.left() - 52, plot.center().y())
    p.rotate(-90)
    p.drawText(QRectF(-plot.height() / 2, -10, plot.height(), 20), Qt.AlignmentFlag.AlignHCenter,
               f"{kind} 2" + (f" ({ls.explained[1]:.0%})" if ls.explained else ""))
    p.restore()
    heading = title or "Loss landscape"
    p.drawText(QRectF(left, 8, width - left - 20, 20), Qt.AlignmentFlag.AlignLeft, heading)
    p.drawText(QRectF(left, 28, width - left - 20, 20), Qt.AlignmentFlag.AlignLeft,
               f"{ls.split} loss at the current weights {ls.center_loss:.4g} (red dot) · "
               f"{len(xs)}×{len(ys)} points in {ls.seconds:.2f} s")
    # Colour bar (log scale).
    bar_rect = QRectF(plot.right() + 24, plot.top(), 18, plot.height())
    ramp = np.ascontiguousarray(rgb_image(np.linspace(high, low, 256)[:, None], low, high))
    bar_image = QImage(ramp.data, 1, 256, 3, QImage.Format.Format_RGB888).copy()
    p.drawImage(bar_rect, bar_image)
    p.drawRect(bar_rect)
    for value in np.linspace(low, high, 5):
        y = bar_rect.bottom() - (value - low) / (high - low) * bar_rect.height()
        p.drawText(QRectF(bar_rect.right() + 4, y - 9, 70, 18), Qt.AlignmentFlag.AlignLeft, f"{10 ** value:.3g}")
    p.drawText(QRectF(bar_rect.left() - 10, bar_rect.top() - 22, 80, 18), Qt.AlignmentFlag.AlignLeft, "loss")
