"""The explained step drawn on a small dense network: neurons and links light up stage by stage.

Each column is a layer (the inputs first); each neuron shows its value for the stage (a in the forward
pass, δ in the backward pass) and each link its weight, gradient or update as colour (orange positive,
blue negative) and width. Clicking a neuron, a link or a neuron's bias square selects it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QWidget,
)

from nnstudio.ml.explain_text import num

from .session import Selection

MAX_UNITS = 12  # more neurons in a layer than this and the layer views take over
COLUMN_GAP = 170.0
ROW_GAP = 54.0
RADIUS = 17.0
POSITIVE = QColor("#f59322")
NEGATIVE = QColor("#0877bd")
NEUTRAL = QColor("#9aa0a6")
LIT = QColor("#f2c94c")
KIND_ROLE = 0  # item data: (kind, layer, index)


def fits_network_view(ex: Any) -> bool:
    """Small dense chains only: Dense / Output layers, each reading the one before, ≤ MAX_UNITS wide."""
    if ex is None or not ex.layers:
        return False
    previous = None
    for t in ex.layers:
        if t.type not in ("Dense", "Output") or t.z.ndim != 2 or t.z.shape[1] > MAX_UNITS:
            return False
        if previous is not None and t.inputs != (previous,):
            return False
        previous = t.name
    return ex.input.ndim == 2 and ex.input.shape[1] <= MAX_UNITS


def _colour(value: float, scale: float, alpha_floor: int = 60) -> QColor:
    base = POSITIVE if value >= 0 else NEGATIVE
    strength = min(1.0, abs(value) / scale) if scale > 0 else 0.0
    colour = QColor(base)
    colour.setAlpha(int(alpha_floor + (255 - alpha_floor) * strength))
    return colour


class _Link(QGraphicsLineItem):
    """A link with a wide hit area, so thin lines are easy to click."""

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.moveTo(self.line().p1())
        path.lineTo(self.line().p2())
        stroker = QPainterPathStroker()
        stroker.setWidth(9.0)
        return stroker.createStroke(path)


class NetworkView(QGraphicsView):
    selected = Signal(object)  # Selection

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("explainNetworkView")
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.NoDrag)
        self.neurons: dict[tuple[str, int], QGraphicsEllipseItem] = {}
        self.biases: dict[tuple[str, int], QGraphicsRectItem] = {}
        self.labels: dict[tuple[str, int], QGraphicsSimpleTextItem] = {}
        self.links: dict[tuple[str, int, int], _Link] = {}
        self.lit: set[tuple[str, int]] = set()
        self.caption: QGraphicsSimpleTextItem | None = None
        self.columns: list[str] = []
        self.ex: Any = None

    # ---- structure ---------------------------------------------------------------------------------

    def set_explanation(self, ex: Any) -> None:
        scene = self.scene()
        scene.clear()
        self.neurons.clear()
        self.biases.clear()
        self.labels.clear()
        self.links.clear()
        self.lit.clear()
        self.ex = ex
        if ex is None:
            return
        sizes = [ex.input.shape[1]] + [t.z.shape[1] for t in ex.layers]
        self.columns = ["(input)"] + [t.name for t in ex.layers]
        centres: list[list[QPointF]] = []
        tallest = max(sizes)
        for c, size in enumerate(sizes):
            top = (tallest - size) * ROW_GAP / 2
            centres.append([QPointF(c * COLUMN_GAP, top + r * ROW_GAP) for r in range(size)])
        font = QFont()
        font.setPointSizeF(7.5)
        for c, t in enumerate(ex.layers, start=1):
            for o, end in enumerate(centres[c]):
                for i, start in enumerate(centres[c - 1]):
                    link = _Link(start.x() + RADIUS, start.y(), end.x() - RADIUS, end.y())
                    link.setData(KIND_ROLE, ("weight", t.name, (o, i)))
                    link.setZValue(0)
                    scene.addItem(link)
                    self.links[(t.name, o, i)] = link
        for c, column in enumerate(self.columns):
            heading = scene.addSimpleText(column if c else "inputs")
            heading.setPos(c * COLUMN_GAP - heading.boundingRect().width() / 2, -RADIUS - 34)
            for r, centre in enumerate(centres[c]):
                circle = QGraphicsEllipseItem(QRectF(centre.x() - RADIUS, centre.y() - RADIUS, 2 * RADIUS, 2 * RADIUS))
                circle.setZValue(2)
                scene.addItem(circle)
                label = QGraphicsSimpleTextItem()
                label.setFont(font)
                label.setZValue(3)
                label.setPos(centre.x() - RADIUS, centre.y() + RADIUS + 1)
                scene.addItem(label)
                key = (column, r)
                self.labels[key] = label
                self.neurons[key] = circle
                if c:
                    circle.setData(KIND_ROLE, ("neuron", column, (r,)))
                    if "bias" in ex.layers[c - 1].params:
                        square = QGraphicsRectItem(QRectF(centre.x() - RADIUS - 6, centre.y() - RADIUS - 6, 9, 9))
                        square.setData(KIND_ROLE, ("bias", column, (r,)))
                        square.setZValue(4)
                        square.setToolTip("bias")
                        scene.addItem(square)
                        self.biases[key] = square
        self.caption = scene.addSimpleText("")
        self.caption.setPos(0, tallest * ROW_GAP + 8)
        self.setSceneRect(scene.itemsBoundingRect().adjusted(-20, -20, 20, 20))
        self.fit()

    def fit(self) -> None:
        if self.scene().items():
            self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self.fit()

    # ---- a stage -----------------------------------------------------------------------------------

    def show_stage(self, stage: Any, sample: int, selection: Selection | None) -> None:
        ex = self.ex
        if ex is None or stage is None:
            return
        order = [t.name for t in ex.layers]
        pos = order.index(stage.layer) if stage.layer in order else len(order) - 1
        self.lit = set()
        text_pen = self.palette().text().color()
        for label in self.labels.values():
            label.setBrush(QBrush(text_pen))
            label.setText("")
        for circle in self.neurons.values():
            circle.setPen(QPen(NEUTRAL, 1.2))
            circle.setBrush(QBrush(self.palette().base().color()))
        x = ex.input[sample]
        for r in range(len(x)):
            self._neuron(("(input)", r), x[r], max(np.abs(x).max(), 1e-12), f"{num(x[r])}")
        kind = stage.kind
        for c, t in enumerate(ex.layers):
            show_forward = kind != "forward" or c <= pos
            show_backward = (kind == "backward" and c >= pos) or kind in ("update", "apply")
            for r in range(t.z.shape[1]):
                key = (t.name, r)
                if show_backward:
                    d = t.delta[sample, r]
                    self._neuron(key, d, max(np.abs(t.delta[sample]).max(), 1e-12), f"δ {num(d)}")
                elif show_forward:
                    a = t.a[sample, r]
                    self._neuron(key, a, max(np.abs(t.a[sample]).max(), 1e-12), f"{num(a)}")
            lit_layer = (kind in ("forward", "backward", "update") and c == pos) or \
                (kind == "loss" and t.type == "Output") or kind == "apply"
            if lit_layer:
                for r in range(t.z.shape[1]):
                    self.neurons[(t.name, r)].setPen(QPen(LIT, 3.5))
                    self.lit.add((t.name, r))
            self._links(t, c, pos, kind, sample)
        if self.caption is not None:
            self.caption.setText(self._caption(stage))
        self._mark(selection)

    def _neuron(self, key: tuple[str, int], value: float, scale: float, text: str) -> None:
        self.neurons[key].setBrush(QBrush(_colour(float(value), float(scale), 25)))
        self.labels[key].setText(text)

    def _links(self, t: Any, c: int, pos: int, kind: str, sample: int) -> None:
        w = t.params["weight"]
        if kind == "forward" and c == pos:
            values = w.value * t.input[sample][None, :]  # each term wᵢ·xᵢ of the weighted sums
        elif kind == "backward" and c >= pos:
            values = w.grad
        elif kind in ("update", "apply") and (c == pos or kind == "apply"):
            values = w.update
        else:
            values = None
        scale = float(np.abs(values).max()) if values is not None else float(np.abs(w.value).max())
        scale = max(scale, 1e-12)
        for (o, i), value in np.ndenumerate(values if values is not None else w.value):
            link = self.links[(t.name, o, i)]
            if values is None:
                colour = QColor(NEUTRAL)
                colour.setAlpha(70)
                link.setPen(QPen(colour, 1.0))
            else:
                link.setPen(QPen(_colour(float(value), scale, 40), 0.8 + 4.2 * min(1.0, abs(value) / scale)))
            link.setZValue(1 if values is not None else 0)

    def _caption(self, stage: Any) -> str:
        ex = self.ex
        if stage.kind == "forward":
            return "Forward pass: links show each term wᵢ·xᵢ of the weighted sums; neurons show a = f(z)."
        if stage.kind == "loss":
            return f"Loss ({ex.loss_name}) = {num(ex.loss)}"
        if stage.kind == "backward":
            return "Backward pass: neurons show δ = ∂L/∂z, links ∂L/∂w = δ·a_prev."
        if stage.kind == "update":
            return f"Update ({ex.optimizer}, η = {num(ex.learning_rate)}): links show each weight's step."
        return "Apply: every weight moves by its step."

    def _mark(self, selection: Selection | None) -> None:
        for square in self.biases.values():
            square.setPen(QPen(NEUTRAL, 1))
            square.setBrush(QBrush(self.palette().base().color()))
        if selection is None:
            return
        if selection.kind == "neuron" and (selection.layer, selection.unit) in self.neurons:
            self.neurons[(selection.layer, selection.unit)].setPen(QPen(self.palette().text().color(), 3.5))
        elif selection.kind == "weight":
            link = self.links.get((selection.layer, *selection.index))
            if link is not None:
                pen = QPen(link.pen())
                pen.setWidthF(max(pen.widthF(), 3.0) + 1.5)
                pen.setColor(self.palette().text().color())
                link.setPen(pen)
                link.setZValue(1.5)
        elif selection.kind == "bias":
            square = self.biases.get((selection.layer, selection.unit))
            if square is not None:
                square.setBrush(QBrush(self.palette().text().color()))

    # ---- clicks ------------------------------------------------------------------------------------

    def item_selection(self, item: QGraphicsItem | None) -> Selection | None:
        while item is not None:
            data = item.data(KIND_ROLE)
            if data:
                kind, layer, index = data
                return Selection(kind, layer, tuple(index))
            item = item.parentItem()
        return None

    def mousePressEvent(self, event: Any) -> None:
        items = self.items(event.position().toPoint())
        # Neurons and bias squares sit above links: prefer them where they overlap.
        for item in sorted(items, key=lambda it: -it.zValue()):
            selection = self.item_selection(item)
            if selection is not None:
                self.selected.emit(selection)
                return
        super().mousePressEvent(event)
