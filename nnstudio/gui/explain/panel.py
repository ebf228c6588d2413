"""The Explain dock: pick a sample, step through one forward and backward pass, read the formulas.

Top: the sample picker and the stepper (Back / Next, the stage's title). Middle: the network drawing for
small dense nets, else a top-k table per layer or, for Conv2d, a per-channel view. Bottom: the formula
panel for the selected neuron or weight with the real numbers, "Check the gradient" and "Apply the step".
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from nnstudio.ml import explain_text as text

from .layer_views import ChannelView, LayerTable
from .network_view import NetworkView, fits_network_view
from .session import ExplainSession, Selection


def formula_for(ex: Any, stage: Any, sel: Selection | None, sample: int) -> text.Formula:
    """The formula the stage and the selection call for."""
    if stage.kind == "loss":
        return text.loss_formula(ex, sample)
    if stage.kind == "apply":
        moved = sum(int((p.update != 0).sum()) for t in ex.layers for p in t.params.values())
        return text.Formula("Apply the step", [
            f"Apply moves {moved:,} parameters by the steps shown in the update stages,",
            f"with the trainer's own {ex.optimizer} optimizer: Train then continues from the new weights."])
    layer = sel.layer if sel is not None else (stage.layer or ex.layers[-1].name)
    t = ex.layer(layer)
    unit = sel.unit if sel is not None else 0
    if stage.kind == "forward":
        if sel is not None and sel.kind == "weight":
            unit = sel.index[0]
        return text.forward_formula(ex, layer, min(unit, t.z.shape[1] - 1), sample)
    if stage.kind == "backward":
        if sel is not None and sel.kind in ("weight", "bias") and sel.kind in t.params:
            return text.gradient_formula(ex, layer, sel.kind, sel.index)
        return text.delta_formula(ex, layer, min(unit, t.z.shape[1] - 1), sample)
    if not t.params:
        return text.Formula(f"Update · {layer}", ["this layer has no parameters"])
    if sel is not None and sel.kind in t.params:
        return text.update_formula(ex, layer, sel.kind, sel.index)
    bias_or_weight = "bias" if "bias" in t.params and sel is not None and sel.kind == "neuron" else "weight"
    if bias_or_weight == "bias":
        return text.update_formula(ex, layer, "bias", (unit,))
    grad = t.params["weight"].grad
    import numpy as np

    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.abs(grad))), grad.shape))
    return text.update_formula(ex, layer, "weight", index)


def formula_html(formula: text.Formula) -> str:
    family = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family()
    lines = "<br>".join(html.escape(line).replace("  ", "&nbsp;&nbsp;") for line in formula.lines)
    return (f"<p style='margin:0'><b>{html.escape(formula.title)}</b></p>"
            f"<p style='font-family:\"{family}\"; margin-top:4px'>{lines}</p>")


class ExplainPanel(QWidget):
    def __init__(self, session: ExplainSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("explainPanel")
        self.session = session
        layout = QVBoxLayout(self)

        pick = QHBoxLayout()
        pick.addWidget(QLabel("Sample"))
        self.sample_spin = QSpinBox()
        self.sample_spin.setObjectName("explainSample")
        self.sample_spin.setRange(0, 10_000_000)
        self.sample_spin.setToolTip("Index of the training sample to explain")
        pick.addWidget(self.sample_spin)
        self.explain_button = QPushButton("Explain sample")
        self.explain_button.setObjectName("explainSampleButton")
        self.explain_button.clicked.connect(lambda: session.explain(self.sample_spin.value()))
        pick.addWidget(self.explain_button)
        self.batch_button = QPushButton("Explain next batch")
        self.batch_button.setObjectName("explainBatchButton")
        self.batch_button.setToolTip("Explain the batch the next training step would take")
        self.batch_button.clicked.connect(lambda: session.explain(None))
        pick.addWidget(self.batch_button)
        pick.addStretch(1)
        self.shown_label = QLabel("shown")
        self.shown_spin = QSpinBox()
        self.shown_spin.setObjectName("explainShownSample")
        self.shown_spin.setToolTip("Which sample of the batch the values belong to (gradients sum over the batch)")
        self.shown_spin.valueChanged.connect(lambda v: session.set_shown_sample(v - 1))
        pick.addWidget(self.shown_label)
        pick.addWidget(self.shown_spin)
        layout.addLayout(pick)

        step = QHBoxLayout()
        self.back_button = QPushButton("◀ Back")
        self.back_button.setObjectName("explainBack")
        self.back_button.clicked.connect(session.back)
        self.next_button = QPushButton("Next ▶")
        self.next_button.setObjectName("explainNext")
        self.next_button.clicked.connect(session.next)
        self.stage_label = QLabel("Pick a sample and press Explain.")
        self.stage_label.setObjectName("explainStageTitle")
        font = self.stage_label.font()
        font.setBold(True)
        self.stage_label.setFont(font)
        self.progress = QProgressBar()
        self.progress.setObjectName("explainProgress")
        self.progress.setTextVisible(True)
        self.progress.setFormat("%v / %m")
        self.progress.setMaximumWidth(110)
        step.addWidget(self.back_button)
        step.addWidget(self.next_button)
        step.addWidget(self.stage_label, 1)
        step.addWidget(self.progress)
        layout.addLayout(step)

        self.views = QStackedWidget()
        self.views.setObjectName("explainViews")
        self.empty = QLabel("The step appears here: the forward pass layer by layer, the loss, the backward "
                            "pass from the output back, and the optimizer's update.")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.network = NetworkView()
        self.table = LayerTable()
        self.channels = ChannelView()
        for view in (self.empty, self.network, self.table, self.channels):
            self.views.addWidget(view)
        for view in (self.network, self.table, self.channels):
            view.selected.connect(session.select)
        self.formula = QTextBrowser()
        self.formula.setObjectName("explainFormula")
        self.formula.setOpenLinks(False)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setObjectName("explainSplitter")
        splitter.addWidget(self.views)
        splitter.addWidget(self.formula)
        splitter.setStretchFactor(0, 5)
        splitter.setStretchFactor(1, 2)
        self.formula.setMinimumHeight(90)
        layout.addWidget(splitter, 1)

        actions = QHBoxLayout()
        self.check_button = QPushButton("Check the gradient")
        self.check_button.setObjectName("explainCheckGradient")
        self.check_button.setToolTip("Compare backprop's ∂L/∂w for the selected weight with a central finite "
                                     "difference (L(w+ε) − L(w−ε)) / 2ε")
        self.check_button.clicked.connect(self.check_gradient)
        self.apply_button = QPushButton("Apply the step")
        self.apply_button.setObjectName("explainApply")
        self.apply_button.setToolTip("Make this exact optimizer step on the weights; Train continues from them")
        self.apply_button.clicked.connect(session.apply)
        actions.addWidget(self.check_button)
        actions.addStretch(1)
        actions.addWidget(self.apply_button)
        layout.addLayout(actions)
        self.check_label = QLabel()
        self.check_label.setObjectName("explainCheckResult")
        self.check_label.setWordWrap(True)
        self.check_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.check_label)
        self.message_label = QLabel()
        self.message_label.setObjectName("explainMessage")
        self.message_label.setWordWrap(True)
        layout.addWidget(self.message_label)

        session.explained.connect(self._on_explained)
        session.stage_changed.connect(self._on_stage)
        session.selection_changed.connect(self._on_selection)
        session.message.connect(self._on_message)
        self._on_message(*session.last_message)
        self._on_explained(session.explanation)  # the session may have explained before this panel existed
        if session.explanation is not None:
            self._on_stage(session.stage)
            self._on_selection(session.selection)

    # ---- following the session ---------------------------------------------------------------------

    def _on_explained(self, ex: Any) -> None:
        has = ex is not None
        for widget in (self.back_button, self.next_button, self.check_button, self.apply_button):
            widget.setEnabled(has)
        batch = has and len(ex.indices) > 1
        self.shown_label.setVisible(batch)
        self.shown_spin.setVisible(batch)
        self.check_label.clear()
        if not has:
            self.views.setCurrentWidget(self.empty)
            self.stage_label.setText("Pick a sample and press Explain.")
            self.formula.clear()
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            return
        if batch:
            self.shown_spin.blockSignals(True)
            self.shown_spin.setRange(1, len(ex.indices))
            self.shown_spin.setValue(1)
            self.shown_spin.blockSignals(False)
        else:
            self.sample_spin.setValue(ex.indices[0])
        self.network.set_explanation(ex if fits_network_view(ex) else None)
        self.progress.setRange(0, len(self.session.stages))

    def _on_stage(self, index: int) -> None:
        session = self.session
        ex, stage = session.explanation, session.current
        if ex is None or stage is None:
            return
        self.stage_label.setText(stage.title)
        self.progress.setValue(index + 1)
        self.back_button.setEnabled(index > 0)
        self.next_button.setEnabled(index < len(session.stages) - 1)
        if fits_network_view(ex):
            self.views.setCurrentWidget(self.network)
        elif stage.layer and ex.layer(stage.layer).type == "Conv2d":
            self.views.setCurrentWidget(self.channels)
            channel = session.selection.unit if session.selection is not None else 0
            self.channels.show_stage(ex, stage, session.shown_sample, channel)
        else:
            self.views.setCurrentWidget(self.table)
            self.table.show_stage(ex, stage, session.shown_sample)

    def _on_selection(self, selection: Selection | None) -> None:
        session = self.session
        ex, stage = session.explanation, session.current
        if ex is None or stage is None:
            return
        if self.views.currentWidget() is self.network:
            self.network.show_stage(stage, session.shown_sample, selection)
        self.formula.setHtml(formula_html(formula_for(ex, stage, selection, session.shown_sample)))

    def _on_message(self, message: str, error: bool) -> None:
        self.message_label.setText(message)
        self.message_label.setStyleSheet("color: #c0392b" if error else "")

    def check_gradient(self) -> None:
        check = self.session.check_gradient()
        if check is None:
            return
        where = f"{check.layer}.{check.param}{list(check.index)}"
        verdict = "agree" if check.relative_error < 1e-4 else "disagree"
        self.check_label.setText(
            f"<b>{where}</b>: backprop ∂L/∂w = {text.num(check.backprop)}; finite difference "
            f"(L(w+ε) − L(w−ε)) / 2ε = ({check.loss_plus:.10g} − {check.loss_minus:.10g}) / "
            f"{2 * check.epsilon:.3g} = {text.num(check.numeric)}; relative error "
            f"{check.relative_error:.1e}: they {verdict} (float64).")
