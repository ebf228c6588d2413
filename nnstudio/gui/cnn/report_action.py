"""File ▸ Save Report…: the HTML training report of the window's trained weights (same code as `nnstudio report`),
built on a BackgroundWorker so the window keeps drawing."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from nnstudio.core.errors import NNStudioError

from ..base.background import BackgroundWorker

if TYPE_CHECKING:
    from ..training.controller import TrainingController
    from .host import InsideViewsHost

REPORT_FILTER = "HTML report (*.html)"


def design_svg_text(design: Any) -> str | None:
    """The design's diagram as SVG text for inlining into HTML (drawn with the window's canvas code)."""
    from nnstudio.gui.canvas.render import render_design

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "diagram.svg"
        render_design(design, path)
        text = path.read_text(encoding="utf-8")
    start = text.find("<svg")  # drop the XML declaration and doctype
    return text[start:] if start >= 0 else None


def report_job(controller: TrainingController, path: str | Path) -> Callable[[], Path]:
    """Snapshot the controller's trained state now (GUI thread: the diagram is drawn with Qt) and return the
    work that builds and writes the report from it, to run off the GUI thread. NNStudioError if untrained."""
    from ..training.state import to_checkpoint

    state = controller.trained
    if state is None:
        raise NNStudioError("there are no trained weights yet: train the design first")
    checkpoint = to_checkpoint(state)
    base_dir = controller.base_dir()
    svg = design_svg_text(checkpoint.design)
    path = Path(path)

    def work() -> Path:
        from nnstudio.data import load_dataset
        from nnstudio.io.atomic import write_atomic
        from nnstudio.ml.report import collect_report, render_html

        dataset = load_dataset(checkpoint.design.dataset, base_dir=base_dir)
        html = render_html(collect_report(checkpoint, dataset), svg)
        write_atomic(path, html.encode("utf-8"))
        return path

    return work


def save_report(window: InsideViewsHost, controller: TrainingController, path: str | Path | None = None,
                owner: QObject | None = None) -> BackgroundWorker | None:
    """File ▸ Save Report…: ask where (unless `path`), then build and write the report on a BackgroundWorker so
    the window keeps drawing; the status bar says it is busy, then saved (or the error). Returns the started
    worker (its `finished` arrives on the GUI thread), or None when nothing was started."""
    if controller.active:
        controller.say("Pause or stop training before saving a report.", error=True)
        return None
    if controller.trained is None:
        controller.say("Train the design first: the report describes trained weights.", error=True)
        return None
    busy = getattr(owner, "report_worker", None)
    if busy is not None and not busy.done:
        controller.say("A report is being saved already; wait for it to finish.", error=True)
        return None
    if path is None:
        start = str(Path(window.current_path).with_suffix(".html")) if window.current_path else "report.html"
        chosen, _ = QFileDialog.getSaveFileName(window.qt_window(), "Save Report", start, REPORT_FILTER)
        if not chosen:
            return None
        path = chosen
    try:
        work = report_job(controller, path)
    except (NNStudioError, OSError) as exc:
        window.show_error("Could not save the report", str(exc))
        return None
    worker = BackgroundWorker(work, "nnstudio-report", owner if owner is not None else window.qt_window())

    def failed(error: BaseException) -> None:
        text = str(error) if isinstance(error, (NNStudioError, OSError)) else f"{type(error).__name__}: {error}"
        controller.say(f"Could not save the report: {text}", error=True)
        window.show_error("Could not save the report", text)

    worker.returned.connect(lambda written: controller.say(f"Saved report {written}."))
    worker.errored.connect(failed)
    worker.finished.connect(worker.deleteLater)
    if owner is not None:
        owner.report_worker = worker
    controller.say(f"Saving the report to {path}…")
    worker.start()
    return worker
