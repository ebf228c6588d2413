"""File ▸ Save Report…: the HTML training report of the window's trained weights (same code as `nnstudio report`)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog

from nnstudio.core.errors import NNStudioError

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


def write_window_report(controller: TrainingController, path: str | Path) -> None:
    """Write the report of the controller's trained state; NNStudioError (or OSError) if it cannot."""
    from nnstudio.data import load_dataset
    from nnstudio.io.atomic import write_atomic
    from nnstudio.ml.report import collect_report, render_html

    from ..training.state import to_checkpoint

    state = controller.trained
    if state is None:
        raise NNStudioError("there are no trained weights yet: train the design first")
    checkpoint = to_checkpoint(state)
    dataset = load_dataset(checkpoint.design.dataset, base_dir=controller.base_dir())
    html = render_html(collect_report(checkpoint, dataset), design_svg_text(checkpoint.design))
    write_atomic(path, html.encode("utf-8"))


def save_report(window: InsideViewsHost, controller: TrainingController, path: str | Path | None = None) -> bool:
    if controller.active:
        controller.say("Pause or stop training before saving a report.", error=True)
        return False
    if controller.trained is None:
        controller.say("Train the design first: the report describes trained weights.", error=True)
        return False
    if path is None:
        start = str(Path(window.current_path).with_suffix(".html")) if window.current_path else "report.html"
        chosen, _ = QFileDialog.getSaveFileName(window.qt_window(), "Save Report", start, REPORT_FILTER)
        if not chosen:
            return False
        path = chosen
    QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        write_window_report(controller, path)
    except (NNStudioError, OSError) as exc:
        window.show_error("Could not save the report", str(exc))
        return False
    finally:
        QGuiApplication.restoreOverrideCursor()
    controller.say(f"Saved report {path}.")
    return True
