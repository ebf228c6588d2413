"""Playground's network picture: neurons as squares with their live heatmaps, links coloured by their weight.

The view mirrors the document (it redraws its columns on every document event) and the training's newest
telemetry (heatmaps of every neuron and the output, and the live weights of a small dense network). Hover a
link or a neuron for its weight or bias; click one to type a new value (an undoable edit of the trained
weights, see `edits.py`); click an input feature to switch it on or off; `+` / `−` add or remove a hidden
layer or a neuron. All the drawing is one `paintEvent`, cheap enough for every training frame. numpy (and the colour
tables) load on first use, never before the window's first paint.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QToolButton, QToolTip, QWidget

from nnstudio.core.settings import PLAYGROUND_FEATURES

from ..training.pacing import PaintClock
from ..training.panel import FEATURE_TITLES
from .layout import NetworkLayout, network_layout
from .view_options import paint_points

MAX_SIDE = 44.0
HEATMAP_CELLS = 50  # feature maps are computed on a 50×50 grid over [−6, 6]², like the neuron maps' subsample
GREY = QColor(170, 170, 170)
NEGATIVE = QColor("#f59322")  # Playground's orange (as training/colors.py, which needs numpy)
POSITIVE = QColor("#0877bd")


@dataclass(frozen=True)
class Hit:
    """What is under the mouse: a feature square, a neuron (its bias), or a link (its weight)."""

    kind: str  # "feature", "neuron" or "link"
    column: int
    row: int
    source: int = -1  # a link's source row in the previous column

    @property
    def key(self) -> tuple[str, int, int, int]:
        return (self.kind, self.column, self.row, self.source)


def _drawn_grid(maps: Any) -> Any:
    """Maps (..., R, R) cut to about HEATMAP_CELLS a side: a full publication's 100x100 grid every second
    point; a view frame (nnstudio.ml.view_frames) arrives at that resolution already."""
    stride = max(1, maps.shape[-1] // HEATMAP_CELLS)
    return maps[..., ::stride, ::stride]


def link_width(weight: float) -> float:
    """Playground's link width: 1 px at 0 growing to 10 px at |w| = 5."""
    return 1.0 + min(abs(weight), 5.0) * 9.0 / 5.0


def link_colour(weight: float) -> QColor:
    """Blue for a positive weight, orange for a negative one, paler as it nears 0 (Playground's scale)."""
    t = min(1.0, abs(weight))
    end = POSITIVE if weight >= 0 else NEGATIVE
    base = QColor(232, 234, 235)
    return QColor(round(base.red() + (end.red() - base.red()) * t),
                  round(base.green() + (end.green() - base.green()) * t),
                  round(base.blue() + (end.blue() - base.blue()) * t))


def feature_images() -> dict[str, QImage]:
    """Each of Playground's seven features over the plane, scaled by its largest |value| to −1 … +1."""
    import numpy as np

    from nnstudio.data.playground import playground_grid

    from ..training.colors import qimage_from_rgba, rgba_from_signed, signed_map

    grid = playground_grid(PLAYGROUND_FEATURES, resolution=HEATMAP_CELLS)
    out = {}
    for i, name in enumerate(PLAYGROUND_FEATURES):
        values = grid.features[:, i].reshape(HEATMAP_CELLS, HEATMAP_CELLS)
        values = values / max(1e-9, float(np.abs(values).max()))
        out[name] = qimage_from_rgba(rgba_from_signed(signed_map(values)))
    return out


class NetworkView(QWidget):
    """The picture; `owner` (the NetworkPanel) supplies the design, the telemetry and the edit actions."""

    feature_clicked = Signal(str)
    link_clicked = Signal(int, int, int)  # column, row, source row
    neuron_clicked = Signal(int, int)  # column, row

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("networkView")
        self.setMouseTracking(True)
        self.setMinimumSize(420, 260)
        self.layout_info = NetworkLayout(problem="no design yet")
        self.parameters: dict[str, Any] = {}  # "fc1.weight" -> numpy array
        self.neuron_maps: dict[str, list[QImage]] = {}
        self.output_map: QImage | None = None
        self.dead_features: tuple[str, ...] = ()
        self.test_points: tuple[Any, Any, str] | None = None  # drawn on the output square (view_options.py)
        self.discretize = False  # the output heatmaps as two classes (the design's view.discretize)
        self._features: dict[str, QImage] = {}  # made on the first paint
        self.hover: Hit | None = None
        self.antialias = True  # smooth links; the benchmark measures both
        self.paints = 0  # paintEvents so far (the benchmark's frame counter)
        self.self_paced = False  # True while the network panel draws a frame at its own pace (VIEW_SHARE)
        self.paint_seconds = 0.0
        self.telemetry_frames = 0  # publications turned into images so far, and the time that took
        self.telemetry_seconds = 0.0
        self._geometry: dict[str, Any] = {}

    # ---- content ---------------------------------------------------------------------------------------

    def set_design(self, design: Any, force: bool = False) -> NetworkLayout:
        self.layout_info = network_layout(design)
        if self.layout_info.too_big and not force:
            self.layout_info.problem = (f"a layer has more than {8} neurons; the network view is drawn for "
                                        "small networks (press Show Anyway to draw it)")
        self.hover = None
        self._geometry = {}
        self.update()
        return self.layout_info

    def set_telemetry(self, telemetry: Any, task: str | None, discretize: bool | None = None) -> None:
        """The newest publication: weights, neuron heatmaps, the output heatmap (discretized as `discretize`
        says, else as the view's setting)."""
        import numpy as np

        discretize = self.discretize if discretize is None else discretize

        from ..training.colors import boundary_values, qimage_from_rgba, rgba_from_signed, signed_map

        started = time.perf_counter()
        self.parameters = dict(getattr(telemetry, "parameters", {}) or {})
        outputs = getattr(telemetry, "neuron_outputs", {}) or {}
        self.neuron_maps = {}
        if outputs:
            # Every neuron's map coloured in one pass over the stacked arrays, then cut into images.
            names = list(outputs)
            stack = np.concatenate([_drawn_grid(np.asarray(outputs[n])) for n in names])
            rgba = rgba_from_signed(signed_map(stack, discretize))
            start = 0
            for name in names:
                units = len(outputs[name])
                self.neuron_maps[name] = [qimage_from_rgba(rgba[start + u]) for u in range(units)]
                start += units
        boundary = getattr(telemetry, "boundary", None)
        self.output_map = None
        if boundary is not None and task is not None:
            values = _drawn_grid(boundary_values(np.asarray(boundary), task))
            self.output_map = qimage_from_rgba(rgba_from_signed(signed_map(values, discretize)))
        spent = time.perf_counter() - started
        self.telemetry_seconds += spent
        self.telemetry_frames += 1
        if not self.self_paced:
            PaintClock.seconds += spent
        self.update()

    def clear_training(self) -> None:
        self.parameters, self.neuron_maps, self.output_map = {}, {}, None
        self.update()

    # ---- geometry ----------------------------------------------------------------------------------------

    def _rows(self, column: int) -> int:
        if column == 0:
            return len(PLAYGROUND_FEATURES)
        return self.layout_info.columns[column].units

    def _layout(self) -> dict[str, Any]:
        key = (self.width(), self.height(), tuple((c.name, c.units) for c in self.layout_info.columns))
        if self._geometry.get("key") == key:
            return self._geometry
        columns = self.layout_info.columns
        n = len(columns)
        top, bottom = 46.0, 18.0
        tallest = max(self._rows(c) for c in range(n)) if n else 1
        side = min(MAX_SIDE, (self.height() - top - bottom) / (tallest * 1.35), (self.width() - 60) / (n * 2.6))
        side = max(10.0, side)
        gap = side * 0.35
        left, right = 40.0 + side / 2, self.width() - 40.0 - side * 1.5
        xs = [left + (right - left) * i / max(1, n - 1) for i in range(n)]
        rects: list[list[QRectF]] = []
        for c in range(n):
            rows = self._rows(c)
            height = rows * side + (rows - 1) * gap
            y0 = top + (self.height() - top - bottom - height) / 2
            big = side * 2.0 if c == n - 1 else side  # the output square is drawn larger, as in Playground
            rects.append([QRectF(xs[c] - big / 2, y0 + r * (side + gap) + (side - big) / 2, big, big)
                          for r in range(rows)])
        self._geometry = {"key": key, "side": side, "xs": xs, "rects": rects}
        return self._geometry

    def column_x(self, column: int) -> float:
        return self._layout()["xs"][column]

    def node_rect(self, column: int, row: int) -> QRectF:
        return self._layout()["rects"][column][row]

    def _sources(self, column: int) -> list[int]:
        """Rows of column − 1 that feed `column` (only the chosen features feed the first layer)."""
        if column == 1:
            chosen = self.layout_info.features
            return [PLAYGROUND_FEATURES.index(f) for f in chosen]
        return list(range(self._rows(column - 1)))

    def weight(self, column: int, row: int, source_index: int) -> float | None:
        values = self.parameters.get(f"{self.layout_info.columns[column].name}.weight")
        if values is None or values.ndim != 2 or row >= values.shape[0] or source_index >= values.shape[1]:
            return None
        return float(values[row, source_index])

    def bias(self, column: int, row: int) -> float | None:
        values = self.parameters.get(f"{self.layout_info.columns[column].name}.bias")
        if values is None or row >= len(values):
            return None
        return float(values[row])

    # ---- hit testing ----------------------------------------------------------------------------------

    def hit(self, point: QPointF) -> Hit | None:
        if self.layout_info.problem or not self.layout_info.columns:
            return None
        geometry = self._layout()
        for c, rects in enumerate(geometry["rects"]):
            for r, rect in enumerate(rects):
                if rect.contains(point):
                    return Hit("feature" if c == 0 else "neuron", c, r)
        best, best_distance = None, 6.0
        for c in range(1, len(self.layout_info.columns)):
            for r, dest in enumerate(geometry["rects"][c]):
                a_end = QPointF(dest.left(), dest.center().y())
                for s in self._sources(c):
                    src = geometry["rects"][c - 1][s]
                    d = _segment_distance(point, QPointF(src.right(), src.center().y()), a_end)
                    if d < best_distance:
                        best, best_distance = Hit("link", c, r, s), d
        return best

    def describe(self, hit: Hit) -> str:
        columns = self.layout_info.columns
        if hit.kind == "feature":
            name = PLAYGROUND_FEATURES[hit.row]
            on = name in self.layout_info.features
            return f"{FEATURE_TITLES[name]}: {'on' if on else 'off'} — click to switch it {'off' if on else 'on'}"
        column = columns[hit.column]
        if hit.kind == "neuron":
            b = self.bias(hit.column, hit.row)
            what = "output" if hit.column == len(columns) - 1 else f"{column.name} neuron {hit.row + 1}"
            value = f"bias {b:.4g}" if b is not None else "bias: train or step once to see it"
            return f"{what} ({column.activation}): {value} — click to edit"
        index = self._sources(hit.column).index(hit.source)
        w = self.weight(hit.column, hit.row, index)
        source = (FEATURE_TITLES[PLAYGROUND_FEATURES[hit.source]] if hit.column == 1
                  else f"{columns[hit.column - 1].name} {hit.source + 1}")
        dest = "output" if hit.column == len(columns) - 1 else f"{column.name} {hit.row + 1}"
        value = f"weight {w:.4g}" if w is not None else "weight: train or step once to see it"
        return f"{source} → {dest}: {value} — click to edit"

    # ---- events -------------------------------------------------------------------------------------------

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        hit = self.hit(event.position())
        if (hit.key if hit else None) != (self.hover.key if self.hover else None):
            self.hover = hit
            self.update()
        if hit is None:
            QToolTip.hideText()
            self.setCursor(Qt.CursorShape.ArrowCursor)
        else:
            self.setCursor(Qt.CursorShape.PointingHandCursor)
            QToolTip.showText(event.globalPosition().toPoint(), self.describe(hit), self)
        super().mouseMoveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        hit = self.hit(event.position()) if event.button() == Qt.MouseButton.LeftButton else None
        if hit is None:
            super().mousePressEvent(event)
            return
        if hit.kind == "feature":
            self.feature_clicked.emit(PLAYGROUND_FEATURES[hit.row])
        elif hit.kind == "neuron":
            self.neuron_clicked.emit(hit.column, hit.row)
        else:
            self.link_clicked.emit(hit.column, hit.row, hit.source)
        event.accept()

    def leaveEvent(self, event: Any) -> None:
        self.hover = None
        self.update()
        super().leaveEvent(event)

    # ---- painting -------------------------------------------------------------------------------------------

    def paintEvent(self, event: Any) -> None:
        started = time.perf_counter()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.fillRect(self.rect(), self.palette().base())
        info = self.layout_info
        if info.problem:
            painter.setPen(self.palette().text().color())
            painter.drawText(self.rect().adjusted(24, 24, -24, -24), Qt.AlignmentFlag.AlignCenter
                             | Qt.TextFlag.TextWordWrap, f"The network view cannot draw this design: {info.problem}.")
            painter.end()
            return
        if not self._features:
            self._features = feature_images()
        geometry = self._layout()
        self._paint_links(painter, geometry)
        self._paint_nodes(painter, geometry)
        painter.end()
        self.paints += 1
        spent = time.perf_counter() - started
        self.paint_seconds += spent
        if not self.self_paced:  # the training controller paces its frames by what drawing costs
            PaintClock.seconds += spent

    def _paint_links(self, painter: QPainter, geometry: dict[str, Any]) -> None:
        rects = geometry["rects"]
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, self.antialias)
        for c in range(1, len(self.layout_info.columns)):
            for r, dest in enumerate(rects[c]):
                end = QPointF(dest.left(), dest.center().y())
                for index, s in enumerate(self._sources(c)):
                    src = rects[c - 1][s]
                    start = QPointF(src.right(), src.center().y())
                    w = self.weight(c, r, index)
                    if w is None:
                        pen = QPen(GREY, 1.0)
                    else:
                        pen = QPen(link_colour(w), link_width(w))
                    if self.hover is not None and self.hover.key == ("link", c, r, s):
                        pen.setColor(QColor(30, 30, 30))
                    pen.setCapStyle(Qt.PenCapStyle.FlatCap)
                    painter.setPen(pen)
                    painter.drawLine(start, end)

    def _paint_nodes(self, painter: QPainter, geometry: dict[str, Any]) -> None:
        rects = geometry["rects"]
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        columns = self.layout_info.columns
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        label_font = QFont(self.font())
        label_font.setPointSizeF(max(7.0, label_font.pointSizeF() * 0.85))
        painter.setFont(label_font)
        text_colour = self.palette().text().color()
        for c, column_rects in enumerate(rects):
            for r, rect in enumerate(column_rects):
                image = None
                if c == 0:
                    name = PLAYGROUND_FEATURES[r]
                    on = name in self.layout_info.features
                    image = self._features[name]
                    painter.setOpacity(1.0 if on else 0.3)
                    painter.drawImage(rect, image)
                    painter.setOpacity(1.0)
                    painter.setPen(text_colour)
                    painter.drawText(QRectF(rect.left() - 64, rect.top(), 58, rect.height()),
                                     Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                                     FEATURE_TITLES[name])
                else:
                    if c == len(columns) - 1:
                        image = self.output_map
                    else:
                        maps = self.neuron_maps.get(columns[c].name, [])
                        image = maps[r] if r < len(maps) else None
                    if image is not None:
                        painter.drawImage(rect, image)
                    else:
                        painter.fillRect(rect, QColor(232, 234, 235))
                    if c == len(columns) - 1 and self.test_points is not None:
                        paint_points(painter, rect, *self.test_points)
                hovered = self.hover is not None and self.hover.kind != "link" and self.hover.column == c \
                    and self.hover.row == r
                painter.setPen(QPen(QColor(30, 30, 30) if hovered else QColor(0, 0, 0, 70), 2.0 if hovered else 1.0))
                painter.drawRect(rect)
                if c > 0:
                    b = self.bias(c, r)
                    if b is not None:  # Playground's small bias square at the neuron's lower left
                        small = max(4.0, rect.width() * 0.14)
                        painter.fillRect(QRectF(rect.left() - small - 1, rect.bottom() - small, small, small),
                                         link_colour(b))
        painter.setPen(text_colour)
        for c, column in enumerate(columns):
            x = geometry["xs"][c]
            if c == 0:
                title = "FEATURES"
            elif c == len(columns) - 1:
                title = "OUTPUT"
            else:
                title = f"{column.units} neuron{'s' if column.units != 1 else ''}"
            painter.drawText(QRectF(x - 60, 4, 120, 16), Qt.AlignmentFlag.AlignCenter, title)


def _segment_distance(p: QPointF, a: QPointF, b: QPointF) -> float:
    dx, dy = b.x() - a.x(), b.y() - a.y()
    length = dx * dx + dy * dy
    t = 0.0 if length == 0 else max(0.0, min(1.0, ((p.x() - a.x()) * dx + (p.y() - a.y()) * dy) / length))
    return math.hypot(p.x() - a.x() - t * dx, p.y() - a.y() - t * dy)


class LayerButtons(QWidget):
    """`+` / `−` for the number of hidden layers, and one pair per hidden layer for its neurons."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("networkLayerButtons")
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 2, 6, 2)
        self.add_layer = QPushButton("+")
        self.add_layer.setObjectName("networkAddLayer")
        self.add_layer.setToolTip("Add a hidden layer (2 neurons) before the output")
        self.remove_layer = QPushButton("−")
        self.remove_layer.setObjectName("networkRemoveLayer")
        self.remove_layer.setToolTip("Remove the last hidden layer")
        for b in (self.add_layer, self.remove_layer):
            b.setFixedWidth(30)
        self.label = QLabel("")
        self.label.setObjectName("networkLayerCount")
        row.addWidget(self.add_layer)
        row.addWidget(self.remove_layer)
        row.addWidget(self.label)
        row.addStretch(1)


def neuron_button(text: str, name: str, tip: str, parent: QWidget) -> QToolButton:
    button = QToolButton(parent)
    button.setText(text)
    button.setObjectName(name)
    button.setToolTip(tip)
    button.setAutoRaise(False)
    button.setFixedSize(20, 20)
    return button
