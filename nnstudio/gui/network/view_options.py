"""What the design's view settings change in the network view: the test points drawn on the output square
(Playground's "Show test data") and the output heatmap shown as its two classes ("Discretize output")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QPainter, QPen

if TYPE_CHECKING:
    from ..training.controller import TrainingController

EXTENT = 6.0  # the heatmaps cover [−6, 6]², as Playground's


def test_points_of(controller: TrainingController) -> tuple[Any, Any, str] | None:
    """(points (n, 2), targets (n,), task) of the validation ("test") data: the data the panel previews
    (it follows every dataset change), else the last run's."""
    import numpy as np

    dataset = getattr(controller.panel, "dataset", None)
    if dataset is not None and getattr(dataset, "points_val", None) is not None and dataset.y_val is not None:
        y = np.asarray(dataset.y_val)
        return np.asarray(dataset.points_val), y.reshape(len(y), -1)[:, 0], dataset.task
    info = controller.info
    if info is not None and info.points_val is not None and info.targets_val is not None:
        return np.asarray(info.points_val), np.asarray(info.targets_val).reshape(-1), info.task
    return None


def apply_view_settings(panel: Any) -> None:
    """Give the panel's view the design's settings and draw the newest frame again with them."""
    settings = panel.session.design.view
    view = panel.view
    view.test_points = test_points_of(panel.controller) if settings.show_test_data else None
    if view.discretize != settings.discretize:
        view.discretize = settings.discretize
        latest = panel.controller.latest
        if latest is not None and view.parameters:
            panel._drawn = None  # the same publication, drawn again the other way
            panel._on_frame(latest)
    view.update()


def paint_points(painter: QPainter, rect: QRectF, points: Any, targets: Any, task: str) -> None:
    """Points of the plane as dots on `rect` (x right, y up), coloured by class (or value), rimmed in black
    as Playground rims its test points."""
    import numpy as np

    from ..training.colors import NEGATIVE, POSITIVE, diverging_lut

    if points is None or len(points) == 0:
        return
    xs = rect.left() + (np.asarray(points[:, 0], dtype=np.float64) + EXTENT) / (2 * EXTENT) * rect.width()
    ys = rect.top() + (EXTENT - np.asarray(points[:, 1], dtype=np.float64)) / (2 * EXTENT) * rect.height()
    inside = (xs >= rect.left()) & (xs <= rect.right()) & (ys >= rect.top()) & (ys <= rect.bottom())
    radius = max(1.5, rect.width() / 40)
    painter.save()
    painter.setClipRect(rect)
    painter.setPen(QPen(QColor(0, 0, 0), 0.8))
    if task == "regression":
        lut = diverging_lut()
        index = np.clip(((np.clip(np.asarray(targets, dtype=np.float64), -1, 1) + 1) * 127.5).astype(int), 0, 255)
        colours = [QColor(*map(int, lut[i][:3])) for i in index]
    else:
        colours = [POSITIVE if t > 0 else NEGATIVE for t in np.asarray(targets)]
    for x, y, colour, keep in zip(xs, ys, colours, inside, strict=True):
        if keep:
            painter.setBrush(colour)
            painter.drawEllipse(QPointF(float(x), float(y)), radius, radius)
    painter.restore()
