"""The Runs panel: the table of stored runs with its filter and actions, and the comparison tabs below it."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from .compare import RunCurves, SettingsDiff
from .model import UID_ROLE, RunsFilter, RunsTableModel
from .sweep_view import SweepScatter


class RunsPanel(QWidget):
    selection_changed = Signal(list)  # uids of the selected runs, in table order
    cancel_sweep = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runsPanel")
        self.model = RunsTableModel(self)
        self.proxy = RunsFilter(self)
        self.proxy.setSourceModel(self.model)

        self.filter = QLineEdit()
        self.filter.setObjectName("runsFilter")
        self.filter.setPlaceholderText("Filter runs: words that must appear (adam, finished, 0.03…)")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.set_filter_text)
        self.toolbar = QToolBar()
        self.toolbar.setObjectName("runsToolbar")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.where = QLabel()
        self.where.setObjectName("runsStoreLabel")
        self.where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.table = QTableView()
        self.table.setObjectName("runsTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self.selection_changed.emit(self.selected()))

        self.curves = RunCurves()
        self.diff = SettingsDiff()
        self.scatter = SweepScatter()
        self.tabs = QTabWidget()
        self.tabs.setObjectName("runsCompareTabs")
        self.tabs.addTab(self.curves, "Curves")
        self.tabs.addTab(self.diff, "Settings diff")
        self.tabs.addTab(self.scatter, "Sweep")

        self.progress = QProgressBar()
        self.progress.setObjectName("runsSweepProgress")
        self.progress.setFormat("Sweep: %v of %m runs")
        self.cancel = QPushButton("Cancel sweep")
        self.cancel.setObjectName("runsCancelSweep")
        self.cancel.clicked.connect(self.cancel_sweep.emit)
        self.progress_row = QWidget()
        row = QHBoxLayout(self.progress_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel)
        self.progress_row.hide()

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.toolbar)
        top_layout.addWidget(self.filter)
        top_layout.addWidget(self.progress_row)
        top_layout.addWidget(self.table, 1)
        top_layout.addWidget(self.where)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("runsSplitter")
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.splitter)

    def add_actions(self, actions: list[QAction]) -> None:
        for action in actions:
            self.toolbar.addAction(action)
            self.addAction(action)

    def selected(self) -> list[str]:
        rows = sorted(self.table.selectionModel().selectedRows(), key=lambda i: i.row())
        return [self.proxy.data(i, UID_ROLE) for i in rows]

    def select(self, uids: list[str]) -> None:
        from PySide6.QtCore import QItemSelection, QItemSelectionModel

        selection = QItemSelection()
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if self.proxy.data(index, UID_ROLE) in uids:
                selection.select(index, self.proxy.index(row, self.proxy.columnCount() - 1))
        self.table.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
