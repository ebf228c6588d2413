"""The canvas scene: the graphics scene that mirrors the design document and turns mouse gestures into undo commands.

The scene subscribes to the session's events and keeps a layer id → block map and a connection →
item map; it changes the document only by pushing undo commands (drop a layer, connect two ports,
finish a drag). Tests drive the same entry points the mouse handlers use: `add_layer_at`,
`begin_connection` / `update_connection` / `finish_connection`, `connect_layers` and `commit_moves`.
The view that shows and navigates it is `view.CanvasView`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsSceneDragDropEvent,
    QGraphicsSceneMouseEvent,
    QWidget,
)

from nnstudio.core import Connection, DesignError, DesignEvent, InferenceResult, fmt_shape

from ..base.locations import DESIGN_SUFFIX
from ..base.theme import CanvasColours
from ..editor.commands import AddLayerCommand, ConnectCommand, MoveCommand
from ..editor.session import DesignSession
from .blockstyle import make_block_style
from .items import BlockItem, PortItem
from .links import ConnectionItem, DragLine

MIME_LAYER_TYPE = "application/x-nnstudio-layer-type"
_SCENE_MARGIN = 20_000.0


class CanvasScene(QGraphicsScene):
    """Mirrors one design session: blocks for layers, curves for connections, shapes from inference."""

    status_message = Signal(str, bool)  # text, is_error
    files_dropped = Signal(list)  # list[Path] of design files dropped on the canvas
    layers_added = Signal(list)  # ids of layers the user just added (to select them)

    def __init__(self, session: DesignSession, colours: CanvasColours | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvasScene")
        self.session = session
        self.style = make_block_style(colours)
        self.blocks: dict[str, BlockItem] = {}
        self.connection_items: dict[Connection, ConnectionItem] = {}
        self.show_shapes = True
        self.show_grid = True
        self.cache_blocks = True
        self._drag_line: DragLine | None = None
        self._drag_from: tuple[str, bool] | None = None  # (layer id, started at an output port)
        self._candidate: PortItem | None = None
        # BSP indexing costs more than it saves for items that move as often as blocks do.
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        session.changed.connect(self._on_changed)
        session.inferred.connect(self._on_inferred)
        self.rebuild()

    @property
    def design(self):
        return self.session.design

    # ---- mirroring the document ------------------------------------------------------------------

    def rebuild(self) -> None:
        """Recreate every item from the document (on open, and on a 'reset' event)."""
        self.cancel_connection()
        for item in self.connection_items.values():
            self._drop_connection_item(item)
        self.connection_items.clear()
        for block in list(self.blocks.values()):
            self.removeItem(block)
        self.blocks.clear()
        for layer_id in self.design.layers:
            self._add_block(layer_id)
        for conn in self.design.connections:
            self._add_connection(conn)
        self._on_inferred(self.session.inference)
        self.update_scene_rect()

    def _on_changed(self, event: DesignEvent) -> None:
        kind = event.kind
        if kind == "layer_added":
            self._add_block(event.layer_id)
        elif kind == "layer_removed":
            block = self.blocks.pop(event.layer_id, None)
            if block is not None:
                if self._drag_from and self._drag_from[0] == event.layer_id:
                    self.cancel_connection()
                self.removeItem(block)
        elif kind == "connected":
            self._add_connection(event.connection)
        elif kind == "disconnected":
            item = self.connection_items.pop(event.connection, None)
            if item is not None:
                self._drop_connection_item(item)
        elif kind == "moved":
            block = self.blocks.get(event.layer_id)
            if block is not None:
                block.setPos(*event.value)
        elif kind == "reset":
            self.rebuild()
        elif kind == "training_changed" and event.value.recipe != event.old.recipe:
            self._on_inferred(self.session.inference)  # the Output block names the recipe's activation

    def _add_block(self, layer_id: str) -> None:
        layer = self.design.layers[layer_id]
        block = BlockItem(layer, self.style)
        if not self.cache_blocks:
            block.setCacheMode(QGraphicsItem.CacheMode.NoCache)
        self.blocks[layer_id] = block
        self.addItem(block)

    def _add_connection(self, conn: Connection) -> None:
        source, target = self.blocks.get(conn.source), self.blocks.get(conn.target)
        if source is None or target is None or conn in self.connection_items:
            return
        item = ConnectionItem(conn, source, target, self.style)
        item.set_show_label(self.show_shapes)
        self.connection_items[conn] = item
        self.addItem(item)

    def _drop_connection_item(self, item: ConnectionItem) -> None:
        item.detach()
        self.removeItem(item)

    def _on_inferred(self, result: InferenceResult) -> None:
        design = self.design
        by_layer: dict[str, list] = {}
        for d in result.diagnostics:
            if d.layer_id is not None:
                by_layer.setdefault(d.layer_id, []).append(d)
        for layer_id, block in self.blocks.items():
            layer = design.layers.get(layer_id)
            if layer is not None:
                block.show_layer(layer, result.shapes.get(layer_id), by_layer.get(layer_id, []),
                                 result.params.get(layer_id), design.training.recipe)
        refused = {lid: msgs for lid, msgs in by_layer.items() if result.refuses_inputs(lid)}
        for conn, item in self.connection_items.items():
            shape = result.shapes.get(conn.source)
            label = fmt_shape(shape) if shape is not None else ""
            problem = None
            if conn.target in refused:
                problem = "; ".join(d.message for d in refused[conn.target] if d.severity == "error")
            src, dst = design.layers[conn.source].name, design.layers[conn.target].name
            tooltip = f"{src} → {dst}" + (f": {label}" if label else "")
            if problem:
                tooltip += f"\n{problem}"
            item.set_info(label, problem, tooltip)

    def set_colours(self, colours: CanvasColours) -> None:
        """Follow a palette change (light ↔ dark)."""
        self.style = make_block_style(colours)
        for block in self.blocks.values():
            block.set_style(self.style)
        for item in self.connection_items.values():
            item.set_style(self.style)
        self.update()

    def set_item_caching(self, enabled: bool) -> None:
        """Blocks are cached as pixmaps for fast dragging; exports need them drawn as vectors."""
        self.cache_blocks = enabled
        mode = QGraphicsItem.CacheMode.DeviceCoordinateCache if enabled else QGraphicsItem.CacheMode.NoCache
        for block in self.blocks.values():
            block.setCacheMode(mode)

    def set_show_shapes(self, show: bool) -> None:
        self.show_shapes = show
        for item in self.connection_items.values():
            item.set_show_label(show)

    def set_show_grid(self, show: bool) -> None:
        self.show_grid = show
        self.invalidate(self.sceneRect(), QGraphicsScene.SceneLayer.BackgroundLayer)

    def update_scene_rect(self) -> None:
        """Keep generous room around the blocks so the view can pan past them."""
        bounds = QRectF(-2000, -1500, 4000, 3000)
        for block in self.blocks.values():
            bounds = bounds.united(block.sceneBoundingRect())
        self.setSceneRect(bounds.adjusted(-_SCENE_MARGIN, -_SCENE_MARGIN, _SCENE_MARGIN, _SCENE_MARGIN))

    def blocks_rect(self) -> QRectF:
        rect = QRectF()
        for block in self.blocks.values():
            rect = rect.united(block.sceneBoundingRect())
        return rect

    # ---- selection -------------------------------------------------------------------------------

    def selected_layer_ids(self) -> list[str]:
        """Selected layers in document order."""
        chosen = {item.layer_id for item in self.selectedItems() if isinstance(item, BlockItem)}
        return [lid for lid in self.design.layers if lid in chosen]

    def selected_connections(self) -> list[Connection]:
        return [item.connection for item in self.selectedItems() if isinstance(item, ConnectionItem)]

    def select_layers(self, layer_ids) -> None:
        wanted = set(layer_ids)
        self.blockSignals(True)
        try:
            self.clearSelection()
            for lid in wanted:
                if lid in self.blocks:
                    self.blocks[lid].setSelected(True)
        finally:
            self.blockSignals(False)
        self.selectionChanged.emit()

    # ---- adding layers ---------------------------------------------------------------------------

    def snap(self, point: QPointF) -> tuple[float, float]:
        g = self.style.grid
        return (round(point.x() / g) * g, round(point.y() / g) * g)

    def add_layer_at(self, type_name: str, scene_pos: QPointF, connect_from: str | None = None) -> str | None:
        """Add a layer whose block is centred on `scene_pos`; returns its id, or None if refused."""
        corner = scene_pos - QPointF(self.style.width / 2, self.style.height / 2)
        command = AddLayerCommand(self.design, type_name, self.snap(corner), connect_from=connect_from)
        if not self.session.push(command):
            self.status_message.emit(str(command.error), True)
            return None
        self.layers_added.emit([command.layer_id])
        return command.layer_id

    def free_spot_right_of(self, layer_id: str | None) -> QPointF:
        """Centre of a free place: right of the given layer, else right of everything."""
        step = self.style.column_step
        if layer_id in self.blocks:
            centre = self.blocks[layer_id].sceneBoundingRect().center() + QPointF(step, 0)
        elif self.blocks:
            rect = self.blocks_rect()
            centre = QPointF(rect.right() + step - self.style.width / 2, rect.center().y())
        else:
            centre = QPointF(0, 0)
        for _ in range(200):  # step down until no block is in the way
            probe = QRectF(centre.x() - self.style.width / 2, centre.y() - self.style.height / 2,
                           self.style.width, self.style.height)
            if not any(isinstance(i, BlockItem) for i in self.items(probe)):
                break
            centre += QPointF(0, self.style.row_step)
        return centre

    def dragEnterEvent(self, event: QGraphicsSceneDragDropEvent) -> None:
        if self._accepts(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QGraphicsSceneDragDropEvent) -> None:
        self.dragEnterEvent(event)

    def dragLeaveEvent(self, event: QGraphicsSceneDragDropEvent) -> None:
        event.accept()

    def dropEvent(self, event: QGraphicsSceneDragDropEvent) -> None:
        mime = event.mimeData()
        if mime.hasFormat(MIME_LAYER_TYPE):
            type_name = bytes(mime.data(MIME_LAYER_TYPE).data()).decode("utf-8", "replace")
            event.acceptProposedAction()
            self.add_layer_at(type_name, event.scenePos())
            return
        files = _design_files(mime)
        if files:
            event.acceptProposedAction()
            self.files_dropped.emit(files)
            return
        event.ignore()

    @staticmethod
    def _accepts(event: QGraphicsSceneDragDropEvent) -> bool:
        mime = event.mimeData()
        return mime.hasFormat(MIME_LAYER_TYPE) or bool(_design_files(mime))

    # ---- connecting ------------------------------------------------------------------------------

    def begin_connection(self, layer_id: str, from_output: bool = True) -> None:
        """Start dragging a connection out of a layer's output port (or back from its input port)."""
        self.cancel_connection()
        block = self.blocks[layer_id]
        self._drag_from = (layer_id, from_output)
        self._drag_line = DragLine(self.style)
        self.addItem(self._drag_line)
        anchor = block.output_anchor() if from_output else block.input_anchor()
        self._set_drag_line(anchor, "")

    def update_connection(self, scene_pos: QPointF) -> str | None:
        """Live feedback while dragging: returns the refusal message, or None when a drop here would work."""
        if self._drag_from is None:
            return None
        target = self._drop_target(scene_pos)
        port = target[1] if target is not None else None
        message: str | None = None
        state = ""
        if target is not None:
            try:
                self.design.check_connection(*self._ends(target[0]))
                state = "accept"
            except DesignError as exc:
                state, message = "refuse", str(exc)
        if self._candidate is not None and self._candidate is not port:
            self._candidate.set_state("")
        self._candidate = port
        end = scene_pos
        if port is not None:
            port.set_state(state)
            end = port.block.output_anchor() if port.is_output else port.block.input_anchor()
        self._set_drag_line(end, state)
        if message:
            self.status_message.emit(message, True)
        elif state == "accept":
            self.status_message.emit("Release to connect", False)
        return message

    def finish_connection(self, scene_pos: QPointF) -> bool:
        """Drop the dragged connection at `scene_pos`: connects when a compatible layer is there."""
        if self._drag_from is None:
            return False
        target = self._drop_target(scene_pos)
        ends = self._ends(target[0]) if target is not None else None
        self.cancel_connection()
        if ends is None:
            self.status_message.emit("", False)
            return False
        return self.connect_layers(*ends)

    def cancel_connection(self) -> None:
        if self._candidate is not None:
            self._candidate.set_state("")
            self._candidate = None
        if self._drag_line is not None:
            self.removeItem(self._drag_line)
            self._drag_line = None
        self._drag_from = None

    @property
    def connecting(self) -> bool:
        return self._drag_from is not None

    def connect_layers(self, source: str, target: str) -> bool:
        """Connect source → target through an undo command; on refusal the status bar says why."""
        try:
            self.design.check_connection(source, target)
        except DesignError as exc:
            self.status_message.emit(str(exc), True)
            return False
        command = ConnectCommand(self.design, source, target)
        if not self.session.push(command):
            self.status_message.emit(str(command.error), True)
            return False
        self.status_message.emit(command.text(), False)
        return True

    def _ends(self, other: str) -> tuple[str, str]:
        start, from_output = self._drag_from
        return (start, other) if from_output else (other, start)

    def _drop_target(self, scene_pos: QPointF) -> tuple[str, PortItem | None] | None:
        """The layer a drop at `scene_pos` would connect to, with its matching port (None when it has
        none, e.g. an Input's missing input): a port under the mouse, or any point of a block."""
        assert self._drag_from is not None
        start, from_output = self._drag_from
        r = self.style.port_radius * 2
        for item in self.items(QRectF(scene_pos.x() - r, scene_pos.y() - r, 2 * r, 2 * r)):
            if isinstance(item, PortItem) and item.is_output != from_output and item.layer_id != start:
                return item.layer_id, item
        for item in self.items(scene_pos):
            block = item if isinstance(item, BlockItem) else item.parentItem()
            if isinstance(block, BlockItem) and block.layer_id != start:
                return block.layer_id, block.input_port if from_output else block.output_port
        return None

    def _set_drag_line(self, end: QPointF, state: str) -> None:
        start_id, from_output = self._drag_from
        block = self.blocks[start_id]
        if from_output:
            self._drag_line.set_ends(block.output_anchor(), end, state)
        else:
            self._drag_line.set_ends(end, block.input_anchor(), state)

    # ---- moving ----------------------------------------------------------------------------------

    def commit_moves(self) -> bool:
        """After a drag: snap the moved blocks to the grid and record all of them as one undo step."""
        moves = {}
        for item in self.selectedItems():
            if not isinstance(item, BlockItem) or item.layer_id not in self.design.layers:
                continue
            old = self.design.layers[item.layer_id].position
            if (item.pos().x(), item.pos().y()) == old:
                continue  # clicked, not dragged: an off-grid position from a file stays as it is
            new = self.snap(item.pos())
            if new != old:
                moves[item.layer_id] = (old, new)
            else:
                item.setPos(*old)
        if not moves:
            return False
        self.session.push(MoveCommand(self.design, moves))
        self.update_scene_rect()
        return True

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and not self.connecting:
            self.commit_moves()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.connecting:
            grabber = self.mouseGrabberItem()
            if grabber is not None:
                grabber.ungrabMouse()
            self.cancel_connection()
            self.status_message.emit("Connection cancelled", False)
            event.accept()
            return
        super().keyPressEvent(event)


def _design_files(mime) -> list[Path]:
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls()
            if url.isLocalFile() and url.toLocalFile().endswith(DESIGN_SUFFIX)]
