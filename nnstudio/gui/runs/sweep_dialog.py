"""Setting up a sweep in the window (one or two settings, their values, repeats, parallel jobs) and running it
in the background: a `BackgroundWorker` (the window's one worker primitive) calls the same `run_sweep` as
`nnstudio sweep`, and tells the GUI thread about each finished run through a Qt signal."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from nnstudio.core.document import Design

from ..base.background import BackgroundWorker

SUGGESTED = {
    "training.learning_rate": "0.01, 0.03, 0.1", "training.optimizer": "sgd, adam", "training.momentum": "0, 0.9",
    "training.batch_size": "10, 30", "training.regularization_rate": "0, 0.001, 0.01", "training.seed": "0, 1, 2",
    "dataset.noise": "0, 0.25",
}


def sweepable_settings(design: Design) -> dict[str, str]:
    """Setting key → the values offered at first: training settings, and units / activation per Dense layer."""
    out = dict(SUGGESTED)
    for layer in design.layers.values():
        if "units" in layer.params and layer.type != "Output":
            out[f"layers.{layer.name}.units"] = "2, 4, 8"
        if "activation" in layer.params and layer.type != "Output":
            out[f"layers.{layer.name}.activation"] = "tanh, relu, sigmoid"
    return out


class SweepDialog(QDialog):
    def __init__(self, design: Design, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sweepDialog")
        self.setWindowTitle("Sweep settings")
        self.settings = sweepable_settings(design)
        form = QFormLayout(self)
        self.keys: list[QComboBox] = []
        self.values: list[QLineEdit] = []
        for i, default in enumerate(("training.learning_rate", "training.optimizer")):
            combo = QComboBox()
            combo.setObjectName(f"sweepSetting{i + 1}")
            if i:
                combo.addItem("(none)", "")
            for key in self.settings:
                combo.addItem(key, key)
            combo.setCurrentIndex(combo.findData(default))
            edit = QLineEdit(self.settings.get(default, ""))
            edit.setObjectName(f"sweepValues{i + 1}")
            combo.currentIndexChanged.connect(
                lambda _n, c=combo, e=edit: e.setText(self.settings.get(c.currentData(), "")))
            form.addRow(f"Setting {i + 1}", combo)
            form.addRow("values", edit)
            self.keys.append(combo)
            self.values.append(edit)
        self.repeats = QSpinBox()
        self.repeats.setObjectName("sweepRepeats")
        self.repeats.setRange(1, 20)
        self.jobs = QSpinBox()
        self.jobs.setObjectName("sweepJobs")
        self.jobs.setRange(1, 16)
        self.jobs.setToolTip("Runs trained at once, each in its own process (1: one after another)")
        self.epochs = QSpinBox()
        self.epochs.setObjectName("sweepEpochs")
        self.epochs.setRange(1, 1_000_000)
        self.epochs.setValue(design.training.epochs)
        form.addRow("Seed repeats", self.repeats)
        form.addRow("Runs at once", self.jobs)
        form.addRow("Epochs per run", self.epochs)
        self.error = QLabel()
        self.error.setObjectName("sweepError")
        self.error.setWordWrap(True)
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Run sweep")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.axes: list[Any] = []

    def set_axis(self, n: int, key: str, values: str) -> None:
        self.keys[n].setCurrentIndex(self.keys[n].findData(key))
        self.values[n].setText(values)

    def parsed(self) -> list[Any]:
        """The sweep's axes; DesignError naming the setting when values are malformed."""
        from nnstudio.ml.sweep import parse_set

        axes = []
        for combo, edit in zip(self.keys, self.values, strict=True):
            key = combo.currentData()
            if key:
                axes.append(parse_set(f"{key}={edit.text().replace(' ', '')}"))
        return axes

    def _accept(self) -> None:
        from nnstudio.core.errors import NNStudioError

        try:
            self.axes = self.parsed()
        except NNStudioError as exc:
            self.error.setText(str(exc))
            return
        self.accept()


class SweepRunner(QObject):
    """Runs one sweep at a time on a `BackgroundWorker`; its signals arrive on the GUI thread."""

    started = Signal(str, int)  # sweep uid, number of runs
    progressed = Signal(object, int, int)  # SweepOutcome, done, total
    finished = Signal(object, str)  # outcomes (or None), error message ('' if none)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker: BackgroundWorker | None = None

    @property
    def running(self) -> bool:
        return self._worker is not None and self._worker.running

    def start(self, design_path: Any, design: Design, axes: list[Any], **options: Any) -> None:
        worker = BackgroundWorker(lambda: self._run(worker, design_path, design, axes, options),
                                  "nnstudio-sweep", self)
        worker.yielded.connect(self._on_news)
        worker.returned.connect(lambda outcomes: self.finished.emit(outcomes, ""))
        worker.errored.connect(self._on_error)
        worker.finished.connect(worker.deleteLater)
        self._worker = worker
        worker.start()

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.quit()

    def wait(self, timeout: float | None = None) -> None:
        if self._worker is not None:
            self._worker.wait(timeout)

    def _on_news(self, news: tuple[Any, ...]) -> None:
        if news[0] == "started":
            self.started.emit(*news[1:])
        else:
            self.progressed.emit(*news[1:])

    def _on_error(self, exc: BaseException) -> None:
        from nnstudio.core.errors import NNStudioError

        if isinstance(exc, NNStudioError):
            self.finished.emit(None, str(exc))
        else:  # shown in the window, never a crash
            self.finished.emit(None, f"the sweep failed: {type(exc).__name__}: {exc}")

    @staticmethod
    def _run(worker: BackgroundWorker, design_path: Any, design: Design, axes: list[Any],
             options: dict[str, Any]) -> Any:
        from nnstudio.ml.sweep import run_sweep

        _, outcomes = run_sweep(design_path, axes, design=design, should_stop=lambda: worker.abort_requested,
                                on_start=lambda uid, points: worker.send(("started", uid, len(points))),
                                on_result=lambda o, done, total: worker.send(("progressed", o, done, total)),
                                **options)
        return outcomes
