"""Playground's control bar above the network view: run / pause, Step one epoch and Step one batch with a
step counter, regenerate data, and the learning rate, activation, regularisation, its rate, problem type
and batch size — each an undo command on the document, like the training panel's own editors."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSpinBox, QToolButton, QWidget

from nnstudio.gui.editor.commands import SetDatasetCommand, SetParamCommand, SetTrainingCommand

# Playground's menus.
LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
REGULARIZATION_RATES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
ACTIVATIONS = (("relu", "ReLU"), ("tanh", "Tanh"), ("sigmoid", "Sigmoid"), ("identity", "Linear"))
REGULARIZATIONS = (("none", "None"), ("l1", "L1"), ("l2", "L2"))
PROBLEMS = (("classification", "Classification"), ("regression", "Regression"))


def _combo(name: str, items: list[tuple[Any, str]], tip: str) -> QComboBox:
    combo = QComboBox()
    combo.setObjectName(name)
    combo.setToolTip(tip)
    for value, title in items:
        combo.addItem(title, value)
    return combo


def _select(combo: QComboBox, value: Any) -> None:
    combo.blockSignals(True)
    index = combo.findData(value)
    if index < 0:  # a value off Playground's menu (typed in the training panel): show it as it is
        combo.addItem(f"{value:g}" if isinstance(value, float) else str(value), value)
        index = combo.count() - 1
    combo.setCurrentIndex(index)
    combo.blockSignals(False)


class PlaygroundBar(QWidget):
    """One row of Playground's controls; `owner` (the NetworkPanel) runs the training actions."""

    def __init__(self, owner: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("playgroundBar")
        self.owner = owner
        self.session = owner.session
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 4, 6, 4)
        self.play = QToolButton()
        self.play.setObjectName("playgroundPlay")
        self.play.setToolTip("Train until paused (Playground's Play) / pause")
        self.play.clicked.connect(owner.play_or_pause)
        self.step_epoch = QToolButton()
        self.step_epoch.setObjectName("playgroundStepEpoch")
        self.step_epoch.setText("Step epoch")
        self.step_epoch.setToolTip("Train one epoch, then pause (Playground's Step)")
        self.step_epoch.clicked.connect(owner.step_epoch)
        self.step_batch = QToolButton()
        self.step_batch.setObjectName("playgroundStepBatch")
        self.step_batch.setText("Step batch")
        self.step_batch.setToolTip("Train one batch (one weight update), then pause")
        self.step_batch.clicked.connect(owner.step_batch)
        self.counter = QLabel("Epoch 0")
        self.counter.setObjectName("playgroundCounter")
        self.counter.setMinimumWidth(240)
        self.regenerate = QToolButton()
        self.regenerate.setObjectName("playgroundRegenerate")
        self.regenerate.setText("Regenerate")
        self.regenerate.setToolTip("New data: the same dataset drawn again from another seed")
        self.regenerate.clicked.connect(self.regenerate_data)
        self.learning_rate = _combo("playgroundLearningRate", [(v, f"{v:g}") for v in LEARNING_RATES],
                                    "Learning rate (changes a running training at once)")
        self.activation = _combo("playgroundActivation", list(ACTIVATIONS), "Activation of every hidden layer")
        self.regularization = _combo("playgroundRegularization", list(REGULARIZATIONS), "Regularisation")
        self.reg_rate = _combo("playgroundRegularizationRate", [(v, f"{v:g}") for v in REGULARIZATION_RATES],
                               "Regularisation rate (changes a running training at once)")
        self.problem = _combo("playgroundProblem", list(PROBLEMS), "Problem type: classification or regression")
        self.batch_size = QSpinBox()
        self.batch_size.setObjectName("playgroundBatchSize")
        self.batch_size.setRange(1, 30)
        self.batch_size.setToolTip("Batch size (Playground: 1 to 30)")
        self.show_test = QCheckBox("Show test data")  # the design's view settings (bound in panel.py)
        self.show_test.setObjectName("playgroundShowTestData")
        self.discretize = QCheckBox("Discretize output")
        self.discretize.setObjectName("playgroundDiscretize")
        for widget, label in ((self.play, None), (self.step_epoch, None), (self.step_batch, None),
                              (self.counter, None), (self.regenerate, None), (self.learning_rate, "Learning rate"),
                              (self.activation, "Activation"), (self.regularization, "Regularization"),
                              (self.reg_rate, "Rate"), (self.problem, "Problem"), (self.batch_size, "Batch"),
                              (self.show_test, None), (self.discretize, None)):
            if label:
                row.addWidget(QLabel(label))
            row.addWidget(widget)
        row.addStretch(1)
        self.learning_rate.activated.connect(
            lambda i: self._training("learning_rate", self.learning_rate.itemData(i)))
        self.reg_rate.activated.connect(lambda i: self._training("regularization_rate", self.reg_rate.itemData(i)))
        self.regularization.activated.connect(
            lambda i: self._training("regularization", self.regularization.itemData(i)))
        self.batch_size.valueChanged.connect(lambda v: self._training("batch_size", int(v)))
        self.activation.activated.connect(lambda i: self.set_activation(self.activation.itemData(i)))
        self.problem.activated.connect(lambda i: self.set_problem(self.problem.itemData(i)))
        self.show_settings()

    @property
    def design(self) -> Any:
        return self.session.design

    def show_settings(self) -> None:
        """Show what the document holds (after any event), without pushing anything."""
        training = self.design.training
        _select(self.learning_rate, training.learning_rate)
        _select(self.reg_rate, training.regularization_rate)
        _select(self.regularization, training.regularization)
        self.reg_rate.setEnabled(training.regularization != "none")
        self.batch_size.blockSignals(True)
        self.batch_size.setValue(min(30, training.batch_size))
        self.batch_size.blockSignals(False)
        activations = {layer.params["activation"] for layer in self.design.layers.values() if layer.type == "Dense"}
        if len(activations) == 1:
            _select(self.activation, activations.pop())
        _select(self.problem, "regression" if self.design.dataset.is_regression else "classification")

    def _training(self, key: str, value: Any) -> None:
        if getattr(self.design.training, key) != value:
            self.owner.push(SetTrainingCommand(self.design, key, value))

    def set_activation(self, activation: str) -> None:
        """One activation for every hidden layer, as Playground has."""
        dense = [lid for lid, layer in self.design.layers.items()
                 if layer.type == "Dense" and layer.params["activation"] != activation]
        if not dense:
            return
        stack = self.session.undo_stack
        stack.beginMacro(f"Set every hidden layer's activation to {activation}")
        try:
            for lid in dense:
                self.owner.push(SetParamCommand(self.design, lid, "activation", activation))
        finally:
            stack.endMacro()

    def set_problem(self, problem: str) -> None:
        """Classification ↔ regression: Playground's default set of that kind (circle / reg-plane), its
        number of points (500 / 1,200) and the Output's task."""
        regression = problem == "regression"
        if regression == self.design.dataset.is_regression:
            return
        stack = self.session.undo_stack
        stack.beginMacro(f"Make it a {problem} problem")
        try:
            self.owner.push(SetDatasetCommand(self.design, "name", "reg-plane" if regression else "circle"))
            self.owner.push(SetDatasetCommand(self.design, "samples", 1200 if regression else 500))
            for lid, layer in self.design.layers.items():
                if layer.type == "Output":
                    self.owner.push(SetParamCommand(self.design, lid, "task", "regression" if regression else "binary"))
        finally:
            stack.endMacro()

    def regenerate_data(self) -> None:
        seed = (self.design.dataset.seed * 1103515245 + 12345) % (2**31 - 1)  # a new seed, reproducibly
        self.owner.push(SetDatasetCommand(self.design, "seed", seed))

    def show_counter(self, telemetry: Any) -> None:
        if telemetry is None:
            self.counter.setText("Epoch 0 · step 0")
            return
        self.counter.setText(f"Epoch {telemetry.epoch:,} · batch {telemetry.batch}/{telemetry.batches_per_epoch}"
                             f" · step {telemetry.step:,}")
