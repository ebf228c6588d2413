"""Views of one layer of an explained step when it is too big to draw: a top-k table, or per-channel maps.

`LayerTable` lists the neurons that matter most for the stage (largest |a| forward, largest |δ| backward,
largest |step| in the update) with their z, a, δ and bias gradient, under a summary of the whole layer.
`ChannelView` shows, for one channel of a Conv2d layer, its feature map, its δ map and its kernel's
gradient, as images with a diverging colour scale (blue negative, orange positive).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nnstudio.ml.explain_text import num, top_entries

from .session import Selection

TOP_K = 12
MAP_PIXELS = 132


class LayerTable(QWidget):
    selected = Signal(object)  # Selection

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("explainLayerTable")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.summary = QLabel()
        self.summary.setObjectName("explainLayerSummary")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, 6)
        self.table.setObjectName("explainTopTable")
        self.table.setHorizontalHeaderLabels(["unit", "z", "a", "δ = ∂L/∂z", "∂L/∂b", "bias step"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.cellClicked.connect(self._clicked)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self.rows: list[tuple[int, ...]] = []
        self.layer = ""

    def show_stage(self, ex: Any, stage: Any, sample: int) -> None:
        t = ex.layer(stage.layer) if stage.layer else ex.layers[-1]
        self.layer = t.name
        z, a, d = t.z[sample], t.a[sample], t.delta[sample]
        if stage.kind == "backward":
            key, what = d, "largest |δ|"
        elif stage.kind in ("update", "apply") and "bias" in t.params:
            key, what = t.params["bias"].update, "largest |bias step|"
        else:
            key, what = a, "largest |a|"
        if key.ndim > 1:  # a feature map per channel: rank channels by their mean
            key = np.abs(key.reshape(key.shape[0], -1)).mean(axis=1)
            z, a, d = (v.reshape(v.shape[0], -1).mean(axis=1) for v in (z, a, d))
        entries = top_entries(key, TOP_K)
        self.rows = [index for index, _ in entries]
        parts = [f"<b>{t.name}</b> ({t.type}{', ' + t.activation if t.activation else ''}): {z.size:,} units; "
                 f"top {len(entries)} by {what}."]
        for label, values in (("a", t.a), ("δ", t.delta)):
            parts.append(f"{label}: mean {num(values.mean())}, min {num(values.min())}, max {num(values.max())}")
        for name, p in t.params.items():
            parts.append(f"‖∂L/∂{name}‖ = {num(float(np.linalg.norm(p.grad)))}, ‖step‖ = "
                         f"{num(float(np.linalg.norm(p.update)))}")
        self.summary.setText("<br>".join(parts))
        self.table.setRowCount(len(entries))
        bias = t.params.get("bias")
        for row, (index, _value) in enumerate(entries):
            u = index[0]
            cells = [str(u + 1), num(z[u]), num(a[u]), num(d[u]),
                     num(bias.grad[u]) if bias is not None else "–",
                     num(bias.update[u]) if bias is not None else "–"]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()

    def _clicked(self, row: int, _col: int) -> None:
        if 0 <= row < len(self.rows):
            self.selected.emit(Selection("neuron", self.layer, (self.rows[row][0],)))


def diverging_image(values: np.ndarray, size: int = MAP_PIXELS) -> QPixmap:
    """A 2-D array as a picture: white at 0, orange for positive, blue for negative (symmetric scale)."""
    v = np.asarray(values, dtype=np.float64)
    scale = float(np.abs(v).max()) or 1.0
    t = np.clip(v / scale, -1.0, 1.0)[..., None]
    white = np.array([255.0, 255.0, 255.0])
    pos, neg = np.array([245.0, 147.0, 34.0]), np.array([8.0, 119.0, 189.0])
    rgb = np.where(t >= 0, white + (pos - white) * t, white + (neg - white) * -t)
    rgb = np.ascontiguousarray(rgb.astype(np.uint8))
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(image).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.FastTransformation)


class ChannelView(QWidget):
    """One Conv2d channel: feature map a, δ map, and ∂L/∂kernel (one tile per input channel)."""

    selected = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("explainChannelView")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Channel"))
        self.channel = QSpinBox()
        self.channel.setObjectName("explainChannel")
        self.channel.setMinimum(1)
        self.channel.valueChanged.connect(self._channel_changed)
        row.addWidget(self.channel)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        row.addWidget(self.summary, 1)
        layout.addLayout(row)
        grid = QGridLayout()
        self.maps: dict[str, QLabel] = {}
        for col, (key, title) in enumerate((("a", "feature map a"), ("delta", "δ map ∂L/∂z"),
                                            ("kernel", "∂L/∂kernel"))):
            caption = QLabel(title)
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            image = QLabel()
            image.setObjectName(f"explainMap_{key}")
            image.setAlignment(Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(caption, 0, col)
            grid.addWidget(image, 1, col)
            self.maps[key] = image
        layout.addLayout(grid)
        layout.addStretch(1)
        self._args: tuple[Any, Any, int] | None = None

    def show_stage(self, ex: Any, stage: Any, sample: int, channel: int = 0) -> None:
        t = ex.layer(stage.layer)
        self._args = (ex, t, sample)
        self.channel.blockSignals(True)
        self.channel.setMaximum(t.z.shape[1])
        self.channel.setValue(channel + 1)
        self.channel.blockSignals(False)
        self._draw()

    def _channel_changed(self, value: int) -> None:
        if self._args is not None:
            ex, t, _sample = self._args
            self.selected.emit(Selection("neuron", t.name, (value - 1,)))
            self._draw()

    def _draw(self) -> None:
        ex, t, sample = self._args  # type: ignore[misc]
        c = self.channel.value() - 1
        a, d = t.a[sample, c], t.delta[sample, c]
        self.maps["a"].setPixmap(diverging_image(a))
        self.maps["delta"].setPixmap(diverging_image(d))
        kernel = t.params["weight"].grad[c] if "weight" in t.params else np.zeros((1, 1, 1))
        tiles = kernel[:16]
        cols = int(np.ceil(np.sqrt(len(tiles))))
        rows = int(np.ceil(len(tiles) / cols))
        kh, kw = kernel.shape[1:]
        mosaic = np.zeros((rows * (kh + 1) - 1, cols * (kw + 1) - 1))
        for i, k in enumerate(tiles):  # one tile per input channel, a blank line between tiles
            r, q = divmod(i, cols)
            mosaic[r * (kh + 1):r * (kh + 1) + kh, q * (kw + 1):q * (kw + 1) + kw] = k
        self.maps["kernel"].setPixmap(diverging_image(mosaic, MAP_PIXELS))
        self.maps["kernel"].setToolTip(f"{kernel.shape[0]} input channels × {kh}×{kw} (first {len(tiles)} shown)")
        self.summary.setText(f"{t.name} channel {c + 1}: a in [{num(a.min())}, {num(a.max())}], "
                             f"δ in [{num(d.min())}, {num(d.max())}], ‖∂L/∂kernel‖ "
                             f"{num(float(np.linalg.norm(kernel)))}")
