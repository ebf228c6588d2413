"""The Playground generators follow REFERENCE.md's recipes; features and the plotting grid are computed right."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.errors import DataError
from nnstudio.core.settings import PLAYGROUND_FEATURES
from nnstudio.data import (
    GENERATORS,
    generate_playground,
    make_circle,
    make_gauss,
    make_reg_gauss,
    make_reg_plane,
    make_spiral,
    make_xor,
    playground_features,
    playground_grid,
)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize("name", list(GENERATORS))
@pytest.mark.parametrize("samples", [10, 11, 500])
def test_every_generator_makes_exactly_the_samples_asked_for(name: str, samples: int) -> None:
    points, labels = generate_playground(name, samples, 0.25, rng())
    assert points.shape == (samples, 2)
    assert labels.shape == (samples,)
    assert np.isfinite(points).all() and np.isfinite(labels).all()


@pytest.mark.parametrize("name", ["circle", "xor", "gauss", "spiral"])
def test_classification_labels_are_plus_or_minus_one(name: str) -> None:
    _, labels = generate_playground(name, 400, 0.5, rng())
    assert set(np.unique(labels)) == {-1.0, 1.0}


def test_circle_without_noise_separates_inner_disc_from_outer_ring() -> None:
    points, labels = make_circle(1000, 0.0, rng(1))
    radius = np.hypot(points[:, 0], points[:, 1])
    assert (labels == 1).sum() == 500
    assert (radius[labels == 1] < 2.5).all()
    assert (radius[labels == -1] >= 3.5).all()
    assert (radius <= 5.0).all()


def test_circle_noise_flips_labels_but_never_moves_points() -> None:
    quiet_points, quiet_labels = make_circle(1000, 0.0, rng(2))
    noisy_points, noisy_labels = make_circle(1000, 0.5, rng(2))
    np.testing.assert_array_equal(quiet_points, noisy_points)
    flipped = (quiet_labels != noisy_labels).mean()
    assert 0.05 < flipped < 0.6
    # The jitter is at most 2.5 per axis: the outermost points can never be labelled inside.
    radius = np.hypot(*noisy_points.T)
    assert (noisy_labels[radius > 2.5 + 2.5 * np.sqrt(2)] == -1).all()


def test_xor_points_stay_off_the_axes_and_labels_follow_the_quadrant() -> None:
    points, labels = make_xor(2000, 0.0, rng(3))
    assert (np.abs(points) >= 0.3).all()
    assert (np.abs(points) <= 5.3).all()
    np.testing.assert_array_equal(labels, np.where(points[:, 0] * points[:, 1] >= 0, 1.0, -1.0))


def test_xor_noise_changes_some_labels() -> None:
    points, labels = make_xor(2000, 0.5, rng(3))
    clean = np.where(points[:, 0] * points[:, 1] >= 0, 1.0, -1.0)
    assert 0.02 < (labels != clean).mean() < 0.5


@pytest.mark.parametrize(("noise", "variance"), [(0.0, 0.5), (0.25, 2.25), (0.5, 4.0)])
def test_gauss_blobs_sit_at_plus_and_minus_two_with_the_recipe_variance(noise: float, variance: float) -> None:
    points, labels = make_gauss(20_000, noise, rng(4))
    positive, negative = points[labels == 1], points[labels == -1]
    assert len(positive) == len(negative) == 10_000
    np.testing.assert_allclose(positive.mean(axis=0), [2, 2], atol=0.1)
    np.testing.assert_allclose(negative.mean(axis=0), [-2, -2], atol=0.1)
    np.testing.assert_allclose(positive.var(axis=0), [variance, variance], rtol=0.06)


def test_spiral_without_noise_lies_on_two_arms_within_radius_five() -> None:
    points, labels = make_spiral(500, 0.0, rng(5))
    radius = np.hypot(*points.T)
    assert (radius <= 5.0).all()
    assert radius.max() > 4.9
    positive, negative = points[labels == 1], points[labels == -1]
    # The second arm is the first turned by pi: the same points, mirrored through the origin.
    np.testing.assert_allclose(negative, -positive, atol=1e-12)
    # First point of the +1 arm at i = 1: r = 5/250, t = 1.75 * 2pi / 250.
    t = 1.75 * 2 * np.pi / 250
    np.testing.assert_allclose(positive[1], [0.02 * np.sin(t), 0.02 * np.cos(t)])


def test_spiral_noise_moves_points_at_most_noise_per_axis() -> None:
    clean, _ = make_spiral(500, 0.0, rng(6))
    noisy, _ = make_spiral(500, 0.4, rng(6))
    shift = np.abs(noisy - clean)
    assert shift.max() <= 0.4
    assert shift.max() > 0.3


def test_reg_plane_target_is_x_plus_y_over_ten_without_noise() -> None:
    points, target = make_reg_plane(1000, 0.0, rng(7))
    assert (np.abs(points) <= 6).all()
    np.testing.assert_allclose(target, (points[:, 0] + points[:, 1]) / 10)


def test_reg_plane_noise_is_bounded_by_the_recipe() -> None:
    points, target = make_reg_plane(1000, 0.5, rng(7))
    error = np.abs(target - points.sum(axis=1) / 10)
    assert error.max() <= 0.6 + 1e-12  # two jitters of at most 3 each, divided by 10
    assert error.max() > 0.3


def test_reg_gauss_values_follow_the_six_signed_bumps() -> None:
    points, target = make_reg_gauss(4000, 0.0, rng(8))
    assert (np.abs(points) <= 6).all()
    assert (target >= -1).all() and (target <= 1).all()
    centres = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]
    for (x, y), value in zip(points[:200], target[:200], strict=True):
        bumps = [sign * max(0.0, 1 - np.hypot(x - cx, y - cy) / 2) for cx, cy, sign in centres]
        expected = 0.0
        for bump in bumps:  # Playground's loop: the first of the largest magnitude wins
            if abs(bump) > abs(expected):
                expected = bump
        assert value == pytest.approx(expected)
    far = np.min([np.hypot(points[:, 0] - cx, points[:, 1] - cy) for cx, cy, _ in centres], axis=0) >= 2
    assert (target[far] == 0).all()
    assert (target > 0.5).any() and (target < -0.5).any()


def test_reg_gauss_with_noise_stays_in_range() -> None:
    _, target = make_reg_gauss(2000, 0.5, rng(9))
    assert (np.abs(target) <= 1).all()


def test_generate_playground_refuses_unknown_names_and_bad_settings() -> None:
    with pytest.raises(DataError, match="not a Playground dataset"):
        generate_playground("moons", 100, 0.0, rng())
    with pytest.raises(DataError, match="noise"):
        generate_playground("circle", 100, 0.9, rng())
    with pytest.raises(DataError, match="at least 2"):
        generate_playground("circle", 1, 0.0, rng())


def test_features_are_computed_in_playgrounds_order() -> None:
    xy = np.array([[1.0, 2.0], [-0.5, 3.0]])
    every = playground_features(xy, PLAYGROUND_FEATURES)
    x, y = xy[:, 0], xy[:, 1]
    expected = np.column_stack([x, y, x**2, y**2, x * y, np.sin(x), np.sin(y)])
    np.testing.assert_allclose(every, expected)
    picked = playground_features(xy, ["sin(x2)", "x1*x2", "x1"])  # any click order
    np.testing.assert_allclose(picked, np.column_stack([x, x * y, np.sin(y)]))


def test_features_refuse_unknown_or_no_names() -> None:
    with pytest.raises(DataError, match="unknown input feature 'x3'"):
        playground_features(np.zeros((2, 2)), ["x1", "x3"])
    with pytest.raises(DataError, match="at least one"):
        playground_features(np.zeros((2, 2)), [])
    with pytest.raises(DataError, match="shape"):
        playground_features(np.zeros((2, 3)), ["x1"])


def test_grid_covers_minus_six_to_six_in_a_hundred_steps() -> None:
    grid = playground_grid(("x1", "x2", "x1*x2"))
    assert grid.resolution == 100
    assert grid.xs[0] == -6 and grid.xs[-1] == 6 and len(grid.ys) == 100
    assert grid.points.shape == (10_000, 2) and grid.features.shape == (10_000, 3)
    # Row j * 100 + i is the point (xs[i], ys[j]).
    j, i = 17, 80
    np.testing.assert_allclose(grid.points[j * 100 + i], [grid.xs[i], grid.ys[j]])
    np.testing.assert_allclose(grid.features[j * 100 + i], [grid.xs[i], grid.ys[j], grid.xs[i] * grid.ys[j]])


def test_grid_refuses_silly_sizes() -> None:
    with pytest.raises(DataError):
        playground_grid(("x1",), resolution=1)
    with pytest.raises(DataError):
        playground_grid(("x1",), extent=0)
