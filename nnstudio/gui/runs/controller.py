"""The Runs panel in the window: which store it shows, logging the window's runs, and the panel's actions.

The store follows the window's design file (`nnstudio.runs.store_path_for`: beside the design, or the data
folder for examples and read-only folders); an untitled design keeps the store it had, so a restored run's
next runs land beside it. Every run the window trains is recorded by a `RunRecorder` that the training
controller adds to the run's Trainer callbacks (`controller.callback_factories`); its writes go to the store's
writer thread, never the GUI thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDockWidget

from nnstudio.core.errors import NNStudioError
from nnstudio.runs import RunStore, StoreError, checkpoint_folder, design_key, store_path_for

from ..base.dock_layout import scrolling
from .host import RunsHost
from .panel import RunsPanel

if TYPE_CHECKING:
    from ..training.controller import TrainingController
    from .sweep_dialog import SweepRunner

REFRESH_MS = 1500


class RunsController(QObject):
    refreshed = Signal()
    store_changed = Signal(object)  # Path of the store now shown

    def __init__(self, window: RunsHost, training: TrainingController) -> None:
        super().__init__(window.qt_window())
        self.setObjectName("runsController")
        self.window = window
        self.training = training
        self.store: RunStore | None = None
        self.store_path: Path | None = None
        self.branch_parent = ""  # the run the next window run continues (set by Branch)
        self._retired: list[RunStore] = []  # stores shown before the design file changed
        self.panel = RunsPanel()
        self.actions: dict[str, QAction] = {}
        self._create_actions()
        self.panel.model.edited.connect(self._edited)
        self.panel.selection_changed.connect(self._selection_changed)
        self.panel.cancel_sweep.connect(self.cancel_sweep)
        self.dock = self._add_dock()
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._tick)
        self.sweep_runner: SweepRunner | None = None

        training.callback_factories.append(self.make_recorder)
        training.run_finished.connect(lambda _outcome: self.refresh())
        training.phase_changed.connect(self._phase_changed)
        window.session.path_changed.connect(lambda path: self.bind(path) if path is not None else None)
        window.closing.connect(self.shutdown)
        self.bind(window.session.path)

    # ---- building ------------------------------------------------------------------------------------

    def _action(self, key: str, text: str, slot: Any, tip: str, shortcut: str | None = None) -> QAction:
        action = QAction(text, self.panel)
        action.setObjectName(f"actionRuns{key}")
        action.setToolTip(tip)
        action.setStatusTip(tip)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        self.actions[key.lower()] = action
        return action

    def _create_actions(self) -> None:
        self.panel.add_actions([
            self._action("Restore", "Restore", self.restore, "Open the selected run's design and trained weights"),
            self._action("Branch", "Branch", self.branch,
                         "Continue training from the selected run's weights: change settings, then Train"),
            self._action("Rename", "Rename", lambda: self._edit(0), "Rename the selected run", "F2"),
            self._action("Note", "Note", lambda: self._edit(9), "Write a note on the selected run"),
            self._action("Delete", "Delete", self.delete, "Delete the selected runs and their checkpoints", "Del"),
            self._action("Sweep", "Sweep…", self.sweep, "Train every combination of one or two settings"),
            self._action("Refresh", "Refresh", self.refresh, "Read the run store again", "F5"),
        ])
        self._update_actions()

    def _add_dock(self) -> QDockWidget:
        near = self.training.plot_docks.get("loss")
        # its table and plots scroll rather than widen the window
        dock = self.window.add_dock(scrolling(self.panel), "Runs", "runsDock", Qt.DockWidgetArea.BottomDockWidgetArea,
                                    tabify_with=near)
        if near is not None:
            near.raise_()  # the loss curve stays in front; Runs is a tab beside it
        return dock

    # ---- the store -----------------------------------------------------------------------------------

    def bind(self, design_path: Path | None) -> None:
        """Show (and record into) the store of this design file."""
        from nnstudio.gui.base.locations import app_data_dir

        path = store_path_for(design_path, app_data_dir())
        if path == self.store_path and self.store is not None:
            return
        if self.store is not None:
            # A run in progress may still be recording into it: close it when the window closes.
            self._retired.append(self.store)
            self.store = None
        self.store_path = path
        self.design_file = design_key(design_path)
        try:
            self.store = RunStore(path, on_error=self._store_error)
        except StoreError as exc:
            self.store = None
            self.panel.where.setText(str(exc))
            self.training.say(f"Runs are not recorded: {exc}", error=True)
        else:
            self.panel.where.setText(f"Store: {path}")
            if self.store.notice:
                self.training.say(self.store.notice, error=True)
        self.refresh()
        self.store_changed.emit(path)

    def _store_error(self, message: str) -> None:
        # Called in the writer thread: hand it to the GUI thread.
        QTimer.singleShot(0, self, lambda: self.training.say(f"Run store: {message}", error=True))

    def _close_store(self) -> None:
        for store in [*self._retired, self.store]:
            if store is not None:
                store.close()
        self._retired = []
        self.store = None

    def make_recorder(self) -> Any:
        """The callback that records the window's next run (called by the training controller per run)."""
        from nnstudio.ml.callbacks import Callback
        from nnstudio.ml.run_recorder import RunRecorder

        if self.store is None or self.store_path is None:
            return Callback()
        parent, self.branch_parent = self.branch_parent, ""
        return RunRecorder(self.store, design_file=self.design_file, parent_uid=parent,
                           name=f"branch of {parent}" if parent else "",
                           checkpoint_dir=checkpoint_folder(self.store_path))

    def refresh(self, flush: bool = False) -> None:
        """Read the store again. `flush` first waits (briefly) for this window's own queued edits; the periodic
        refresh never waits, so a store busy with another process's writes cannot stall the window."""
        if self.store is None:
            self.panel.model.set_runs([])
            return
        selected = self.panel.selected()
        if flush:
            self.store.flush(2.0)
        self.panel.model.set_runs(self.store.runs(design_file=self.design_file or None))
        if selected:
            self.panel.select(selected)
        self._update_actions()
        self.refreshed.emit()

    def _tick(self) -> None:
        self.refresh()
        if self.training.phase == "idle" and not (self.sweep_runner and self.sweep_runner.running):
            self._timer.stop()

    def _phase_changed(self, phase: str) -> None:
        if phase != "idle" and not self._timer.isActive():
            self._timer.start()

    # ---- selection and actions -------------------------------------------------------------------------

    def selected_runs(self) -> list[Any]:
        if self.store is None:
            return []
        runs = {r.uid: r for r in self.panel.model.runs}
        return [runs[u] for u in self.panel.selected() if u in runs]

    def _selection_changed(self, _uids: list[str]) -> None:
        runs = self.selected_runs()
        self._update_actions()
        if self.store is None:
            return
        self.panel.curves.set_runs([(r, self.store.history(r.uid)) for r in runs])
        self.panel.diff.set_runs(runs)
        sweep = next((r.sweep_uid for r in runs if r.sweep_uid), "")
        self.panel.scatter.set_sweep(self.store.runs(sweep_uid=sweep) if sweep else [])

    def _update_actions(self) -> None:
        runs = self.selected_runs() if self.store is not None else []
        one = len(runs) == 1
        restorable = one and bool(runs[0].checkpoint)
        for key, enabled in (("restore", restorable), ("branch", restorable), ("rename", one), ("note", one),
                             ("delete", bool(runs)), ("sweep", self.store is not None)):
            self.actions[key].setEnabled(enabled)

    def _edit(self, column: int) -> None:
        rows = self.panel.table.selectionModel().selectedRows()
        if len(rows) == 1:
            index = self.panel.proxy.index(rows[0].row(), column)
            self.panel.table.setCurrentIndex(index)
            self.panel.table.edit(index)

    def _edited(self, uid: str, key: str, text: str) -> None:
        if self.store is not None:
            self.store.update_run(uid, **{key: text})

    def delete(self) -> bool:
        runs = self.selected_runs()
        if not runs or self.store is None:
            return False
        names = ", ".join(r.name or r.uid for r in runs[:3]) + ("…" if len(runs) > 3 else "")
        if not self.window.ask_confirm("Delete runs", f"Delete {len(runs)} run(s) ({names}) and their "
                                       "checkpoints? This cannot be undone.", "Delete"):
            return False
        for run in runs:
            self.store.delete_run(run.uid)
        self.refresh(flush=True)
        return True

    def restore(self) -> bool:
        """Open the selected run's design and its checkpoint's weights (checked against the stored hash)."""
        runs = self.selected_runs()
        if len(runs) != 1 or self.store is None:
            return False
        run = runs[0]
        try:
            from nnstudio.ml.run_restore import restore_run

            restore_run(self.store, run)
        except NNStudioError as exc:
            self.window.show_error("Could not restore the run", str(exc))
            return False
        if not self.training.open_checkpoint(self.store.checkpoint_path(run)):
            return False
        self.training.say(f"Restored run {run.name or run.uid}: its design and weights after {run.epochs} epochs.")
        return True

    def branch(self) -> bool:
        runs = self.selected_runs()
        if not self.restore():
            return False
        self.branch_parent = runs[0].uid
        self.training.say(f"Branching from {runs[0].name or runs[0].uid}: change settings, then Train — "
                          "the new run continues from these weights.")
        return True

    # ---- sweeps --------------------------------------------------------------------------------------

    def sweep(self, dialog: Any = None) -> bool:
        """Ask for a sweep (or take a prepared dialog, for tests) and run it in the background."""
        from .sweep_dialog import SweepDialog, SweepRunner

        if self.store is None or (self.sweep_runner is not None and self.sweep_runner.running):
            return False
        design = self.window.design.copy()
        if dialog is None:
            dialog = SweepDialog(design, self.window.qt_window())
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return False
        if self.sweep_runner is None:
            self.sweep_runner = SweepRunner(self)
            self.sweep_runner.started.connect(self._sweep_started)
            self.sweep_runner.progressed.connect(self._sweep_progress)
            self.sweep_runner.finished.connect(self._sweep_finished)
        self.sweep_runner.start(self.window.session.path, design, dialog.axes, store_path=self.store_path,
                                repeats=dialog.repeats.value(), jobs=dialog.jobs.value(),
                                epochs=dialog.epochs.value())
        self.panel.progress.setRange(0, 0)
        self.panel.progress_row.show()
        self._timer.start()
        return True

    def cancel_sweep(self) -> None:
        if self.sweep_runner is not None:
            self.sweep_runner.cancel()
            self.panel.cancel.setEnabled(False)

    def _sweep_started(self, uid: str, total: int) -> None:
        self.panel.progress.setRange(0, total)
        self.panel.progress.setValue(0)
        self.panel.cancel.setEnabled(True)
        self.training.say(f"Sweep started: {total} runs.")

    def _sweep_progress(self, outcome: Any, done: int, total: int) -> None:
        self.panel.progress.setValue(done)
        self.refresh()

    def _sweep_finished(self, outcomes: Any, error: str) -> None:
        self.panel.progress_row.hide()
        self.panel.cancel.setEnabled(True)
        self.refresh()
        if error:
            self.training.say(f"The sweep could not run: {error}", error=True)
            return
        finished = sum(o.status == "finished" for o in outcomes)
        self.training.say(f"Sweep done: {finished} of {len(outcomes)} runs finished. Select one to compare.")
        if outcomes:
            self.panel.select([o.uid for o in outcomes if o.uid])
            self.panel.tabs.setCurrentWidget(self.panel.scatter)

    def shutdown(self) -> None:
        self._timer.stop()
        if self.sweep_runner is not None and self.sweep_runner.running:
            self.sweep_runner.cancel()
            self.sweep_runner.wait(60)
        self._close_store()
