"""The main window's editing commands: delete, copy / cut / paste / duplicate, select all, auto layout, align.

A mixin of `MainWindow` (its part for the Edit menu); every change goes through an undo command of
`editor.commands`, pushed on the design session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF
from PySide6.QtGui import QGuiApplication

# The canvas and the undo commands are imported by each command on first use: the window's first stage
# (frame.py) imports this mixin and must stay light (see mainwindow.py).
if TYPE_CHECKING:
    from nnstudio.core import Design

    from ..canvas.scene import CanvasScene
    from ..canvas.view import CanvasView
    from ..editor.session import DesignSession


class WindowEditing:
    """Edit-menu commands on the canvas selection (mixed into `MainWindow`)."""

    session: DesignSession
    scene: CanvasScene
    canvas: CanvasView
    _paste_source: str | None
    _paste_count: int

    # provided by the window
    design: Design
    status: Callable[..., None]

    def delete_selection(self) -> bool:
        from ..editor.commands import RemoveCommand

        layers = self.scene.selected_layer_ids()
        connections = self.scene.selected_connections()
        if not layers and not connections:
            return False
        return self.session.push(RemoveCommand(self.design, layers, connections))

    def copy_selection(self) -> bool:
        from ..canvas.fragment import make_fragment, put_on_clipboard

        ids = self.scene.selected_layer_ids()
        if not ids:
            self.status("Select layers to copy")
            return False
        put_on_clipboard(make_fragment(self.design, ids))
        self.status(f"Copied {len(ids)} layer{'s' if len(ids) != 1 else ''}")
        return True

    def cut_selection(self) -> bool:
        from ..editor.commands import RemoveCommand

        if not self.copy_selection():
            return False
        layers = self.scene.selected_layer_ids()
        command = RemoveCommand(self.design, layers)
        command.setText(command.text().replace("Delete", "Cut", 1))
        return self.session.push(command)

    def paste(self) -> bool:
        from ..canvas.fragment import fragment_bounds, fragment_from_mime

        mime = QGuiApplication.clipboard().mimeData()
        fragment = fragment_from_mime(mime)
        if not fragment or not fragment["layers"]:
            self.status("The clipboard holds no layers")
            return False
        key = repr(fragment)
        self._paste_count = self._paste_count + 1 if key == self._paste_source else 1
        self._paste_source = key
        step = self.scene.style.grid * 3
        offset = (step * self._paste_count, step * self._paste_count)
        cursor = self.canvas.mapFromGlobal(self.canvas.cursor().pos())
        if self.canvas.viewport().rect().contains(cursor) and self.canvas.underMouse():
            # Pasting with the mouse over the canvas puts the copy there.
            left, top = fragment_bounds(fragment)
            where = self.canvas.mapToScene(cursor)
            offset = self.scene.snap(QPointF(where.x() - left, where.y() - top))
        return self._push_fragment(fragment, self._free_offset(fragment, offset, step), "Paste")

    def _free_offset(self, fragment, offset, step: float) -> tuple[float, float]:
        """Move a paste on, a few grid steps at a time, until no pasted block lands on an existing one."""
        taken = [layer.position for layer in self.design.layers.values()]
        near = step * 0.9
        dx, dy = float(offset[0]), float(offset[1])
        for _ in range(50):
            spots = [(item["position"][0] + dx, item["position"][1] + dy) for item in fragment["layers"]]
            if not any(abs(x - tx) < near and abs(y - ty) < near for x, y in spots for tx, ty in taken):
                break
            dx, dy = dx + step, dy + step
        return dx, dy

    def duplicate_selection(self) -> bool:
        from ..canvas.fragment import make_fragment

        ids = self.scene.selected_layer_ids()
        if not ids:
            return False
        step = self.scene.style.grid * 3
        return self._push_fragment(make_fragment(self.design, ids), (step, step), "Duplicate")

    def _push_fragment(self, fragment, offset, verb: str) -> bool:
        from ..editor.commands import PasteCommand

        command = PasteCommand(self.design, fragment, offset, verb=verb)
        if not self.session.push(command):
            self.status(f"Could not {verb.lower()}: {command.error}", error=True)
            return False
        self.select_layers(command.layer_ids)
        count = len(command.layer_ids)
        self.status(f"{verb.rstrip('e')}ed {count} layer{'s' if count != 1 else ''}")
        return True

    def select_all(self) -> None:
        self.select_layers(self.design.layers)

    def auto_layout(self, fit: bool = True) -> bool:
        from ..canvas.layout import layered_layout
        from ..editor.commands import AutoLayoutCommand

        style = self.scene.style
        positions = layered_layout(self.design, style.column_step, style.row_step)
        command = AutoLayoutCommand(self.design, positions)
        if not command.steps:
            if fit:
                self.canvas.fit_all()
            return False
        self.session.push(command)
        self.scene.update_scene_rect()
        if fit:
            self.canvas.fit_all()
        return True

    def align_selection(self, horizontal: bool) -> bool:
        """Line the selected layers up in a row (same y) or a column (same x)."""
        from ..editor.commands import MoveCommand

        ids = self.scene.selected_layer_ids()
        if len(ids) < 2:
            return False
        positions = [self.design.layers[lid].position for lid in ids]
        if horizontal:
            y = sorted(p[1] for p in positions)[len(positions) // 2]
            moves = {lid: (pos, (pos[0], y)) for lid, pos in zip(ids, positions, strict=True)}
            text = f"Align {len(ids)} layers in a row"
        else:
            x = sorted(p[0] for p in positions)[len(positions) // 2]
            moves = {lid: (pos, (x, pos[1])) for lid, pos in zip(ids, positions, strict=True)}
            text = f"Align {len(ids)} layers in a column"
        command = MoveCommand(self.design, moves, text)
        return bool(command.steps) and self.session.push(command)

    def add_layer_from_palette(self, type_name: str) -> str | None:
        """Double-click in the palette: add the layer after the selected one (connected), or at a free place."""
        selected = self.scene.selected_layer_ids()
        anchor = selected[-1] if len(selected) == 1 else None
        where = self.scene.free_spot_right_of(anchor)
        layer_id = self.scene.add_layer_at(type_name, where, connect_from=anchor)
        if layer_id is not None:
            self.canvas.ensureVisible(self.scene.blocks[layer_id])
        return layer_id
