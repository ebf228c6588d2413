"""The Explain dock: every stage walked with the buttons, selection and formulas, the gradient check,
apply (against the trainer's own step), and what it refuses."""

from __future__ import annotations

import numpy as np
import pytest
from gui_training_helpers import ROOT
from PySide6.QtCore import QPoint, Qt

from nnstudio.gui.explain import Selection, attach_explain


@pytest.fixture
def explain(studio):
    window, controller = studio
    host = attach_explain(window)
    return window, controller, host


def test_walks_every_stage_with_the_buttons(explain, qtbot) -> None:
    window, controller, host = explain
    action = window.findChild(type(host.action), "actionExplainStep")
    assert action is host.action and action in controller.menu.actions()
    action.trigger()
    panel, session = host.panel, host.session
    ex = session.explanation
    assert ex is not None and len(ex.indices) == 10 and host.dock.isVisible()
    titles = [s.title for s in session.stages]
    assert titles[0] == "Forward: hidden1" and titles[3].startswith("Loss") and titles[-1] == "Apply the step"
    assert panel.views.currentWidget() is panel.network
    seen = []
    for i, stage in enumerate(session.stages):
        assert panel.stage_label.text() == stage.title
        assert panel.progress.value() == i + 1
        formula = panel.formula.toPlainText()
        seen.append(formula.splitlines()[0])
        if stage.kind == "forward":
            t = ex.layer(stage.layer)
            assert {key for key in panel.network.lit} == {(t.name, u) for u in range(t.z.shape[1])}
            assert f"= {_num(t.z[0, 0])}" in formula  # neuron 1's weighted sum, sample 1 of the batch
        elif stage.kind == "loss":
            assert f"{_num(ex.loss)}" in formula and panel.network.lit == {("output", 0)}
        elif stage.kind == "backward":
            assert _num(ex.layer(stage.layer).delta[0, 0]) in formula
        elif stage.kind == "update":
            assert "w ← w − η·g" in formula
        assert panel.next_button.isEnabled() == (i < len(session.stages) - 1)
        if i < len(session.stages) - 1:
            qtbot.mouseClick(panel.next_button, Qt.MouseButton.LeftButton)
    assert len(set(seen)) == len(seen)  # each stage has its own formula
    qtbot.mouseClick(panel.back_button, Qt.MouseButton.LeftButton)
    assert session.stage == len(session.stages) - 2


def _num(v: float) -> str:
    from nnstudio.ml.explain_text import num

    return num(v)


def test_clicking_a_link_selects_the_weight_and_the_gradient_checks(explain, qtbot) -> None:
    window, controller, host = explain
    session, panel = host.session, host.panel
    host.dock.show()
    host.dock.raise_()
    assert session.explain(7)
    session.goto([s.kind + str(s.layer) for s in session.stages].index("backwardhidden2"))
    view = panel.network
    qtbot.waitUntil(lambda: view.isVisible() and view.width() > 100)
    link = view.links[("hidden2", 1, 2)]
    middle = link.line().pointAt(0.5)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(middle))
    assert session.selection == Selection("weight", "hidden2", (1, 2))
    trace = session.explanation.layer("hidden2")
    text = panel.formula.toPlainText()
    assert "∂L/∂w = δ·a_prev" in text and _num(trace.params["weight"].grad[1, 2]) in text
    assert _num(trace.delta[0, 1]) in text and _num(trace.input[0, 2]) in text
    qtbot.mouseClick(panel.check_button, Qt.MouseButton.LeftButton)
    check = session.check_gradient()
    assert check.relative_error < 1e-4 and check.index == (1, 2)
    assert "they agree" in panel.check_label.text()
    assert check.backprop == pytest.approx(float(trace.params["weight"].grad[1, 2]), rel=1e-5)
    # A neuron click selects the neuron: its δ formula.
    neuron = view.neurons[("hidden2", 0)]
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.mapFromScene(neuron.rect().center()) + QPoint(0, 0))
    assert session.selection == Selection("neuron", "hidden2", (0,))
    assert "δ = ∂L/∂z = f′(z)·∂L/∂a" in panel.formula.toPlainText()


def test_apply_is_one_trainer_step_and_train_continues(explain, qtbot) -> None:
    from nnstudio.ml.callbacks import CancelTraining, LambdaCallback
    from nnstudio.ml.trainer import Trainer

    window, controller, host = explain
    session = host.session
    assert host.explain_step()
    ex = session.explanation
    assert session.apply()
    trained = controller.trained
    assert trained is not None and trained.step == 1
    for t in ex.layers:
        for name, p in t.params.items():
            np.testing.assert_array_equal(trained.weights[f"{t.name}.{name}"], p.new_value)

    def stop(step: int) -> None:
        raise CancelTraining("one step")

    reference = Trainer(window.design.copy(), base_dir=ROOT / "resources" / "examples", device="cpu", publish_hz=0,
                        callbacks=[LambdaCallback(on_batch_end=stop)])
    reference.fit()
    for name, value in reference.model.state_dict().items():
        np.testing.assert_array_equal(trained.weights[name], value.numpy())
    assert "went from" in host.panel.message_label.text() and session.explanation.loss < ex.loss


def test_paused_run_explains_but_does_not_apply(explain, qtbot) -> None:
    from gui_training_helpers import RUN_TIMEOUT_MS

    window, controller, host = explain
    session = host.session
    controller.step()
    qtbot.waitUntil(lambda: controller.phase == "paused" and controller.trained is not None, timeout=RUN_TIMEOUT_MS)
    assert session.explain(0)
    assert "trained weights" in host.panel.message_label.text()
    np.testing.assert_array_equal(session.explanation.layer("hidden1").params["weight"].value,
                                  controller.trained.weights["hidden1.weight"])
    assert not session.apply()
    assert "Stop the run" in host.panel.message_label.text()
    with qtbot.waitSignal(controller.run_finished, timeout=RUN_TIMEOUT_MS):
        controller.stop()


def test_a_design_edit_clears_the_explanation(explain, qtbot) -> None:
    window, controller, host = explain
    assert host.session.explain(2)
    hidden = window.design.layer_by_name("hidden2")
    from nnstudio.gui.editor.commands import SetParamCommand

    window.undo_stack.push(SetParamCommand(window.design, hidden.id, "units", 3))
    assert host.session.explanation is None and not host.panel.next_button.isEnabled()
    assert "explain the step again" in host.panel.message_label.text()


def test_conv_layers_show_channels_and_big_layers_a_table(explain, qtbot) -> None:
    window, controller, host = explain
    window.open_example(ROOT / "resources" / "examples" / "digits-cnn.nnstudio", ask=False)
    session, panel = host.session, host.panel
    assert session.explain(4)
    kinds = [(s.kind, s.layer) for s in session.stages]
    types = {t.name: t.type for t in session.explanation.layers}
    conv = next(layer for kind, layer in kinds if kind == "forward" and types[layer] == "Conv2d")
    session.goto(kinds.index(("backward", conv)))
    assert panel.views.currentWidget() is panel.channels
    assert not panel.channels.maps["delta"].pixmap().isNull()
    t = session.explanation.layer(conv)
    assert kinds[0] == ("forward", conv)  # the busiest channel is picked first and kept across stages
    strongest = int(np.argmax(np.abs(t.a[0]).reshape(t.z.shape[1], -1).mean(axis=1)))
    assert session.selection == Selection("neuron", conv, (strongest,))
    assert panel.channels.channel.value() == strongest + 1
    other = 1 if strongest != 0 else 2
    panel.channels.channel.setValue(other + 1)
    assert session.selection == Selection("neuron", conv, (other,))
    assert f"channel {other + 1}" in panel.formula.toPlainText().splitlines()[0]
    assert panel.formula.toPlainText().count("∂L/∂K[c]") == 1
    dense = next(layer for kind, layer in kinds if kind == "forward" and types[layer] == "Dense")
    session.goto(kinds.index(("forward", dense)))
    assert panel.views.currentWidget() is panel.table
    t = session.explanation.layer(dense)
    rows = panel.table.table.rowCount()
    assert 0 < rows <= 12 < t.z.shape[1]
    top = int(np.argmax(np.abs(t.a[0])))
    assert panel.table.table.item(0, 0).text() == str(top + 1)
    assert panel.table.table.item(0, 2).text() == _num(t.a[0, top])


def test_inspector_draws_the_activation_and_the_live_preactivations(explain, qtbot) -> None:
    from gui_training_helpers import run_to_end

    from nnstudio.ml.activation_curves import activation_curve, flat_share

    window, controller, host = explain
    window.inspector_dock.show()
    window.inspector_dock.raise_()
    hidden1 = window.design.layer_by_name("hidden1")
    window.select_layers([hidden1.id])
    view = host.activations.view
    assert view is not None and view.isVisible() and view.function == "tanh"
    xs, ys = view.df_item.getData()
    np.testing.assert_allclose(ys, activation_curve("tanh", xs[0], xs[-1], len(xs)).df)
    window.design.set_training(epochs=2)
    outcome = run_to_end(qtbot, controller)
    assert outcome.status == "completed"
    hist = controller.latest.preactivation_histograms["hidden1"]
    qtbot.waitUntil(lambda: view.histogram is hist)
    edges, counts = view.hist_item.getData()
    np.testing.assert_array_equal(counts, hist.counts)
    share = flat_share("tanh", hist.counts, hist.low, hist.high)
    assert f"{share * 100:.0f} % of z are saturated" in view.share.text()
    # Another activation: the curve follows the document; a layer without one hides the view.
    from nnstudio.gui.editor.commands import SetParamCommand

    window.undo_stack.push(SetParamCommand(window.design, hidden1.id, "activation", "relu"))
    assert view.function == "relu"
    window.select_layers([window.design.layer_by_name("inputs").id])
    assert not view.isVisible()


@pytest.mark.parametrize("example", ["spiral", "residual-mlp", "wide-and-deep"])
def test_every_stage_of_other_examples_has_a_view_and_a_formula(explain, qtbot, example: str) -> None:
    window, controller, host = explain
    window.open_example(ROOT / "resources" / "examples" / f"{example}.nnstudio", ask=False)
    session, panel = host.session, host.panel
    assert session.explain(None)
    ex = session.explanation
    for i, stage in enumerate(session.stages):
        session.goto(i)
        assert panel.views.currentWidget() is not panel.empty
        assert panel.formula.toPlainText().strip()
        if stage.layer and ex.layer(stage.layer).params:
            check = session.check_gradient()
            assert check is not None and check.relative_error < 1e-4, (stage, check)
    expected_view = panel.network if example == "spiral" else panel.table
    assert panel.views.currentWidget() is expected_view
