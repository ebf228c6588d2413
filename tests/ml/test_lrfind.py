"""The learning-rate finder: the sweep, the smoothing, the suggestions, divergence, untouched weights,
and the Playground example's suggestion training the circle."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from training_helpers import one_cpu_thread, playground  # noqa: F401

from nnstudio.core.errors import NNStudioError
from nnstudio.io import load_design
from nnstudio.ml.lrfind import (
    find_learning_rate,
    rate_at,
    smooth,
    smooth_both_ways,
    steepest,
    suggestions,
    valley,
)
from nnstudio.ml.trainer import Trainer
from nnstudio.resources import DEFAULT_EXAMPLE


def test_rates_grow_exponentially_from_start_to_end():
    rates = [rate_at(i, 61, 1e-6, 10.0) for i in range(61)]
    assert rates[0] == pytest.approx(1e-6) and rates[-1] == pytest.approx(10.0)
    ratios = np.array(rates[1:]) / np.array(rates[:-1])
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)


def test_smoothing_is_fastais_debiased_average_and_the_two_way_one_has_no_lag():
    values = [1.0, 3.0, 2.0]
    avg, expected = 0.0, []
    for i, v in enumerate(values):
        avg = 0.98 * avg + 0.02 * v
        expected.append(avg / (1 - 0.98 ** (i + 1)))
    assert smooth(values) == pytest.approx(expected)
    step = [1.0] * 200 + [0.0] * 200  # a drop at index 200
    one_way, two_way = np.array(smooth(step)), np.array(smooth_both_ways(step))
    assert np.argmin(np.abs(one_way - 0.5)) > 220  # the running average reaches halfway late
    assert abs(int(np.argmin(np.abs(two_way - 0.5))) - 200) <= 2


def test_steepest_and_valley_on_a_known_curve():
    lrs = np.logspace(-4, 1, 51)
    x = np.log10(lrs)
    losses = 1.0 / (1.0 + np.exp(4 * (x + 1.0))) + 0.02 * np.maximum(0, x) ** 2  # falls fastest at 1e-1
    assert steepest(lrs, losses) == pytest.approx(0.1, rel=0.26)
    # fastai's rule by hand: the curve falls strictly up to index 44 (the quadratic wins after that), a
    # run of 45 points; fastai's start is 44 - 45 = -1, its step (44 - -1) / 3 = 15: -1 + 15 + 7 = 21.
    assert np.all(np.diff(losses[:45]) < 0) and losses[45] > losses[44]
    assert valley(lrs, losses) == pytest.approx(lrs[21])


def test_the_steepest_descent_is_looked_for_before_the_lowest_point():
    lrs = list(np.logspace(-6, 1, 100))
    x = np.log10(lrs)
    curve = list(0.7 - 0.1 / (1 + np.exp(-3 * (x + 1))) + np.where(x > 0, 0.3 * x, 0.0))
    curve[90] -= 0.1  # a dip in the climb after the minimum is steeper than the descent itself
    steep, _valley = suggestions(lrs, curve, 100)
    assert 10 ** -1.6 < steep < 10 ** -0.4  # near the descent's middle at 0.1, not in the climb


@pytest.fixture(scope="module")
def circle_result():
    torch.set_num_threads(1)
    design = load_design(DEFAULT_EXAMPLE)
    return design, find_learning_rate(design)


def test_playground_suggestion_trains_the_circle(circle_result):
    design, result = circle_result
    lowest = int(np.nanargmin(result.smoothed))
    assert result.learning_rates[lowest] < 10  # the curve turns up again inside the range
    assert result.learning_rates[lowest] == pytest.approx(result.minimum_lr)
    assert result.suggestion == pytest.approx(result.minimum_lr / 10)
    assert result.steepest is not None and result.valley is not None
    trained = design.copy()
    trained.set_training(learning_rate=result.suggestion, device="cpu")
    trainer = Trainer(trained, publish_hz=0)
    trainer.fit(100)
    assert trainer.last_telemetry.val_accuracy >= 0.98


def test_the_curve_is_the_trainers_batch_losses(circle_result):
    design, result = circle_result
    assert len(result.learning_rates) == len(result.losses) == len(result.smoothed) == result.iterations
    assert result.learning_rates[0] == pytest.approx(1e-6)
    assert all(math.isfinite(v) for v in result.losses[:10])
    # An untrained classifier's output is near 0: BCE starts near ln 2, Playground's ½(tanh z − t)² near ½.
    start = 0.5 if design.training.recipe == "playground" else math.log(2)
    assert abs(result.losses[0] - start) < 0.1


def test_weights_are_untouched_and_divergence_stops_the_sweep():
    design = playground(dataset="reg-plane", task="regression", activation="identity", init="playground",
                        device="cpu")
    start = Trainer(design, publish_hz=0)
    weights = {n: t.detach().numpy().copy() for n, t in start.model.state_dict().items()}
    before = {n: w.copy() for n, w in weights.items()}
    result = find_learning_rate(design, weights=weights, iterations=300)
    assert result.diverged and result.iterations < 300 and result.stopped_at < 10
    for name in weights:
        np.testing.assert_array_equal(weights[name], before[name])
    assert result.to_json()["diverged"] is True


def test_bad_ranges_are_refused():
    design = playground(device="cpu")
    with pytest.raises(NNStudioError, match="grow"):
        find_learning_rate(design, start_lr=1.0, end_lr=0.1)
    with pytest.raises(NNStudioError, match="iterations"):
        find_learning_rate(design, iterations=2)
