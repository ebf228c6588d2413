"""The explain mode's state in the window: which step is explained, which stage is shown, what is selected.

It builds a CPU trainer from the window's design and its trained weights (or the seed's fresh weights),
asks `nnstudio.ml.explain` for the step, walks the stages, checks a gradient by finite differences and
applies the step: the applied weights become the window's trained weights, so Train continues from them.
Explaining needs the model to itself: it refuses while a run trains and applies only when none is active.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication

from nnstudio.core import DesignEvent, NNStudioError

from .host import ExplainWindow

if TYPE_CHECKING:
    from ..training.controller import TrainingController

STRUCTURAL_EVENTS = ("layer_added", "layer_removed", "connected", "disconnected", "param_changed", "renamed",
                     "reset", "dataset_changed", "training_changed")


@dataclass(frozen=True)
class Selection:
    """What the formula panel explains: a neuron (index = (unit,)), a weight ((out, in)) or a bias ((unit,))."""

    kind: str  # "neuron", "weight" or "bias"
    layer: str
    index: tuple[int, ...]

    @property
    def unit(self) -> int:
        return self.index[0]


class ExplainSession(QObject):
    explained = Signal(object)  # the new Explanation (None when cleared)
    stage_changed = Signal(int)
    selection_changed = Signal(object)  # Selection or None
    message = Signal(str, bool)  # text, is an error
    applied = Signal(object)  # the Explanation that was applied

    def __init__(self, window: ExplainWindow, training: TrainingController, parent: QObject | None = None) -> None:
        super().__init__(parent or window.qt_window())
        self.setObjectName("explainSession")
        self.window = window
        self.training = training  # the TrainingController (weights, phase, base folder)
        self.explainer: Any = None
        self.explanation: Any = None
        self.stages: list[Any] = []
        self.stage = 0
        self.selection: Selection | None = None
        self.shown_sample = 0  # which sample of a batch the values on the network belong to
        self._checker: Any = None  # a float64 explainer of the same step, for the gradient check
        self.last_message: tuple[str, bool] = ("", False)
        window.session.changed.connect(self._on_design_event)

    def _say(self, text: str, error: bool) -> None:
        self.last_message = (text, error)
        self.message.emit(text, error)

    # ---- explaining --------------------------------------------------------------------------------

    def can_explain(self) -> str | None:
        """None, or why not now."""
        if self.training.phase in ("starting", "running", "stopping"):
            return "Pause or stop training to explain a step: the running trainer owns the weights."
        errors = self.window.session.inference.errors()
        if errors:
            return f"The design cannot be explained yet: {errors[0].message}"
        return None

    def explain(self, sample: int | None) -> bool:
        """Explain one step on training sample `sample`, or on the trainer's next batch when None."""
        why = self.can_explain()
        if why:
            self._say(why, True)
            return False
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            from nnstudio.ml.explain import StepExplainer, next_batch_indices

            trainer = self._make_trainer()
            indices = next_batch_indices(trainer) if sample is None else [sample]
            self.explainer = StepExplainer(trainer, indices)
        except NNStudioError as exc:
            self._say(str(exc), True)
            return False
        finally:
            QGuiApplication.restoreOverrideCursor()
        self._checker = None
        self.explanation = self.explainer.explanation
        self.stages = self.explanation.stages()
        self.stage = 0
        self.shown_sample = 0
        self.selection = None
        self.explained.emit(self.explanation)
        self.goto(0)
        which = f"sample {indices[0]}" if len(indices) == 1 else f"the next batch ({len(indices)} samples)"
        source = "the trained weights" if self._from_trained else "the seed's initial weights"
        self._say(f"Explaining one {self.explanation.optimizer} step on {which}, from {source}. "
                          f"Loss {self.explanation.loss:.4g}.", False)
        return True

    def _make_trainer(self) -> Any:
        from nnstudio.ml.trainer import Trainer

        from ..training.state import to_checkpoint

        design = self.window.design.copy()
        trained = self.training.trained
        self._from_trained = trained is not None and trained.fits(design)
        initial = to_checkpoint(trained, design) if self._from_trained else None
        return Trainer(design, base_dir=self.training.base_dir(), device="cpu", initial_state=initial,
                       publish_hz=0)

    def clear(self, note: str = "") -> None:
        self.explainer = self.explanation = self._checker = None
        self.stages, self.stage, self.selection = [], 0, None
        self.explained.emit(None)
        if note:
            self._say(note, False)

    # ---- walking the stages ------------------------------------------------------------------------

    @property
    def current(self) -> Any:
        return self.stages[self.stage] if self.stages else None

    def goto(self, index: int) -> None:
        if not self.stages:
            return
        self.stage = max(0, min(len(self.stages) - 1, index))
        self._default_selection()
        self.stage_changed.emit(self.stage)
        self.selection_changed.emit(self.selection)

    def next(self) -> None:
        self.goto(self.stage + 1)

    def back(self) -> None:
        self.goto(self.stage - 1)

    def select(self, selection: Selection | None) -> None:
        self.selection = selection
        self.selection_changed.emit(selection)

    def set_shown_sample(self, sample: int) -> None:
        if self.explanation is not None:
            self.shown_sample = max(0, min(len(self.explanation.indices) - 1, sample))
            self.stage_changed.emit(self.stage)
            self.selection_changed.emit(self.selection)

    def _default_selection(self) -> None:
        """Keep a selection in the stage's layer; otherwise pick what the stage is about."""
        stage = self.current
        ex = self.explanation
        layer = stage.layer or ex.layers[-1].name
        if self.selection is not None and self.selection.layer == layer:
            return
        import numpy as np

        trace = ex.layer(layer)
        if trace.z.ndim == 4:  # a Conv2d-like layer: the channel that carries most of this stage
            values = trace.delta if stage.kind in ("backward", "update") else trace.a
            strength = np.abs(values[self.shown_sample]).reshape(values.shape[1], -1).mean(axis=1)
            self.selection = Selection("neuron", layer, (int(np.argmax(strength)),))
        elif stage.kind == "update" and "weight" in trace.params:
            grad = trace.params["weight"].grad
            index = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.abs(grad))), grad.shape))
            self.selection = Selection("weight", layer, index)
        else:
            self.selection = Selection("neuron", layer, (0,))

    # ---- the gradient check and the step -----------------------------------------------------------

    def check_gradient(self) -> Any:
        """Finite differences for the selected weight or bias (a neuron: its bias, or its largest weight),
        computed in float64 on a copy so that rounding does not hide the agreement."""
        sel = self.selection
        if self.explainer is None or sel is None:
            return None
        trace = self.explanation.layer(sel.layer)
        if not trace.params:
            self._say(f"Layer '{sel.layer}' has no weights to check: select a weight.", True)
            return None
        param, index = self.parameter_of(sel)
        import torch

        from nnstudio.ml.explain import StepExplainer

        if self._checker is None:
            self._checker = StepExplainer(self.explainer.trainer, self.explanation.indices, dtype=torch.float64)
        return self._checker.check_gradient(sel.layer, param, index)

    def parameter_of(self, sel: Selection) -> tuple[str, tuple[int, ...]]:
        """The parameter entry a selection stands for (a neuron: its largest-gradient incoming weight)."""
        import numpy as np

        trace = self.explanation.layer(sel.layer)
        if sel.kind in ("weight", "bias"):
            return sel.kind, sel.index
        if "weight" in trace.params:
            grad = trace.params["weight"].grad
            row = grad[sel.unit] if grad.ndim >= 2 and sel.unit < grad.shape[0] else grad
            inner = np.unravel_index(int(np.argmax(np.abs(row))), row.shape)
            prefix = (sel.unit,) if grad.ndim >= 2 and sel.unit < grad.shape[0] else ()
            return "weight", prefix + tuple(int(i) for i in inner)
        name = next(iter(trace.params))
        return name, (0,) * trace.params[name].value.ndim

    def apply(self) -> bool:
        """Make the explained step on the weights the window keeps; Train continues from them."""
        if self.explainer is None:
            return False
        if self.training.active:
            self._say("Stop the run to apply the step: a paused run keeps its own weights.", True)
            return False
        from ..training.state import snapshot_trainer

        before = self.explanation
        try:
            self.explainer.apply()
            state = snapshot_trainer(self.explainer.trainer)
        except NNStudioError as exc:
            self._say(str(exc), True)
            return False
        self.training.trained = state
        self.training._set_phase(self.training.phase)  # the actions that need trained weights follow
        self.applied.emit(before)
        if self.explain(before.indices[0] if len(before.indices) == 1 else None):
            self._say(f"Applied: the weights moved one {before.optimizer} step (step {state.step:,}). "
                              f"The loss of the same sample(s) went from {before.loss:.4g} to "
                              f"{self.explanation.loss:.4g}.", False)
        return True

    # ---- following the document --------------------------------------------------------------------

    def _on_design_event(self, event: DesignEvent) -> None:
        if self.explanation is not None and event.kind in STRUCTURAL_EVENTS:
            self.clear("The design changed: explain the step again to see the new numbers.")
