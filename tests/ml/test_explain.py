"""The backprop stepper's numbers: autograd without hooks, NumPy from the printed weights, finite
differences, and "apply" against the trainer's own step."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from nnstudio.core.catalogue import ACTIVATIONS
from nnstudio.core.errors import DataError
from nnstudio.ml.callbacks import Callback, CancelTraining
from nnstudio.ml.explain import StepExplainer, activation_derivative, next_batch_indices
from nnstudio.ml.explain_text import delta_formula, forward_formula, gradient_formula, loss_formula, update_formula
from nnstudio.ml.trainer import Trainer

try:
    from training_helpers import chain, one_cpu_thread, vector_dataset  # noqa: F401 - autouse
except ImportError:  # tests/ml became a package
    from .training_helpers import chain, one_cpu_thread, vector_dataset  # noqa: F401

TASKS = (("regression", 2), ("binary", 1), ("multiclass", 3))


def dense_design(activations: tuple[str, ...], task: str, units: int, hidden: tuple[int, ...] = (4, 3),
                 **training) -> object:
    layers = [("Input", {"features": 3})]
    layers += [("Dense", {"units": u, "activation": a}) for u, a in zip(hidden, activations, strict=True)]
    layers.append(("Output", {"task": task, "units": units}))
    design = chain(layers)
    design.set_training(batch_size=8, **training)
    return design


def make_trainer(design, task: str, units: int, seed: int = 0) -> Trainer:
    data = vector_dataset(n_train=24, n_val=8, features=3, task=task, classes=max(units, 2), targets=units,
                          seed=seed)
    return Trainer(design, dataset=data, device="cpu", publish_hz=0)


# ---- independent recomputations ----------------------------------------------------------------------

TORCH_ACT = {
    "identity": lambda z: z, "relu": torch.relu, "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.01),
    "elu": torch.nn.functional.elu, "gelu": torch.nn.functional.gelu, "tanh": torch.tanh,
    "sigmoid": torch.sigmoid, "softplus": torch.nn.functional.softplus, "sine": torch.sin,
}
_erf = np.vectorize(math.erf)


def np_act(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(f(z), f′(z)) written out by hand."""
    sig = 1 / (1 + np.exp(-z))
    if name == "identity":
        return z, np.ones_like(z)
    if name == "relu":
        return np.maximum(z, 0), (z > 0).astype(float)
    if name == "leaky_relu":
        return np.where(z > 0, z, 0.01 * z), np.where(z > 0, 1.0, 0.01)
    if name == "elu":
        return np.where(z > 0, z, np.expm1(z)), np.where(z > 0, 1.0, np.exp(z))
    if name == "gelu":
        cdf = 0.5 * (1 + _erf(z / math.sqrt(2)))
        return z * cdf, cdf + z * np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    if name == "tanh":
        return np.tanh(z), 1 - np.tanh(z) ** 2
    if name == "sigmoid":
        return sig, sig * (1 - sig)
    if name == "softplus":
        return np.log1p(np.exp(z)), sig
    if name == "sine":
        return np.sin(z), np.cos(z)
    raise AssertionError(name)


def numpy_pass(weights: list[tuple[np.ndarray, np.ndarray]], acts: list[str], x: np.ndarray, y: np.ndarray,
               task: str) -> tuple[float, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    """Loss, δ per layer and (∂L/∂W, ∂L/∂b) per layer for a dense chain, from the weights alone."""
    a, inputs, zs = x, [], []
    for (w, b), act in zip(weights, acts + ["identity"], strict=True):
        inputs.append(a)
        z = a @ w.T + b
        zs.append(z)
        a = np_act(act, z)[0]
    z, n = zs[-1], len(x)
    if task == "binary":
        p = 1 / (1 + np.exp(-z))
        loss = float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))
        delta = (p - y) / n
    elif task == "multiclass":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        onehot = np.eye(z.shape[1])[y]
        loss = float(np.mean(-np.log(p[np.arange(n), y])))
        delta = (p - onehot) / n
    else:
        loss = float(np.mean((z - y) ** 2))
        delta = 2 * (z - y) / z.size
    deltas, grads = [delta], []
    for i in range(len(weights) - 1, -1, -1):
        grads.insert(0, (deltas[0].T @ inputs[i], deltas[0].sum(axis=0)))
        if i:
            deltas.insert(0, (deltas[0] @ weights[i][0]) * np_act(acts[i - 1], zs[i - 1])[1])
    return loss, deltas, grads


def autograd_pass(weights, acts, x, y, task):
    """The same pass in torch without any hook: autograd's δ and gradients."""
    params = [(torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)) for w, b in weights]
    a, zs = torch.tensor(x), []
    for (w, b), act in zip(params, acts + ["identity"], strict=True):
        z = a @ w.T + b
        zs.append(z)
        a = TORCH_ACT[act](z)
    if task == "binary":
        loss = torch.nn.functional.binary_cross_entropy_with_logits(zs[-1], torch.tensor(y))
    elif task == "multiclass":
        loss = torch.nn.functional.cross_entropy(zs[-1], torch.tensor(y))
    else:
        loss = torch.nn.functional.mse_loss(zs[-1], torch.tensor(y))
    flat = [t for pair in params for t in pair]
    grads = torch.autograd.grad(loss, zs + flat)
    deltas = [g.numpy() for g in grads[:len(zs)]]
    rest = [g.numpy() for g in grads[len(zs):]]
    return float(loss.detach()), deltas, list(zip(rest[::2], rest[1::2], strict=True))


@pytest.mark.parametrize("task,units", TASKS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_deltas_and_gradients_equal_autograd_and_numpy(activation: str, task: str, units: int) -> None:
    rng = np.random.default_rng(ACTIVATIONS.index(activation))
    second = ACTIVATIONS[rng.integers(len(ACTIVATIONS))]
    acts = [activation, second]
    hidden = tuple(int(n) for n in rng.integers(1, 7, size=2))  # a random shape per activation
    trainer = make_trainer(dense_design(tuple(acts), task, units, hidden), task, units)
    indices = [int(i) for i in rng.choice(trainer.n_train, size=5, replace=False)]
    ex = StepExplainer(trainer, indices, dtype=torch.float64).explanation
    assert [t.name for t in ex.layers] == ["dense1", "dense2", "output1"]
    weights = [(t.params["weight"].value, t.params["bias"].value) for t in ex.layers]
    y = ex.target if task != "multiclass" else ex.target.astype(np.int64)
    for reference in (autograd_pass(weights, acts, ex.input, y, task), numpy_pass(weights, acts, ex.input, y, task)):
        loss, deltas, grads = reference
        assert ex.loss == pytest.approx(loss, abs=1e-9)
        for t, delta, (gw, gb) in zip(ex.layers, deltas, grads, strict=True):
            np.testing.assert_allclose(t.delta, delta, atol=1e-6, rtol=0)
            np.testing.assert_allclose(t.params["weight"].grad, gw, atol=1e-6, rtol=0)
            np.testing.assert_allclose(t.params["bias"].grad, gb, atol=1e-6, rtol=0)
    # z and a are the model's own, and the chain rule holds between the recorded pieces.
    for t, act in zip(ex.layers[:2], acts, strict=True):
        np.testing.assert_allclose(t.z, t.input @ t.params["weight"].value.T + t.params["bias"].value, atol=1e-12)
        np.testing.assert_allclose(t.a, np_act(act, t.z)[0], atol=1e-9)
        np.testing.assert_allclose(t.fprime, np_act(act, t.z)[1], atol=1e-9)
        np.testing.assert_allclose(t.delta, t.fprime * t.grad_a, atol=1e-12)


@pytest.mark.parametrize("task,units", TASKS)
def test_finite_differences_agree_with_backprop(task: str, units: int) -> None:
    trainer = make_trainer(dense_design(("tanh", "gelu"), task, units), task, units, seed=3)
    explainer = StepExplainer(trainer, [1, 4, 7], dtype=torch.float64)
    for layer, param, index in (("dense1", "weight", (2, 1)), ("dense2", "bias", (0,)), ("output1", "weight", (0, 2))):
        check = explainer.check_gradient(layer, param, index)
        assert check.backprop != 0.0
        assert check.relative_error < 1e-4, check
        assert check.numeric == pytest.approx((check.loss_plus - check.loss_minus) / (2 * check.epsilon))
    with pytest.raises(DataError, match=r"dense1.weight has shape \[4, 3\]: there is no entry \[4, 0\]"):
        explainer.check_gradient("dense1", "weight", (4, 0))
    # The check perturbs a copy: the explanation's weights and the trainer's model are untouched.
    live = trainer.model.dense1.weight.detach().double().numpy()
    np.testing.assert_array_equal(live, explainer.explanation.layer("dense1").params["weight"].value)


def test_sample_out_of_range_is_a_data_error() -> None:
    trainer = make_trainer(dense_design(("relu", "relu"), "binary", 1), "binary", 1)
    with pytest.raises(DataError, match="sample 24 is out of range: the training set has 24 samples"):
        StepExplainer(trainer, [24])


class StopAfter(Callback):
    def __init__(self) -> None:
        self.left = 1

    def on_batch_end(self, step: int) -> None:
        self.left -= 1
        if self.left <= 0:
            raise CancelTraining("enough")


OPTIMIZER_CASES = [
    {"optimizer": "sgd"},
    {"optimizer": "momentum", "momentum": 0.8},
    {"optimizer": "nesterov", "momentum": 0.9, "regularization": "l2", "regularization_rate": 0.01},
    {"optimizer": "adam", "learning_rate": 0.01, "regularization": "l1", "regularization_rate": 0.003},
    {"optimizer": "adamw", "learning_rate": 0.01, "regularization": "l2", "regularization_rate": 0.1},
    {"optimizer": "rmsprop", "learning_rate": 0.01, "grad_clip": 0.05},
    {"optimizer": "adagrad", "learning_rate": 0.05},
]


@pytest.mark.parametrize("settings", OPTIMIZER_CASES, ids=lambda s: s["optimizer"])
def test_apply_is_exactly_the_trainers_step(settings: dict) -> None:
    """Two trainers with one seed both take a step (so the optimizer has moments), then one takes its
    next step by fit() and the other by explain + apply: every weight and moment is bitwise the same."""
    design = dense_design(("relu", "tanh"), "multiclass", 3, epochs=5, seed=7, **settings)
    stoppers = [StopAfter(), StopAfter()]
    data = vector_dataset(n_train=24, n_val=8, features=3, task="multiclass", classes=3, seed=1)
    trained, explained = (Trainer(design, dataset=data, device="cpu", publish_hz=0, callbacks=[s]) for s in stoppers)
    for trainer in (trained, explained):
        trainer.fit()
    stoppers[0].left = 1
    indices = next_batch_indices(explained)
    trained.fit()
    explainer = StepExplainer(explained, indices)
    before = {k: v.clone() for k, v in explained.model.state_dict().items()}
    explainer.apply()
    assert explained.step == trained.step == 2
    for name, value in trained.model.state_dict().items():
        assert torch.equal(explained.model.state_dict()[name], value), name
        assert not torch.equal(before[name], value), name
    # The preview was that step: new values and optimizer state as the explainer showed them.
    for t in explainer.explanation.layers:
        for pname, p in t.params.items():
            np.testing.assert_array_equal(p.new_value, trained.model.state_dict()[f"{t.name}.{pname}"].numpy())
    live_state = trained.optimizer.state_dict()["state"]
    applied_state = explained.optimizer.state_dict()["state"]
    for key, entry in live_state.items():
        for name, value in entry.items():
            assert torch.equal(torch.as_tensor(applied_state[key][name]), torch.as_tensor(value)), (key, name)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_derivative_is_autograd_of_the_models_function(activation: str) -> None:
    z = torch.linspace(-3, 3, 61, dtype=torch.float64)
    np.testing.assert_allclose(activation_derivative(activation, z).numpy(), np_act(activation, z.numpy())[1],
                               atol=1e-9)


def test_formulas_carry_the_real_numbers() -> None:
    design = dense_design(("tanh", "sigmoid"), "binary", 1, optimizer="momentum", momentum=0.9)
    trainer = make_trainer(design, "binary", 1)
    ex = StepExplainer(trainer, [5], dtype=torch.float64).explanation
    t = ex.layer("dense2")
    fwd = forward_formula(ex, "dense2", 1)
    assert fwd.lines[0] == "z = Σᵢ wᵢ·xᵢ + b" and fwd.lines[2] == f"  = {_num(t.z[0, 1])}"
    assert len(fwd.lines[1].split(" + ")) == 4 + 1  # four inputs and the bias
    assert fwd.lines[-1].endswith(_num(t.a[0, 1])) and "sigmoid" in fwd.lines[-1]
    assert loss_formula(ex).lines[-1] == f"  = {_num(ex.loss)}"
    back = delta_formula(ex, "dense1", 2)
    assert back.lines[-1].endswith(_num(ex.layer("dense1").delta[0, 2]))
    assert _num(ex.layer("dense1").fprime[0, 2]) in back.lines[-1]
    grad = gradient_formula(ex, "dense2", "weight", (1, 3))
    assert grad.lines[-1] == f"  = {_num(t.params['weight'].grad[1, 3])}"
    update = update_formula(ex, "dense2", "weight", (1, 3))
    assert "v ← μ·v + g" in update.text() and _num(t.params["weight"].new_value[1, 3]) in update.lines[-1]


def _num(v: float) -> str:
    from nnstudio.ml.explain_text import num

    return num(v)


EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "resources" / "examples").glob("*.nnstudio"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_bundled_example_explains_like_autograd(path: Path) -> None:
    """Each example's recorded gradients equal autograd's on a hook-free copy; one weight passes the
    finite-difference check; every layer has a δ of its output's shape."""
    from nnstudio.io import load_design

    trainer = Trainer(load_design(path), base_dir=path.parent, device="cpu", publish_hz=0)
    indices = next_batch_indices(trainer)[:4]
    explainer = StepExplainer(trainer, indices, dtype=torch.float64)
    ex = explainer.explanation
    model = copy.deepcopy(trainer.model).double()
    model.train(ex.mode == "train")
    x = torch.as_tensor(ex.input)
    y = torch.as_tensor(ex.target)
    with torch.random.fork_rng(devices=[]):  # dropout draws the trainer's own random stream
        torch.set_rng_state(trainer.rng_state()["dropout"])
        loss = trainer.loss_fn(model(x), y)
    names = [name for name, _ in model.named_parameters()]
    grads = dict(zip(names, torch.autograd.grad(loss, list(model.parameters())), strict=True))
    assert ex.loss == pytest.approx(float(loss.detach()), rel=1e-12)
    for t in ex.layers:
        assert t.delta.shape == t.z.shape
        for pname, p in t.params.items():
            np.testing.assert_allclose(p.grad, grads[f"{t.name}.{pname}"].numpy(), atol=1e-6, rtol=0)
    first = next(t for t in ex.layers if "weight" in t.params)
    weight = first.params["weight"].grad
    index = tuple(int(i) for i in np.unravel_index(np.argmax(np.abs(weight)), weight.shape))
    assert explainer.check_gradient(first.name, "weight", index).relative_error < 1e-4


def test_apply_matches_the_trainer_with_dropout_and_a_schedule_at_an_epoch_boundary() -> None:
    """One batch per epoch, a step schedule halving the rate each epoch, and dropout: the explained step at
    the start of epoch 2 uses the new rate and the trainer's dropout stream, like fit() does."""
    design = chain([("Input", {"features": 3}), ("Dense", {"units": 6, "activation": "relu"}),
                    ("Dropout", {"rate": 0.4}), ("Dense", {"units": 4, "activation": "tanh"}),
                    ("Output", {"task": "binary", "units": 1})])
    design.set_training(optimizer="momentum", batch_size=24, schedule="step", step_size=1, gamma=0.5, seed=3,
                        learning_rate=0.1)
    data = vector_dataset(n_train=24, n_val=8)
    trained, explained = (Trainer(design, dataset=data, device="cpu", publish_hz=0) for _ in range(2))
    for trainer in (trained, explained):
        trainer.fit(1)
    trained.fit(2)
    explainer = StepExplainer(explained, next_batch_indices(explained))
    assert explainer.explanation.learning_rate == pytest.approx(0.05)
    explainer.apply()
    for name, value in trained.model.state_dict().items():
        assert torch.equal(explained.model.state_dict()[name], value), name
    assert torch.equal(explained.rng_state()["dropout"], trained.rng_state()["dropout"])


@pytest.mark.parametrize("settings", OPTIMIZER_CASES, ids=lambda s: s["optimizer"])
def test_update_formulas_textbook_rules_reproduce_the_real_step(settings: dict) -> None:
    """The update formula's rule, fed the optimizer state the stepper recorded, gives the new weight that
    torch.optim's own step produced (second step, so moments carry history)."""
    design = dense_design(("tanh", "relu"), "binary", 1, seed=2, **settings)
    trainer = make_trainer(design, "binary", 1)
    StepExplainer(trainer, [0, 1, 2]).apply()
    ex = StepExplainer(trainer, [3, 4], dtype=torch.float64).explanation
    h, lr, opt = ex.hyperparameters, ex.learning_rate, ex.optimizer
    for t in ex.layers:
        for name, p in t.params.items():
            w, g = p.value, p.applied_grad
            decay = h.get("weight_decay", 0.0) if name == "weight" else 0.0
            if decay and opt != "adamw":
                g = g + decay * w
            st, prev = p.state, p.previous_state
            if opt == "sgd":
                expected = w - lr * g
            elif opt == "momentum":
                np.testing.assert_allclose(st["momentum_buffer"], h["momentum"] * prev["momentum_buffer"] + g)
                expected = w - lr * st["momentum_buffer"]
            elif opt == "nesterov":
                expected = w - lr * (g + h["momentum"] * st["momentum_buffer"])
            elif opt in ("adam", "adamw"):
                step = float(st["step"])
                b1, b2 = h["beta1"], h["beta2"]
                np.testing.assert_allclose(st["exp_avg"], b1 * prev["exp_avg"] + (1 - b1) * g)
                np.testing.assert_allclose(st["exp_avg_sq"], b2 * prev["exp_avg_sq"] + (1 - b2) * g * g)
                base = w * (1 - lr * decay) if opt == "adamw" else w
                m_hat, v_hat = st["exp_avg"] / (1 - b1 ** step), st["exp_avg_sq"] / (1 - b2 ** step)
                expected = base - lr * m_hat / (np.sqrt(v_hat) + h["eps"])
            elif opt == "rmsprop":
                expected = w - lr * g / (np.sqrt(st["square_avg"]) + h["eps"])
            else:
                expected = w - lr * g / (np.sqrt(st["sum"]) + h["eps"])
            np.testing.assert_allclose(p.new_value, expected, rtol=1e-9, atol=1e-12, err_msg=f"{t.name}.{name}")
            index = (0,) * w.ndim
            assert update_formula(ex, t.name, name, index).lines[-1].startswith(f"  = {_num(p.new_value[index])}")


@pytest.mark.parametrize("regularization", ["none", "l2", "l1"])
def test_playground_recipe_explains_and_applies_the_trainers_step(regularization: str) -> None:
    """Under the Playground recipe the batch is the one fixed order's, the loss is ½(tanh z − t)² on ±1
    targets, and apply (with Playground's clamped L1) lands where the trainer's own step does."""
    design = dense_design(("tanh", "tanh"), "binary", 1, epochs=5, seed=3, recipe="playground",
                          regularization=regularization, regularization_rate=0.01 if regularization != "none" else 0)
    stoppers = [StopAfter(), StopAfter()]
    data = vector_dataset(n_train=26, n_val=8, features=3, task="binary", classes=2, seed=2)
    trained, explained = (Trainer(design, dataset=data, device="cpu", publish_hz=0, callbacks=[s]) for s in stoppers)
    for trainer in (trained, explained):
        trainer.fit()
    stoppers[0].left = 1
    indices = next_batch_indices(explained)
    trained.fit()
    explainer = StepExplainer(explained, indices)
    ex = explainer.explanation
    assert ex.loss_name.startswith("Playground")
    with torch.no_grad():  # the loss, recomputed by hand from the model's raw output
        z = explained.model(explained.x_train[indices])
        t = 2.0 * explained.y_train[indices].float().reshape(z.shape) - 1.0
        expected = float((0.5 * (torch.tanh(z) - t) ** 2).mean())
    assert ex.loss == pytest.approx(expected, rel=1e-6)
    np.testing.assert_allclose(ex.output.reshape(-1), torch.tanh(z).reshape(-1).numpy(), rtol=1e-6)
    explainer.apply()
    for name, value in trained.model.state_dict().items():
        assert torch.equal(explained.model.state_dict()[name], value), name
    if regularization != "l1":  # Playground's L1 acts after the step; the preview shows the gradient step
        for layer in ex.layers:
            for pname, p in layer.params.items():
                np.testing.assert_array_equal(p.new_value, trained.model.state_dict()[f"{layer.name}.{pname}"].numpy())
