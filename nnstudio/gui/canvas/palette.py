"""The layer palette: every layer type by catalogue group, with a one-line description and a search field.

Drag a layer onto the canvas, or double-click it (or press Enter) to add it next to the selection.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QModelIndex, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetricsF, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core import GROUPS, LAYER_TYPES

from ..base.theme import group_colour, mix
from .scene import MIME_LAYER_TYPE

TYPE_ROLE = Qt.ItemDataRole.UserRole
DESCRIPTION_ROLE = Qt.ItemDataRole.UserRole + 1


def swatch_icon(colour: QColor, size: int = 12, ratio: float = 2.0) -> QIcon:
    """A small rounded square in a group's colour, sharp on high-DPI screens."""
    pixmap = QPixmap(round(size * ratio), round(size * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    painter.drawRoundedRect(QRectF(1, 1, size - 2, size - 2), 3, 3)
    painter.end()
    return QIcon(pixmap)


class _LayerDelegate(QStyledItemDelegate):
    """Layer rows on two lines: the type's name, and its description smaller and dimmer."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        size = super().sizeHint(option, index)
        if index.data(TYPE_ROLE) is None:
            return size
        line = QFontMetricsF(option.font).height()
        return QSize(size.width(), round(line * 2 + line * 0.6))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        if index.data(TYPE_ROLE) is None:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        description = index.data(DESCRIPTION_ROLE) or ""
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        rect = QRectF(opt.rect)
        line = QFontMetricsF(opt.font).height()
        icon_space = opt.decorationSize.width() + line * 0.5
        text_rect = rect.adjusted(icon_space + line * 0.2, line * 0.3, -line * 0.3, -line * 0.3)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        palette = opt.palette
        text_colour = palette.highlightedText().color() if selected else palette.text().color()
        dim = mix(palette.base().color(), text_colour, 0.65) if not selected else text_colour
        painter.save()
        painter.setFont(opt.font)
        painter.setPen(text_colour)
        painter.drawText(QRectF(text_rect.left(), text_rect.top(), text_rect.width(), line),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, index.data())
        small = opt.font
        small.setPointSizeF(opt.font.pointSizeF() * 0.9)
        painter.setFont(small)
        painter.setPen(dim)
        metrics = QFontMetricsF(small)
        painter.drawText(QRectF(text_rect.left(), text_rect.top() + line, text_rect.width(), line),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         metrics.elidedText(description, Qt.TextElideMode.ElideRight, text_rect.width()))
        painter.restore()


class _LayerTree(QTreeWidget):
    activated_by_key = Signal(QTreeWidgetItem)

    def keyPressEvent(self, event) -> None:
        # Enter adds the current layer; activation on single click (a platform setting) would add layers
        # when a user only meant to start a drag, so mouse activation is double-click only.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentItem() is not None:
            self.activated_by_key.emit(self.currentItem())
            event.accept()
            return
        super().keyPressEvent(event)

    def mimeData(self, items: list[QTreeWidgetItem]) -> QMimeData:
        mime = QMimeData()
        types = [item.data(0, TYPE_ROLE) for item in items if item.data(0, TYPE_ROLE)]
        if types:
            mime.setData(MIME_LAYER_TYPE, types[0].encode("utf-8"))
        return mime

    def mimeTypes(self) -> list[str]:
        return [MIME_LAYER_TYPE]


class LayerPalette(QWidget):
    """Layer types grouped by the catalogue's groups; emits `layer_requested` on double-click or Enter."""

    layer_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("palette")
        self.search = QLineEdit(self)
        self.search.setObjectName("paletteSearch")
        self.search.setPlaceholderText("Search layers…")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Filter layers by name or description")
        self.tree = _LayerTree(self)
        self.tree.setObjectName("paletteList")
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(False)
        self.tree.setIndentation(0)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setItemDelegate(_LayerDelegate(self.tree))
        self.tree.setUniformRowHeights(False)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.tree.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tree.setToolTip("")
        self._items: dict[str, QTreeWidgetItem] = {}
        self._groups: dict[str, QTreeWidgetItem] = {}
        self._populate()
        layout = QVBoxLayout(self)
        margin = self.fontMetrics().height() // 3
        layout.setContentsMargins(margin, margin, margin, margin)
        layout.setSpacing(margin)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self.search.textChanged.connect(self.filter)
        self.tree.itemDoubleClicked.connect(self._activated)
        self.tree.activated_by_key.connect(lambda item: self._activated(item, 0))

    def _populate(self) -> None:
        groups = list(GROUPS) + sorted({t.group for t in LAYER_TYPES.values()} - set(GROUPS))
        for group in groups:
            types = [t for t in LAYER_TYPES.values() if t.group == group]
            if not types:
                continue
            head = QTreeWidgetItem(self.tree, [group.upper()])
            head.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = head.font(0)
            font.setBold(True)
            font.setPointSizeF(font.pointSizeF() * 0.85)
            head.setFont(0, font)
            head.setForeground(0, mix(self.palette().base().color(), self.palette().text().color(), 0.6))
            self._groups[group] = head
            icon = swatch_icon(group_colour(group))
            for ltype in types:
                item = QTreeWidgetItem(head, [ltype.name])
                item.setData(0, TYPE_ROLE, ltype.name)
                item.setData(0, DESCRIPTION_ROLE, ltype.description)
                item.setIcon(0, icon)
                item.setToolTip(0, f"<b>{ltype.name}</b><br>{ltype.description}<br><i>Drag onto the canvas, "
                                   "or double-click to add it after the selected layer.</i>")
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                              | Qt.ItemFlag.ItemIsDragEnabled)
                self._items[ltype.name] = item
            head.setExpanded(True)

    def filter(self, text: str) -> None:
        """Show only layers whose name or description contains every word typed."""
        words = text.lower().split()
        for group, head in self._groups.items():
            visible = 0
            for i in range(head.childCount()):
                item = head.child(i)
                haystack = f"{item.text(0)} {item.data(0, DESCRIPTION_ROLE)} {group}".lower()
                shown = all(w in haystack for w in words)
                item.setHidden(not shown)
                visible += shown
            head.setHidden(visible == 0)

    def item_for(self, type_name: str) -> QTreeWidgetItem:
        return self._items[type_name]

    def visible_types(self) -> list[str]:
        return [name for name, item in self._items.items() if not item.isHidden() and not item.parent().isHidden()]

    def mime_for(self, type_name: str) -> QMimeData:
        """The drag data for one layer type, exactly as a drag out of the list carries it."""
        return self.tree.mimeData([self._items[type_name]])

    def _activated(self, item: QTreeWidgetItem, column: int = 0) -> None:
        type_name = item.data(0, TYPE_ROLE)
        if type_name:
            self.layer_requested.emit(type_name)
