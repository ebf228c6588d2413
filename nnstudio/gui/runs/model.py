"""The runs table's Qt model: one row per stored run, sortable by value, filterable by text, name/note editable."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt, Signal

from nnstudio.runs import RunRecord

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
UID_ROLE = Qt.ItemDataRole.UserRole + 2
COLUMNS = ("Name", "Status", "Started", "Epochs", "Optimizer", "Learning rate", "Seed", "Val loss",
           "Val accuracy", "Note")
EDITABLE = {0: "name", 9: "note"}
_Index = QModelIndex | QPersistentModelIndex


def run_label(run: RunRecord) -> str:
    return run.name or f"run {run.uid[:6]}"


class RunsTableModel(QAbstractTableModel):
    edited = Signal(str, str, str)  # uid, field ("name" / "note"), new text

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.runs: list[RunRecord] = []

    def set_runs(self, runs: list[RunRecord]) -> None:
        self.beginResetModel()
        self.runs = list(runs)
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802 - Qt's signature
        return 0 if parent.isValid() else len(self.runs)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsEditable if index.column() in EDITABLE else base

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        run = self.runs[index.row()]
        if role == UID_ROLE:
            return run.uid
        value = self._value(run, index.column())
        if role == SORT_ROLE:
            if value is None:
                return float("-inf") if 3 <= index.column() <= 8 else ""
            return value
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return self._text(run, index.column(), value, edit=role == Qt.ItemDataRole.EditRole)
        if role == Qt.ItemDataRole.ToolTipRole:
            if index.column() == 1 and run.message:
                return run.message
            return f"run {run.uid} · design {run.design_file or '(unsaved)'} · {run.device}"
        if role == Qt.ItemDataRole.TextAlignmentRole and 3 <= index.column() <= 8:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if role != Qt.ItemDataRole.EditRole or index.column() not in EDITABLE:
            return False
        run = self.runs[index.row()]
        text = str(value).strip()[:200]
        key = EDITABLE[index.column()]
        setattr(run, key, text)
        self.dataChanged.emit(index, index)
        self.edited.emit(run.uid, key, text)
        return True

    @staticmethod
    def _value(run: RunRecord, column: int) -> Any:
        training = run.settings.get("training", {})
        return (run.name or run.uid, run.status, run.started_at, run.epochs, training.get("optimizer", ""),
                training.get("learning_rate"), run.seed, run.val_loss, run.val_accuracy, run.note)[column]

    @staticmethod
    def _text(run: RunRecord, column: int, value: Any, edit: bool) -> str:
        if column == 0:
            return run.name if edit else run_label(run)
        if column == 2:
            return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value))
        if value is None:
            return "" if edit else "–"
        if column == 5:
            return f"{value:g}"
        if column == 7:
            return f"{value:.4g}"
        if column == 8:
            return f"{value:.3f}"
        return str(value)


class RunsFilter(QSortFilterProxyModel):
    """Sorts by the values behind the cells (numbers as numbers) and keeps rows whose text contains every
    word of the filter (`adam 0.1`, `finished`)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self._words: list[str] = []

    def set_filter_text(self, text: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.9+; invalidateFilter() is deprecated there
            self.beginFilterChange()
            self._words = text.lower().split()
            self.endFilterChange()
        else:  # pragma: no cover - older Qt
            self._words = text.lower().split()
            self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent: _Index) -> bool:  # noqa: N802
        if not self._words:
            return True
        model = self.sourceModel()
        text = " ".join(str(model.data(model.index(row, c, parent)) or "") for c in range(model.columnCount())).lower()
        return all(word in text for word in self._words)

    def lessThan(self, left: _Index, right: _Index) -> bool:  # noqa: N802
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        try:
            return a < b
        except TypeError:
            return str(a) < str(b)
