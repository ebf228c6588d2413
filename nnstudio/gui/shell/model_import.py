"""File ▸ Import Model…: an ONNX file or a .pt2 program becomes the window's design, with its weights.

The work is the Qt-free importer's (`nnstudio.ml.importers`); this module only asks for the files, lays
the design out with the canvas's own steps, writes the design and its checkpoint, and opens the
checkpoint so Train continues from the imported weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QFileDialog

from nnstudio.core.errors import NNStudioError
from nnstudio.gui.canvas.layout import layered_layout

if TYPE_CHECKING:
    from .mainwindow import MainWindow

MODEL_FILTER = "Models (*.onnx *.pt2);;ONNX (*.onnx);;torch.export programs (*.pt2);;All files (*)"


def attach_model_import(window: MainWindow) -> QAction:
    """Add File ▸ Import Model… (objectName actionImportModel) after File ▸ Open…."""
    action = QAction("&Import Model…", window)
    action.setObjectName("actionImportModel")
    action.setStatusTip("Import an ONNX file or a torch.export program (.pt2) as a design with its weights")
    action.setToolTip(action.statusTip())
    action.triggered.connect(lambda _checked=False: import_model_into_window(window))
    file_menu = getattr(window, "menus", {}).get("file")
    if file_menu is not None:
        after = next((a for a in file_menu.actions() if a.objectName() == "actionOpen"), None)
        actions = file_menu.actions()
        index = actions.index(after) + 1 if after in actions else len(actions)
        if index < len(actions):
            file_menu.insertAction(actions[index], action)
        else:
            file_menu.addAction(action)
    window.addAction(action)
    return action


def import_model_into_window(window: MainWindow, model_path: str | Path | None = None,
                             design_path: str | Path | None = None) -> bool:
    """Ask for the model (unless given), import it, ask where to save the design (unless given), write the
    design and its checkpoint, and open them. If some nodes have no NN Studio layer, the report is shown
    and the user may import the supported part instead."""
    from nnstudio.ml.importers import ModelImportError, import_model
    from nnstudio.ml.importers.files import save_imported

    if model_path is None:
        chosen, _ = QFileDialog.getOpenFileName(window, "Import Model", "", MODEL_FILTER)
        if not chosen:
            return False
        model_path = chosen
    model_path = Path(model_path)
    QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        try:
            imported = import_model(model_path)
        except ModelImportError as exc:
            if exc.report is None or not exc.report.unsupported or not window.ask_confirm(
                    "Import Model", f"{exc}\n\nImport the supported part, ended in a new Output layer?",
                    "Import Supported Part"):
                if exc.report is None or not exc.report.unsupported:
                    window.show_error("Could not import the model", str(exc))
                return False
            imported = import_model(model_path, prefix=True)
    except NNStudioError as exc:
        window.show_error("Could not import the model", str(exc))
        return False
    finally:
        QGuiApplication.restoreOverrideCursor()
    if design_path is None:
        suggested = str(model_path.with_suffix(".nnstudio"))
        chosen, _ = QFileDialog.getSaveFileName(window, "Save Imported Design", suggested,
                                                "NN Studio designs (*.nnstudio)")
        if not chosen:
            return False
        design_path = chosen
    style = window.scene.style
    for layer_id, position in layered_layout(imported.design, style.column_step, style.row_step).items():
        imported.design.move(layer_id, position)
    try:
        design_file, checkpoint = save_imported(imported, design_path)
    except NNStudioError as exc:
        window.show_error("Could not save the imported model", str(exc))
        return False
    from ..training import TrainingController

    controller = window.findChild(TrainingController)
    if controller is None or not controller.open_checkpoint(checkpoint):
        window.open_file(str(design_file), ask=False)
    window.status(f"Imported {model_path.name}: {imported.report.layers} layers, "
                  f"{imported.report.parameters:,} parameters (saved as {Path(design_file).name} + "
                  f"{checkpoint.name})")
    return True
