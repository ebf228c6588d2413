"""The batched-matmul landscape path: chosen for chains of Linear layers, it gives the same losses as
the real model evaluated one weight point at a time (a rebuilt model, weights loaded, the loss computed
by hand in float64), for several activations, recipes and tasks; other models fall back to vmap."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from training_helpers import chain, image_dataset, one_cpu_thread, playground, vector_dataset  # noqa: F401

import nnstudio.ml.landscape_chain as landscape_chain
from nnstudio.ml.builder import build_model
from nnstudio.ml.landscape import BatchedLoss, LossProblem, compute_landscape, model_loss, random_directions
from nnstudio.ml.landscape_chain import ChainLoss
from nnstudio.ml.trainer import Trainer


def by_hand(trainer: Trainer, out: torch.Tensor) -> float:
    """The trainer's evaluation loss, written out in float64 from the raw outputs."""
    out, y = out.double(), trainer.y_train
    if trainer.config.playground:
        if trainer.task == "binary":
            return float((0.5 * (torch.tanh(out) - (2 * y.double() - 1)) ** 2).mean())
        return float((0.5 * (out - y.double()) ** 2).mean())
    if trainer.task == "binary":
        p = torch.sigmoid(out).clamp(1e-12, 1 - 1e-12)
        return float(-(y * p.log() + (1 - y) * (1 - p).log()).mean())
    if trainer.task == "multiclass":
        return float(-(out - out.logsumexp(dim=1, keepdim=True)).gather(1, y.reshape(-1, 1)).mean())
    return float(((out - y.double()) ** 2).mean())


def single_point(trainer: Trainer, weights: dict[str, torch.Tensor]) -> float:
    """The loss at one weight point: a freshly built model with the weights loaded, a plain forward."""
    model = build_model(trainer.design)
    model.load_state_dict({n: w.detach().clone() for n, w in weights.items()})
    model.eval()
    with torch.no_grad():
        return by_hand(trainer, model(trainer.x_train))


def trained(design, dataset=None, epochs: int = 2) -> Trainer:
    trainer = Trainer(design, dataset=dataset, publish_hz=0)
    trainer.fit(epochs)
    return trainer


DESIGNS = {
    "playground tanh": lambda: trained(playground(init="playground", recipe="playground", learning_rate=0.1,
                                                  batch_size=10, device="cpu")),
    "relu, cross-entropy, dropout": lambda: trained(chain(
        [("Input", {"features": 3}), ("Dense", {"units": 6, "activation": "relu"}), ("Dropout", {"rate": 0.3}),
         ("Dense", {"units": 5, "activation": "identity"}), ("Activation", {"function": "sigmoid"}),
         ("Output", {"task": "multiclass", "units": 3})]), vector_dataset(task="multiclass", classes=3)),
    "sigmoid, no bias, binary": lambda: trained(chain(
        [("Input", {"features": 3}), ("Dense", {"units": 7, "activation": "sigmoid", "bias": False}),
         ("Output", {"task": "binary", "units": 1})]), vector_dataset()),
    "regression, two targets": lambda: trained(chain(
        [("Input", {"features": 3}), ("Dense", {"units": 8, "activation": "tanh"}),
         ("Dense", {"units": 4, "activation": "gelu"}), ("Output", {"task": "regression", "units": 2})]),
        vector_dataset(task="regression", targets=2)),
    "playground regression": lambda: trained(playground(init="playground", recipe="playground", task="regression",
                                                        dataset="reg-plane", device="cpu")),
    "image flattened first": lambda: trained(chain(
        [("Input", {"mode": "image", "channels": 1, "height": 6, "width": 6}), ("Flatten", {}),
         ("Dense", {"units": 5, "activation": "elu"}), ("Output", {"task": "multiclass", "units": 3})]),
        image_dataset()),
}


@pytest.mark.parametrize("name", list(DESIGNS))
def test_matmul_path_matches_single_point_evaluations(name):
    trainer = DESIGNS[name]()
    problem = LossProblem.from_trainer(trainer)
    assert ChainLoss.plan(problem.model, problem.loss_sum_fn) is not None  # the fast path applies
    landscape = compute_landscape(problem, grid=5, span=0.8, seed=2)
    assert landscape.strategy == "matmul"
    center = problem.weights()
    assert abs(landscape.losses[2, 2] - landscape.center_loss) < 1e-5
    assert abs(landscape.center_loss - single_point(trainer, center)) < 1e-5
    d1, d2 = random_directions(center, 2)
    for j, b in enumerate(landscape.ys):  # both axes through the centre and one corner
        for i, a in enumerate(landscape.xs):
            if i == 2 or j == 2 or (i, j) == (0, 4):
                point = {n: center[n] + float(a) * d1[n] + float(b) * d2[n] for n in center}
                expected = single_point(trainer, point)
                assert abs(landscape.losses[j, i] - expected) < 1e-5 * max(1.0, abs(expected)), (a, b)
    assert np.ptp(landscape.losses) > 1e-3  # the plane is not flat: the comparisons mean something
    coeffs = np.random.default_rng(0).uniform(-1, 1, (9, 2))
    np.testing.assert_allclose(BatchedLoss(problem, strategy="matmul")(center, [d1, d2], coeffs),
                               BatchedLoss(problem, strategy="vmap")(center, [d1, d2], coeffs), rtol=1e-5, atol=1e-6)


def test_tiles_and_chunks_change_nothing(monkeypatch):
    trainer = DESIGNS["playground tanh"]()
    problem = LossProblem.from_trainer(trainer)
    center = problem.weights()
    d1, d2 = random_directions(center, 4)
    coeffs = np.random.default_rng(3).uniform(-1.5, 1.5, (50, 2))
    whole = BatchedLoss(problem)(center, [d1, d2], coeffs)
    monkeypatch.setattr(landscape_chain, "TILE_BYTES", 1)  # tiles of MIN_TILE_POINTS points
    tiles = BatchedLoss(problem, max_points=20)  # chunks of 20 points, tiles of 8, 8 and 4
    assert tiles.chain.tile_points(problem.samples) == landscape_chain.MIN_TILE_POINTS < 20
    np.testing.assert_allclose(tiles(center, [d1, d2], coeffs), whole, atol=2e-6)
    sliced = BatchedLoss(problem, memory_budget=15_000)
    assert sliced.chunk_points < 50 and sliced.data_slice < problem.samples  # the samples are split too
    np.testing.assert_allclose(sliced(center, [d1, d2], coeffs), whole, atol=2e-6)
    loop = np.array([model_loss(problem, {n: center[n] + a * d1[n] + b * d2[n] for n in center})
                     for a, b in coeffs[:5]])
    np.testing.assert_allclose(whole[:5], loop, atol=2e-6)


def test_other_models_fall_back_to_vmap_or_the_loop():
    conv = chain([("Input", {"mode": "image", "channels": 1, "height": 6, "width": 6}),
                  ("Conv2d", {"filters": 2, "kernel": 3}), ("Flatten", {}),
                  ("Output", {"task": "multiclass", "units": 3})])
    norm = chain([("Input", {"features": 3}), ("Dense", {"units": 4}), ("BatchNorm", {}),
                  ("Output", {"task": "binary", "units": 1})])
    for design, data in ((conv, image_dataset()), (norm, vector_dataset())):
        design.set_training(device="cpu")
        trainer = Trainer(design, dataset=data, publish_hz=0)
        problem = LossProblem.from_trainer(trainer)
        assert ChainLoss.plan(problem.model, problem.loss_sum_fn) is None
        evaluate = BatchedLoss(problem, max_points=2)
        center = problem.weights()
        d1, d2 = random_directions(center, 0)
        values = evaluate(center, [d1, d2], np.array([[0.0, 0.0], [0.3, -0.2], [0.5, 0.5], [-1, 1], [1, 0]]))
        assert evaluate.used in ("vmap", "loop")
        assert abs(values[0] - model_loss(problem)) < 1e-5
        with pytest.raises(ValueError, match="chain"):
            BatchedLoss(problem, strategy="matmul")


def test_a_branch_or_a_weighted_non_linear_module_is_no_chain():
    from nnstudio.core.document import Design

    design = Design("residual")
    inputs = design.add_layer("Input", params={"features": 3})
    a = design.add_layer("Dense", params={"units": 3})
    b = design.add_layer("Dense", params={"units": 3})
    add = design.add_layer("Add")
    out = design.add_layer("Output", params={"task": "binary", "units": 1})
    for src, dst in ((inputs, a), (a, b), (a, add), (b, add), (add, out)):
        design.connect(src.id, dst.id)
    assert ChainLoss.plan(build_model(design), lambda out, y: out.sum()) is None
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))
    assert ChainLoss.plan(model, lambda out, y: (out - y).square().sum()) is not None
    model.add_module("norm", torch.nn.LayerNorm(1))  # has weights, and is not a Linear
    assert ChainLoss.plan(model, lambda out, y: (out - y).square().sum()) is None


def test_data_that_does_not_reach_the_first_linear_flat_falls_back():
    model = torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.Tanh())  # applied to the last axis of (n, 3, 4)
    x, y = torch.randn(10, 3, 4), torch.randn(10, 3, 2)
    problem = LossProblem(model, x, y, lambda out, t: (out - t).square().sum())
    evaluate = BatchedLoss(problem)
    assert evaluate.chain is None
    center = problem.weights()
    d1, _ = random_directions(center, 0)
    values = evaluate(center, [d1], np.array([[0.0], [0.5]]))
    assert values[0] == pytest.approx(model_loss(problem), abs=1e-6)
    assert values[1] == pytest.approx(model_loss(problem, {n: center[n] + 0.5 * d1[n] for n in center}), abs=1e-6)
