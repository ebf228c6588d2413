"""Training's files: checkpoints (save, open), model exports on a background worker, plot PNGs and metrics CSV.

A mixin of `TrainingController`. Files are written only from weights that are on screen (idle or paused);
an export runs on a `BackgroundWorker`, so the window keeps drawing while torch writes the file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog

from nnstudio.core import NNStudioError

from ..base.background import BackgroundWorker
from .host import PLOT_DOCKS, TrainingHost

if TYPE_CHECKING:
    from .history import TrainingHistory
    from .plots import TrainingPlots
    from .state import TrainedState

CHECKPOINT_SUFFIX = ".safetensors"
CHECKPOINT_FILTER = "NN Studio checkpoints (*.safetensors);;All files (*)"


class TrainingFiles:
    """Checkpoints, exports, PNG and CSV (mixed into `TrainingController`)."""

    window: TrainingHost
    trained: TrainedState | None
    phase: str
    plots: TrainingPlots | None
    latest: Any
    _visible: set[str]
    _tasks: list[BackgroundWorker]
    _opening_checkpoint: bool
    checkpoint_opened: Any  # the controller's Signal(TrainedState)

    # provided by the other parts of the controller
    history: TrainingHistory
    active: bool

    say: Callable[..., None]
    _forget: Callable[[], None]
    _set_phase: Callable[[str], None]
    ensure_plots: Callable[[], TrainingPlots]

    def _weights_for_files(self) -> TrainedState | None:
        if self.trained is None:
            self.say("There are no trained weights yet: train the network first.", error=True)
            return None
        if self.phase not in ("idle", "paused"):
            self.say("Pause or stop training first, so the saved weights are the ones on screen.", error=True)
            return None
        return self.trained

    def _suggested(self, suffix: str, stem: str | None = None) -> str:
        path = self.window.current_path
        if stem is None:
            stem = Path(path).stem if path is not None else _file_stem(self.window.design.name)
        folder = Path(path).parent if path is not None else Path.home()
        if not _writable_user_folder(folder):
            folder = Path.home()  # never suggest the installed examples (or another read-only) folder
        return str(folder / f"{stem}{suffix}")

    def _ask_save(self, title: str, suggested: str, file_filter: str) -> Path | None:
        return self.window.choose_save_path(title, suggested, file_filter)

    def _show_error(self, title: str, message: str) -> None:
        self.say(message, error=True)
        self.window.show_error(title, message)

    def save_checkpoint(self, path: str | Path | None = None) -> bool:
        state = self._weights_for_files()
        if state is None:
            return False
        if path is None:
            path = self._ask_save("Save Checkpoint", self._suggested(CHECKPOINT_SUFFIX), CHECKPOINT_FILTER)
            if path is None:
                return False
        path = Path(path)
        if path.suffix.lower() != CHECKPOINT_SUFFIX:
            path = path.with_name(path.name + CHECKPOINT_SUFFIX)
        design = self.window.design.copy() if state.fits(self.window.design) else state.design
        from .state import save_state_checkpoint

        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            save_state_checkpoint(state, path, design)
        except (NNStudioError, OSError) as exc:
            self._show_error("Could not save the checkpoint", str(exc))
            return False
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.say(f"Saved checkpoint {path} (epoch {state.epoch:,}, step {state.step:,}).")
        return True

    def choose_checkpoint_path(self) -> Path | None:
        """Ask which checkpoint to open (replaced in tests)."""
        start = str(Path(self.window.current_path).parent) if self.window.current_path else ""
        path, _ = QFileDialog.getOpenFileName(self.window.qt_window(), "Open Checkpoint", start, CHECKPOINT_FILTER)
        return Path(path) if path else None

    def open_checkpoint(self, path: str | Path | None = None) -> bool:
        """Open a checkpoint: its design replaces the window's, its weights are kept (Train continues)."""
        if self.active:
            self.say("Stop training before opening a checkpoint.", error=True)
            return False
        if not self.window.maybe_keep_changes("opening a checkpoint"):
            return False
        if path is None:
            path = self.choose_checkpoint_path()
            if path is None:
                return False
        path = Path(path)
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            from nnstudio.ml.checkpoint import load_checkpoint

            from .state import from_checkpoint

            checkpoint = load_checkpoint(path)
            state = from_checkpoint(checkpoint)
        except (NNStudioError, OSError) as exc:
            self._show_error("Could not open the checkpoint", str(exc))
            return False
        finally:
            QGuiApplication.restoreOverrideCursor()
        self._opening_checkpoint = True
        try:
            self.window.set_design(checkpoint.design, None)
        finally:
            self._opening_checkpoint = False
        self._forget()
        self.trained = state
        self.history.load_rows(state.history)
        if self.plots is not None:
            self.plots.refresh(self.history, None, self._visible, force=True)
        self.panel.epoch_label.setText(f"Epoch {state.epoch:,}")
        self.say(f"Opened checkpoint {path.name}: trained for {state.epoch:,} epochs ({state.step:,} steps). "
                 "Train continues from these weights.")
        self._set_phase("idle")
        self.checkpoint_opened.emit(state)
        return True

    def export_model(self, fmt: str, path: str | Path | None = None, wait: bool = False) -> bool:
        """Export the trained model in format `fmt` (onnx, safetensors, pt, pt2, python) on a background thread."""
        state = self._weights_for_files()
        if state is None:
            return False
        suffix = dict(EXPORT_SUFFIXES).get(fmt)
        if suffix is None:
            self.say(f"Unknown export format {fmt!r}.", error=True)
            return False
        if path is None:
            if suffix:
                title = dict(EXPORT_TITLES)[fmt].rstrip("…")
                path = self._ask_save(f"Export Model as {title}", self._suggested(suffix),
                                      f"{title} (*{suffix});;All files (*)")
            else:
                path = self.choose_export_folder()
            if path is None:
                return False
        path = Path(path)
        if suffix and path.suffix.lower() != suffix:
            path = path.with_name(path.name + suffix)
        design = self.window.design.copy() if state.fits(self.window.design) else state.design

        def work() -> Any:
            from nnstudio.ml.export import export_model

            from .state import build_trained_model

            return export_model(build_trained_model(state, design), design, fmt, path)

        task = BackgroundWorker(work, "nnstudio-export", self)
        task.returned.connect(lambda result, t=task: self._export_done(t, fmt, path, result, None))
        task.errored.connect(lambda error, t=task: self._export_done(t, fmt, path, None, error))
        task.finished.connect(task.deleteLater)
        self._tasks.append(task)
        self.say(f"Exporting to {path}…")
        task.start()
        if wait:
            task.wait()
        return True

    def choose_export_folder(self) -> Path | None:
        path = QFileDialog.getExistingDirectory(self.window.qt_window(), "Export Model as PyTorch Code",
                                                str(Path(self._suggested("")).parent))
        return Path(path) if path else None

    def _export_done(self, task: BackgroundWorker, fmt: str, path: Path, result: Any, error: Any) -> None:
        if task in self._tasks:
            self._tasks.remove(task)
        if error is not None:
            text = str(error) if isinstance(error, (NNStudioError, OSError)) else \
                f"the export failed: {type(error).__name__}: {error}"
            self.say(f"Could not export: {text}", error=True)
            return
        files = result if isinstance(result, list) else [result]
        shown = ", ".join(str(f) for f in files[:4])
        self.say(f"Exported {dict(EXPORT_TITLES).get(fmt, fmt).rstrip('…')}: {shown}")

    def save_plot_png(self, path: str | Path | None = None, view: str | None = None) -> bool:
        """Save a plot view (default: the first visible one) as a PNG image of what is on screen."""
        plots = self.ensure_plots()
        key = view or next((k for k, _t, _n in PLOT_DOCKS if k in self._visible), "loss")
        if path is None:
            path = self._ask_save("Save Plot as PNG", self._suggested(".png", key), "PNG image (*.png)")
            if path is None:
                return False
        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_name(path.name + ".png")
        widget = plots.views[key]
        plots.views[key].refresh(self.history, self.latest, force=True)
        if not widget.grab().save(str(path), "PNG"):
            self._show_error("Could not save the plot", f"could not write {path}")
            return False
        self.say(f"Saved the {key} plot as {path}")
        return True

    def save_metrics_csv(self, path: str | Path | None = None) -> bool:
        if self.history.empty:
            self.say("There is no training history to save yet.", error=True)
            return False
        if path is None:
            path = self._ask_save("Save Metrics as CSV", self._suggested("-metrics.csv"), "CSV (*.csv)")
            if path is None:
                return False
        path = Path(path)
        try:
            rows = self.history.write_csv(path)
        except OSError as exc:
            self._show_error("Could not save the metrics", f"could not write {path}: {exc.strerror or exc}")
            return False
        self.say(f"Saved {rows:,} rows of metrics to {path}")
        return True

EXPORT_TITLES = (("onnx", "ONNX…"), ("safetensors", "safetensors Weights…"), ("pt", "PyTorch state_dict…"),
                 ("pt2", "PyTorch Program (torch.export)…"), ("python", "PyTorch Code (folder)…"))
EXPORT_SUFFIXES = (("onnx", ".onnx"), ("safetensors", ".safetensors"), ("pt", ".pt"), ("pt2", ".pt2"),
                   ("python", ""))


def _file_stem(name: str) -> str:
    stem = "".join(ch if ch.isalnum() or ch in "-_ " else "-" for ch in name).strip(" -") or "design"
    return stem[:80]


def _writable_user_folder(folder: Path) -> bool:
    import os

    from ..base.locations import examples_dir

    try:
        if folder.resolve() == examples_dir().resolve():
            return False
    except OSError:
        return False
    return os.access(folder, os.W_OK)
