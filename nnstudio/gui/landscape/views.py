"""The optimization views in the window: the Landscape, Optimizer Race and Seeds docks, and
Train ▸ Find Learning Rate — made by `attach_optimization(window)`, the one place they are wired in.

The training controller gets one extra callback per run: a `TrajectoryRecorder` writing into the
window's shared trajectory (the Landscape dock's PCA directions and path). The docks are built after
the window's first paint, when the training plots are (pyqtgraph and torch stay out of start-up), and
start hidden; View ▸ Panels and the Train menu show them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget

from .host import LandscapeHost

if TYPE_CHECKING:
    from ..training.controller import TrainingController

TRAJECTORY_PER_EPOCH = 4


class OptimizationViews(QObject):
    def __init__(self, window: LandscapeHost, controller: TrainingController) -> None:
        super().__init__(window.qt_window())
        self.setObjectName("optimizationViews")
        self.window = window
        self.controller = controller
        from nnstudio.ml.trajectory import Trajectory  # numpy only: no torch

        self.trajectory = Trajectory()
        controller.callback_factories.append(self._recorder)
        self.docks: dict[str, QDockWidget] = {}
        self.panels: dict[str, Any] = {}
        self.dialog: Any = None
        self.actions: dict[str, QAction] = {}
        self._create_actions()
        if controller.plots is not None:
            self.build_docks()
        else:
            controller.plots_created.connect(self.build_docks)
        window.closing.connect(self.shutdown)

    def _recorder(self) -> Any:
        from nnstudio.ml.trajectory import TrajectoryRecorder

        return TrajectoryRecorder(trajectory=self.trajectory, per_epoch=TRAJECTORY_PER_EPOCH)

    # ---- actions and docks --------------------------------------------------------------------------

    def _create_actions(self) -> None:
        window = self.window
        entries = (
            ("findLearningRate", "Find &Learning Rate…", self.find_learning_rate,
             "Sweep the learning rate from 1e-6 to 10 (Smith's range test) and suggest one"),
            ("showLandscape", "Loss &Landscape", lambda: self.show("landscape"),
             "Show the loss over a plane through the current weights"),
            ("showRace", "Optimizer &Race", lambda: self.show("race"),
             "Train with several optimizers from the same weights, side by side"),
            ("showSeeds", "Train from N &Seeds", lambda: self.show("seeds"),
             "Train from several initialisations and compare where they end"),
        )
        menu = window.menus.get("train")
        if menu is not None:
            menu.addSeparator()
        for key, text, slot, tip in entries:
            action = QAction(text, window.qt_window())
            action.setObjectName("action" + key[0].upper() + key[1:])
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.triggered.connect(lambda _checked=False, s=slot: s())
            window.qt_window().addAction(action)
            if menu is not None:
                menu.addAction(action)
            self.actions[key] = action

    def build_docks(self) -> None:
        if self.docks:
            return
        from .landscape_panel import LandscapePanel
        from .runs_panel import RacePanel, SeedsPanel

        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        loss_dock = self.controller.plot_docks.get("loss")
        for key, title, name, make in (("landscape", "Landscape", "landscapeDock", LandscapePanel),
                                       ("race", "Optimizer Race", "raceDock", RacePanel),
                                       ("seeds", "Seeds", "seedsDock", SeedsPanel)):
            panel = make(self)
            self.panels[key] = panel
            dock = self.window.add_dock(panel, title, name, bottom, tabify_with=loss_dock)
            if not self.controller._saved_layout_has(name):
                dock.hide()
            self.docks[key] = dock

    def show(self, key: str) -> QDockWidget:
        self.build_docks()
        dock = self.docks[key]
        dock.show()
        dock.raise_()
        window = self.window.qt_window()
        if not dock.isFloating():  # room for square planes beside the curves
            if dock.height() < window.height() * 0.4:
                window.resizeDocks([dock], [round(window.height() * 0.45)], Qt.Orientation.Vertical)
            if dock.width() < window.width() * 0.6:
                window.resizeDocks([dock], [round(window.width() * 0.65)], Qt.Orientation.Horizontal)
        return dock

    def find_learning_rate(self) -> Any:
        self.build_docks()
        from .lrfind_dialog import LRFinderDialog

        if self.dialog is None:
            self.dialog = LRFinderDialog(self, self.window.qt_window())
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.run()
        return self.dialog

    # ---- what the views work on ---------------------------------------------------------------------

    def design_and_folder(self) -> tuple[Any, str | None]:
        return self.window.design.copy(), self.controller.base_dir()

    def weights_for_analysis(self, panel: Any) -> tuple[Any, str | None] | None:
        """The trained weights (as a TrainedState) and the data folder, or None after telling why."""
        controller = self.controller
        state = controller.trained
        if state is None:
            panel.status.setText("There are no trained weights yet: train the network (or open a checkpoint) first.")
            return None
        if controller.phase not in ("idle", "paused"):
            panel.status.setText("Pause or stop training first: the landscape is drawn around the weights on screen.")
            return None
        if not state.fits(self.window.design):
            panel.status.setText("The network changed since it was trained: train it again first.")
            return None
        return state, controller.base_dir()

    def analysis_trainer(self, state: Any, base_dir: str | None) -> Any:
        """A Trainer holding `state`'s weights on the design's device (call in the job's thread)."""
        from nnstudio.ml.trainer import Trainer

        from ..training.state import to_checkpoint

        return Trainer(state.design, base_dir=base_dir, device=state.design.training.device,
                       initial_state=to_checkpoint(state), publish_hz=0, cuda_graphs="off")

    def set_learning_rate(self, value: float) -> bool:
        from nnstudio.gui.editor.commands import SetTrainingCommand

        command = SetTrainingCommand(self.window.design, "learning_rate", value)
        pushed = self.window.session.push(command)
        return bool(pushed) and command.error is None

    def shutdown(self) -> None:
        for panel in self.panels.values():
            panel.shutdown()
        if self.dialog is not None:
            self.dialog.shutdown()


def attach_optimization(window: LandscapeHost) -> OptimizationViews:
    """Add the landscape, race, seeds and learning-rate finder to a window (attaching training first if not)."""
    existing = window.qt_window().findChild(OptimizationViews)
    if existing is not None:
        return existing
    from ..training import attach_training

    return OptimizationViews(window, attach_training(window))
