"""The procedural shapes images: deterministic, balanced, drawn where and as large as their parameters say."""

from __future__ import annotations

import math

import numpy as np

from nnstudio.core.settings import DatasetSpec
from nnstudio.data import load_dataset
from nnstudio.data.shapes import COLOURS, IMAGE_SHAPE, SHAPE_CLASSES, make_shapes, preview_grid, shape_sdf


def test_same_seed_same_images_and_balanced_classes() -> None:
    a = make_shapes(202, 0.1, np.random.default_rng(3))
    b = make_shapes(202, 0.1, np.random.default_rng(3))
    c = make_shapes(202, 0.1, np.random.default_rng(4))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])
    images, labels, colours = a
    assert images.shape == (202, *IMAGE_SHAPE) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    counts = np.bincount(labels, minlength=len(SHAPE_CLASSES))
    assert counts.max() - counts.min() <= 1
    assert set(colours.tolist()) <= set(range(len(COLOURS)))


def test_noise_free_shape_has_its_colour_and_the_area_of_its_geometry() -> None:
    images, labels, colours = make_shapes(400, 0.0, np.random.default_rng(0))
    for i in range(40):
        img = images[i].transpose(1, 2, 0)
        colour = COLOURS[colours[i]]
        inside = np.abs(img - colour).max(axis=2) < 1e-5
        assert inside.sum() > 20, "every shape covers pixels painted exactly in its colour"
    # Independent of the renderer's SDF: a circle's painted area is about pi r^2 for some r in the range.
    circles = [i for i in range(400) if labels[i] == 0][:20]
    for i in circles:
        painted = (np.abs(images[i].transpose(1, 2, 0) - COLOURS[colours[i]]).max(axis=2) < 0.5).sum()
        radius = math.sqrt(painted / math.pi)
        assert 5.0 <= radius <= 13.0


def test_sdf_is_negative_inside_each_shape_and_positive_far_away() -> None:
    for kind in range(len(SHAPE_CLASSES)):
        centre = shape_sdf(np.array(kind), np.array(0.0), np.array(0.0), np.array(8.0))
        far = shape_sdf(np.array(kind), np.array(20.0), np.array(20.0), np.array(8.0))
        assert centre < 0 < far


def test_dataset_spec_gives_shape_images_split_and_named() -> None:
    spec = DatasetSpec(source="builtin", name="shapes", samples=120, noise=0.05, train_percent=75, seed=2)
    data = load_dataset(spec)
    assert data.task == "multiclass" and data.num_classes == 4 and data.class_names == SHAPE_CLASSES
    assert data.input_shape == IMAGE_SHAPE and data.x_train.shape == (90, 3, 32, 32) and data.num_val == 30
    again = load_dataset(spec)
    assert np.array_equal(data.x_val, again.x_val) and np.array_equal(data.y_train, again.y_train)


def test_preview_grid_tiles_images_in_order() -> None:
    images, _, _ = make_shapes(5, 0.0, np.random.default_rng(1))
    grid = preview_grid(images, columns=3, gap=2)
    assert grid.shape == (2 * 34 - 2, 3 * 34 - 2, 3) and grid.dtype == np.uint8
    first = np.clip(images[1].transpose(1, 2, 0) * 255 + 0.5, 0, 255).astype(np.uint8)
    assert np.array_equal(grid[0:32, 34:66], first)
    assert (grid[34:, 68:] == 255).all()  # the empty sixth cell stays white
