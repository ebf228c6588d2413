"""The Problems panel: every diagnostic of the design in one list; clicking one selects its layer.

It follows the session's inference results, so it is always the list the canvas draws; the status bar's
problems button opens it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from ..base.theme import canvas_colours

LAYER_ROLE = Qt.ItemDataRole.UserRole


class ProblemsPanel(QListWidget):
    """One row per error or warning (errors first), naming the layer; activating a row selects it."""

    layer_activated = Signal(str)

    def __init__(self, session: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("problemsPanel")
        self.session = session
        self.setWordWrap(True)
        self.setAlternatingRowColors(False)
        self.setToolTip("Problems in the design: click one to select its layer")
        self.itemClicked.connect(self._activated)
        self.itemActivated.connect(self._activated)
        session.inferred.connect(self.show_result)
        self.show_result(session.inference)

    def show_result(self, result: Any) -> None:
        self.clear()
        colours = canvas_colours(self.palette())
        diagnostics = sorted(result.diagnostics, key=lambda d: d.severity != "error")
        if not diagnostics:
            item = QListWidgetItem("✓ The design has no problems")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            item.setForeground(colours.accept)
            self.addItem(item)
            return
        design = self.session.design
        for d in diagnostics:
            error = d.severity == "error"
            layer = design.layers.get(d.layer_id) if d.layer_id is not None else None
            where = f"{layer.name}: " if layer is not None and layer.name not in d.message else ""
            item = QListWidgetItem(f"{'●' if error else '▲'}  {where}{d.message}")
            item.setForeground(colours.error if error else colours.warning)
            item.setData(LAYER_ROLE, d.layer_id)
            item.setToolTip(d.message)
            self.addItem(item)

    @property
    def problems(self) -> list[str]:
        return [self.item(i).text() for i in range(self.count()) if self.item(i).data(LAYER_ROLE) is not None
                or self.item(i).flags() != Qt.ItemFlag.NoItemFlags]

    def _activated(self, item: QListWidgetItem) -> None:
        layer_id = item.data(LAYER_ROLE)
        if isinstance(layer_id, str):
            self.layer_activated.emit(layer_id)
