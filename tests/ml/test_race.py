"""The optimizer race and N seeds: each run is exactly a single Trainer run with its settings, a diverging
run drops out alone, the paths share one plane from a common start, and seeds end in different places."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from training_helpers import one_cpu_thread, playground, vector_dataset, vector_design  # noqa: F401

from nnstudio.core.errors import NNStudioError
from nnstudio.ml.landscape import interpolate, model_loss
from nnstudio.ml.race import Contender, MultiRun, race_contenders, seed_contenders
from nnstudio.ml.trainer import Trainer


def test_each_racer_is_identical_to_a_single_run():
    design = playground(init="playground", device="cpu")
    contenders = race_contenders([("sgd", 0.1), ("momentum", 0.05), ("nesterov", 0.05), ("adam", 0.01)])
    race = MultiRun(design, contenders, record_every=5)
    turns = []
    race.run(3, on_turn=lambda states: turns.append([s.epochs[-1] for s in states]))
    assert turns == [[1, 1, 1, 1], [2, 2, 2, 2], [3, 3, 3, 3]]  # side by side, one epoch a turn
    for contender, raced, state in zip(contenders, race.trainers, race.states, strict=True):
        alone = design.copy()
        alone.set_training(**contender.changes)
        single = Trainer(alone, publish_hz=0)
        single.fit(3)
        assert state.status == "done" and state.steps == single.step
        for a, b in zip(single.model.parameters(), raced.model.parameters(), strict=True):
            assert torch.equal(a, b), contender.label
        assert state.final_loss == pytest.approx(single.last_telemetry.val_loss)
    # All started from the same weights, and went different ways.
    starts = [t[0] for t in race.trajectories()]
    assert all(np.array_equal(starts[0], s) for s in starts)
    ends = [t[-1] for t in race.trajectories()]
    assert not np.allclose(ends[0], ends[1])


def test_adaptive_turns_give_the_same_runs():
    design = playground(init="playground", device="cpu")
    contenders = race_contenders([("momentum", 0.1), ("adam", 0.01)])
    fixed, adaptive = MultiRun(design, contenders), MultiRun(design, contenders)
    fixed.run(4, epochs_per_turn=1)
    rounds = []
    adaptive.run(4, epochs_per_turn=None, turn_seconds=10.0, on_turn=lambda s: rounds.append(s[0].epochs[-1]))
    assert rounds == [1, 4]  # one epoch to measure, then the rest in one turn
    for a, b in zip(fixed.trainers, adaptive.trainers, strict=True):
        for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True):
            assert torch.equal(p, q)


def test_paths_on_one_plane_start_at_its_centre():
    design = playground(init="playground", device="cpu")
    race = MultiRun(design, race_contenders([("sgd", 0.3), ("momentum", 0.3)]), record_every=2)
    race.run(2)
    landscape, paths = race.landscape(grid=5)
    for path in paths:
        np.testing.assert_allclose(path[0], [0, 0], atol=1e-6)
    assert max(np.max(np.abs(p)) for p in paths) == pytest.approx(1.0, abs=1e-6)
    assert landscape.losses[2, 2] == pytest.approx(landscape.center_loss, abs=1e-5)
    start_loss = model_loss(race.problem())
    assert landscape.center_loss == pytest.approx(start_loss, abs=1e-6)


def test_a_diverging_runner_drops_out_and_the_others_finish():
    design = vector_design(task="regression", activation="identity", hidden=(8,), batch_size=8)
    data = vector_dataset(task="regression", scale=50.0)
    race = MultiRun(design, race_contenders([("sgd", 0.001), ("sgd", 5.0)]), dataset=data)
    race.run(4)
    calm, wild = race.states
    assert calm.status == "done" and len(calm.epochs) == 4
    assert wild.status == "diverged" and ("NaN" in wild.message or "infinite" in wild.message)
    assert math.isinf(wild.train_loss[-1]) and wild.epochs[-1] <= 4 and len(wild.epochs) < 4
    assert all(torch.isfinite(p).all() for p in race.trainers[1].model.parameters())  # last finite weights


def test_seeds_find_different_minima_with_a_line_between_them():
    design = playground(init="playground", learning_rate=0.3, device="cpu")
    runs = MultiRun(design, seed_contenders(3), record_every=0)
    runs.run(3)
    assert [s.label for s in runs.states] == ["seed 0", "seed 1", "seed 2"]
    ends = [torch.cat([p.detach().reshape(-1) for p in t.model.parameters()]) for t in runs.trainers]
    assert not torch.allclose(ends[0], ends[1]) and not torch.allclose(ends[1], ends[2])
    for state in runs.states:
        assert state.boundary is not None and state.boundary.shape[-1] == state.boundary.shape[-2]
        assert state.final_accuracy is not None
    problem = runs.problem()
    line = interpolate(problem, runs.weights(0), runs.weights(1), points=11)
    assert line.loss_a == pytest.approx(model_loss(problem, runs.weights(0)), abs=1e-6)
    assert line.loss_b == pytest.approx(model_loss(problem, runs.weights(1)), abs=1e-6)


def test_bad_races_are_refused():
    design = playground(device="cpu")
    with pytest.raises(NNStudioError, match="optimizer"):
        race_contenders([("sgdd", 0.1)])
    with pytest.raises(NNStudioError, match="run 'x'"):
        MultiRun(design, [Contender("x", {"learning_rate": -1.0})])
    with pytest.raises(NNStudioError, match="1 to"):
        MultiRun(design, [])
