"""The loss landscape: the centre is the model's own loss, batched values match one-point evaluations,
directions are filter-normalised, chunking to a memory budget changes nothing, and PCA / projection /
interpolation are right."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from training_helpers import chain, one_cpu_thread, playground, vector_dataset  # noqa: F401

from nnstudio.core.errors import NNStudioError
from nnstudio.ml.landscape import (
    BatchedLoss,
    LandscapeCancelled,
    LossProblem,
    compute_landscape,
    filter_normalized_direction,
    flatten,
    interpolate,
    model_loss,
    plan_chunks,
    project,
    random_directions,
    unflatten,
)
from nnstudio.ml.trainer import Trainer
from nnstudio.ml.trajectory import TrajectoryRecorder, pca_plane


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    design = playground(init="playground", learning_rate=0.3, batch_size=10, device="cpu")
    recorder = TrajectoryRecorder(every_steps=5)
    trainer = Trainer(design, callbacks=[recorder], publish_hz=0)
    trainer.fit(4)
    return trainer, recorder.trajectory


def independent_loss(trainer, weights) -> float:
    """BCE of a model rebuilt from the state dict, computed from the sigmoid by hand (not the app's loss)."""
    from nnstudio.ml.builder import build_model

    model = build_model(trainer.design)
    state = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    state.update({k: v.detach().clone() for k, v in weights.items()})
    model.load_state_dict(state)
    with torch.no_grad():
        p = torch.sigmoid(model(trainer.x_train)).double().clamp(1e-12, 1 - 1e-12)
        y = trainer.y_train.double()
        return float(-(y * p.log() + (1 - y) * (1 - p).log()).mean())


def test_centre_equals_the_models_own_loss(trained):
    trainer, trajectory = trained
    problem = LossProblem.from_trainer(trainer)
    for directions in ("random", "pca"):
        landscape = compute_landscape(problem, grid=9, span=0.5, directions=directions, trajectory=trajectory)
        centre = landscape.losses[4, 4]
        assert abs(centre - landscape.center_loss) < 1e-5
        assert abs(centre - independent_loss(trainer, problem.weights())) < 1e-5
        assert abs(landscape.center_loss - F.binary_cross_entropy_with_logits(
            trainer.model(trainer.x_train), trainer.y_train).item()) < 1e-5


def test_values_along_a_direction_match_single_point_evaluations(trained):
    trainer, _ = trained
    problem = LossProblem.from_trainer(trainer)
    landscape = compute_landscape(problem, grid=7, span=1.0, seed=3)
    center = problem.weights()
    d1, d2 = random_directions(center, 3)
    for j, b in enumerate(landscape.ys):
        for i, a in enumerate(landscape.xs):
            if i != 3 and j != 3 and i != j:
                continue  # both axes and the diagonal through the centre
            point = {n: center[n] + float(a) * d1[n] + float(b) * d2[n] for n in center}
            assert abs(landscape.losses[j, i] - independent_loss(trainer, point)) < 1e-5, (a, b)
    assert np.ptp(landscape.losses) > 1e-3  # the plane is not flat: the check above means something


def test_directions_are_filter_normalised(trained):
    trainer, _ = trained
    weights = LossProblem.from_trainer(trainer).weights()
    direction = filter_normalized_direction(weights, torch.Generator().manual_seed(0))
    for name, w in weights.items():
        d = direction[name]
        if w.dim() == 1:
            assert torch.count_nonzero(d) == 0  # biases are left alone (Li et al.'s default)
        else:
            torch.testing.assert_close(d.norm(dim=1), w.norm(dim=1), rtol=1e-5, atol=1e-6)
    other = filter_normalized_direction(weights, torch.Generator().manual_seed(1))
    assert not torch.equal(direction["hidden1.weight"] if "hidden1.weight" in direction else
                           next(iter(direction.values())), next(iter(other.values())))


def test_chunks_sized_to_a_memory_budget_give_the_same_values(trained):
    trainer, _ = trained
    problem = LossProblem.from_trainer(trainer)
    center = problem.weights()
    d1, d2 = random_directions(center, 0)
    coeffs = np.random.default_rng(0).uniform(-1, 1, (23, 2))
    whole = BatchedLoss(problem)
    tiny = BatchedLoss(problem, memory_budget=20_000)
    assert whole.chunk_points >= 23 and tiny.chunk_points < 5 and tiny.data_slice < problem.samples
    np.testing.assert_allclose(tiny(center, [d1, d2], coeffs), whole(center, [d1, d2], coeffs), atol=2e-6)


def test_matmul_vmap_and_one_point_at_a_time_agree_and_auto_picks_matmul(trained):
    trainer, _ = trained
    problem = LossProblem.from_trainer(trainer, max_samples=100)
    assert problem.samples == 100
    center = problem.weights()
    d1, d2 = random_directions(center, 5)
    coeffs = np.random.default_rng(1).uniform(-1, 1, (12, 2))
    values = {s: BatchedLoss(problem, max_points=4, strategy=s)(center, [d1, d2], coeffs)
              for s in ("matmul", "vmap", "loop")}
    np.testing.assert_allclose(values["vmap"], values["loop"], atol=1e-6)
    np.testing.assert_allclose(values["matmul"], values["loop"], atol=1e-6)
    auto = BatchedLoss(problem, max_points=4)
    np.testing.assert_allclose(auto(center, [d1, d2], coeffs), values["loop"], atol=1e-6)
    assert auto.used == "matmul"  # a chain of Linear layers: batched matmuls (other models: test_landscape_chain)


def test_plan_chunks_fits_the_budget():
    points, data = plan_chunks(parameter_bytes=4_000_000, activation_bytes=8_000, samples=50_000,
                               memory_budget=64 << 20)
    assert points >= 1 and data >= 1
    assert points * (4_000_000 * 2 + 8_000 * 3 * data) <= 64 << 20
    assert plan_chunks(10**9, 10**6, 100, memory_budget=1 << 20) == (1, 1)  # never zero


def test_progress_and_cancel(trained):
    trainer, _ = trained
    problem = LossProblem.from_trainer(trainer)
    seen: list[tuple[int, int]] = []
    evaluate = BatchedLoss(problem, max_points=10)
    center = problem.weights()
    d1, d2 = random_directions(center)
    evaluate(center, [d1, d2], np.zeros((35, 2)), progress=lambda done, total: seen.append((done, total)))
    assert seen == [(10, 35), (20, 35), (30, 35), (35, 35)]
    calls = []

    def cancel_after_two() -> bool:
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(LandscapeCancelled):
        evaluate(center, [d1, d2], np.zeros((35, 2)), cancelled=cancel_after_two)


def test_pca_plane_and_projection_recover_a_path_in_a_known_plane():
    rng = np.random.default_rng(0)
    u, v = rng.standard_normal(50), rng.standard_normal(50)
    u /= np.linalg.norm(u)
    v -= v @ u * u
    v /= np.linalg.norm(v)
    center = rng.standard_normal(50)
    t = np.linspace(0, 1, 30)
    path = center + np.outer(3 * (1 - t), u) + np.outer(np.sin(2 * np.pi * t) * 0.5, v)
    d1, d2, explained = pca_plane(path, center)
    coords = project(path, center, d1, d2)
    assert np.max(np.abs(coords)) == pytest.approx(1.0)
    np.testing.assert_allclose(coords[-1], [0, 0], atol=1e-9)  # the path ends at the centre
    rebuilt = center + coords[:, :1] * d1 + coords[:, 1:] * d2
    np.testing.assert_allclose(rebuilt, path, atol=1e-9)  # the whole path lies in the plane
    assert explained[0] > explained[1] > 0 and sum(explained) == pytest.approx(1.0)


def test_pca_needs_a_trajectory(trained):
    trainer, _ = trained
    with pytest.raises(NNStudioError, match="trajectory"):
        compute_landscape(LossProblem.from_trainer(trainer), grid=3, directions="pca")
    with pytest.raises(NNStudioError, match="grid"):
        compute_landscape(LossProblem.from_trainer(trainer), grid=1)


def test_recorded_trajectory_ends_at_the_trained_weights(trained):
    trainer, trajectory = trained
    points = trajectory.points()
    assert len(trajectory) == len(trajectory.steps) >= 4
    assert trajectory.steps[0] == 0 and trajectory.steps[-1] == trainer.step
    np.testing.assert_array_equal(points[-1], flatten(LossProblem.from_trainer(trainer).weights()).astype(np.float32))


def test_interpolation_between_two_solutions(trained):
    trainer, _ = trained
    problem = LossProblem.from_trainer(trainer)
    a = problem.weights()
    other = Trainer(trainer.design.copy(), publish_hz=0)  # the same design's initial weights
    b = {n: p.detach() for n, p in other.model.named_parameters()}
    line = interpolate(problem, a, b, points=9)
    assert line.losses[line.alphas == 0.0][0] == pytest.approx(line.loss_a, abs=1e-5)
    assert line.losses[line.alphas == 1.0][0] == pytest.approx(line.loss_b, abs=1e-5)
    assert line.loss_a == pytest.approx(independent_loss(trainer, a), abs=1e-5)
    k = 5
    alpha = float(line.alphas[k])
    middle = {n: a[n] + alpha * (b[n] - a[n]) for n in a}
    assert line.losses[k] == pytest.approx(independent_loss(trainer, middle), abs=1e-5)
    assert line.barrier >= 0.0


def test_a_million_parameter_model_is_evaluated_in_budgeted_chunks():
    design = chain([("Input", {"features": 3}), ("Dense", {"units": 1000, "activation": "tanh"}),
                    ("Dense", {"units": 1000, "activation": "tanh"}), ("Output", {"task": "binary", "units": 1})])
    design.set_training(device="cpu")
    trainer = Trainer(design, dataset=vector_dataset(n_train=64, n_val=8), publish_hz=0)
    problem = LossProblem.from_trainer(trainer)
    count = sum(p.numel() for p in trainer.model.parameters())
    assert count > 1_000_000
    landscape = compute_landscape(problem, grid=3, span=0.5, memory_budget=24 << 20)
    assert landscape.chunk_points < 9  # it really was split
    assert abs(landscape.losses[1, 1] - model_loss(problem)) < 1e-5
    assert np.all(np.isfinite(landscape.losses))


def test_flatten_round_trip(trained):
    trainer, _ = trained
    weights = LossProblem.from_trainer(trainer).weights()
    back = unflatten(flatten(weights), weights)
    for name in weights:
        torch.testing.assert_close(back[name], weights[name])


def test_the_recorder_stays_within_its_limit_and_keeps_the_newest_point():
    design = playground(init="playground", device="cpu")
    recorder = TrajectoryRecorder(every_steps=1, max_points=8)
    trainer = Trainer(design, callbacks=[recorder], publish_hz=0)
    trainer.fit(3)
    steps = recorder.trajectory.steps
    assert 4 <= len(steps) <= 9 and steps[0] == 0 and steps[-1] == trainer.step
    assert steps == sorted(steps) and recorder.every_steps > 1  # thinned out, interval doubled
    trainer.fit(4)  # continuing the same run extends the same path
    assert recorder.trajectory.steps[0] == 0 and recorder.trajectory.steps[-1] == trainer.step
    fresh = Trainer(design, callbacks=[recorder], publish_hz=0)
    fresh.fit(1)  # a new run from fresh weights starts a new path
    assert recorder.trajectory.steps[0] == 0 and max(recorder.trajectory.steps) == fresh.step == 25
