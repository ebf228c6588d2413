"""load_dataset: determinism, splits, standardisation, built-in sets and the decision-boundary extras."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from nnstudio.core.errors import DataError
from nnstudio.core.settings import PLAYGROUND_DATASETS, DatasetSpec
from nnstudio.data import Dataset, clear_cache, load_dataset, train_count

ARRAYS = ("x_train", "y_train", "x_val", "y_val", "points_train", "points_val")


def spec(**changes) -> DatasetSpec:
    return DatasetSpec().with_changes(**changes)


def assert_same(a: Dataset, b: Dataset) -> None:
    for field in ARRAYS:
        left, right = getattr(a, field), getattr(b, field)
        assert left.dtype == right.dtype
        assert left.tobytes() == right.tobytes(), field
    assert a.grid.features.tobytes() == b.grid.features.tobytes()


@pytest.mark.parametrize("name", PLAYGROUND_DATASETS)
def test_same_spec_gives_identical_arrays_bit_for_bit(name: str) -> None:
    s = spec(name=name, noise=0.3, seed=11, standardize=True, features=["x1", "x2", "sin(x1)"])
    first = load_dataset(s)
    clear_cache()
    assert_same(first, load_dataset(s))
    assert_same(first, load_dataset(s))  # from the cache


def test_different_seed_gives_different_data() -> None:
    a, b = load_dataset(spec(seed=1)), load_dataset(spec(seed=2))
    assert not np.array_equal(a.points_train, b.points_train)


def test_determinism_holds_in_a_fresh_interpreter() -> None:
    code = ("from nnstudio.core.settings import DatasetSpec; from nnstudio.data import load_dataset;"
            "import hashlib; d = load_dataset(DatasetSpec(name='spiral', noise=0.2, seed=5));"
            "print(hashlib.sha256(d.x_train.tobytes() + d.y_val.tobytes()).hexdigest())")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for _ in range(2)}
    d = load_dataset(spec(name="spiral", noise=0.2, seed=5))
    import hashlib

    assert runs == {hashlib.sha256(d.x_train.tobytes() + d.y_val.tobytes()).hexdigest() + "\n"}


def test_callers_get_arrays_of_their_own() -> None:
    s = spec(name="xor")
    first = load_dataset(s)
    first.x_train[:] = 99
    first.y_train[:] = 0
    second = load_dataset(s)
    assert not (second.x_train == 99).any()
    assert second.x_train.flags.writeable


@pytest.mark.parametrize("percent", [10, 30, 50, 70, 90])
def test_split_sizes_follow_train_percent(percent: int) -> None:
    d = load_dataset(spec(samples=500, train_percent=percent))
    assert d.num_train == 500 * percent // 100
    assert d.num_train + d.num_val == 500
    assert len(d.points_train) == d.num_train and len(d.points_val) == d.num_val


def test_split_is_a_shuffled_partition_of_all_points() -> None:
    d = load_dataset(spec(name="spiral", samples=200, noise=0.1))  # without noise both arms start at 0, 0
    every = np.concatenate([d.points_train, d.points_val])
    assert len(np.unique(every, axis=0)) == 200
    # The spiral is generated arm by arm; a shuffled training part holds both classes evenly mixed.
    assert 0.3 < d.y_train.mean() < 0.7


def test_changing_the_split_keeps_the_points() -> None:
    a, b = load_dataset(spec(train_percent=20)), load_dataset(spec(train_percent=80))
    sort = lambda p: p[np.lexsort(p.T)]
    np.testing.assert_array_equal(sort(np.concatenate([a.points_train, a.points_val])),
                                  sort(np.concatenate([b.points_train, b.points_val])))


def test_train_count_leaves_each_part_at_least_one_sample() -> None:
    assert train_count(2, 10) == 1
    assert train_count(2, 90) == 1
    assert train_count(10, 90) == 9
    assert train_count(1000, 50) == 500
    assert train_count(15, 50) == 7  # Playground's floor
    assert train_count(19, 90) == 17
    with pytest.raises(DataError):
        train_count(1, 50)


def test_playground_targets_map_plus_one_to_class_one() -> None:
    d = load_dataset(spec(name="circle", samples=400))
    assert d.task == "binary" and d.num_classes == 2 and d.class_names == ("-1", "+1")
    assert d.y_train.dtype == np.int64 and set(np.unique(d.y_train)) == {0, 1}
    radius = np.hypot(*d.points_train.T)
    np.testing.assert_array_equal(d.y_train, (radius < 2.5).astype(np.int64))
    assert d.output_units == 1


def test_playground_regression_targets_are_float_columns() -> None:
    d = load_dataset(spec(name="reg-plane", samples=300))
    assert d.task == "regression" and d.num_classes == 0 and d.class_names == ()
    assert d.y_train.shape == (150, 1) and d.y_train.dtype == np.float32
    np.testing.assert_allclose(d.y_train[:, 0], d.points_train.sum(axis=1) / 10, rtol=1e-5, atol=1e-6)


def test_playground_features_and_shapes() -> None:
    d = load_dataset(spec(features=["x1*x2", "x1", "x2^2"]))
    assert d.feature_names == ("x1", "x2^2", "x1*x2")
    assert d.input_shape == (3,)
    assert d.x_train.dtype == np.float32
    x, y = d.points_train[:, 0], d.points_train[:, 1]
    np.testing.assert_allclose(d.x_train, np.column_stack([x, y * y, x * y]), rtol=1e-5, atol=1e-5)
    assert d.grid.features.shape == (10_000, 3) and d.grid.features.dtype == np.float32


def test_standardisation_uses_training_statistics_only() -> None:
    raw = load_dataset(spec(name="gauss", noise=0.4, features=["x1", "x2", "x1^2"]))
    d = load_dataset(spec(name="gauss", noise=0.4, features=["x1", "x2", "x1^2"], standardize=True))
    np.testing.assert_allclose(d.x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(d.x_train.std(axis=0), 1, atol=1e-4)
    mean, std = raw.x_train.mean(axis=0, dtype=np.float64), raw.x_train.std(axis=0, dtype=np.float64)
    np.testing.assert_allclose(d.feature_mean, mean, rtol=1e-5)
    np.testing.assert_allclose(d.feature_std, std, rtol=1e-5)
    # Validation and the grid are scaled with the training statistics, not their own.
    np.testing.assert_allclose(d.x_val, (raw.x_val - mean) / std, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(d.grid.features, (raw.grid.features - mean) / std, rtol=1e-4, atol=1e-5)
    assert abs(d.x_val.mean(axis=0)).max() > 1e-3  # its own mean would have been exactly 0
    assert raw.feature_mean is None and raw.feature_std is None


def test_standardisation_leaves_constant_features_finite() -> None:
    d = load_dataset(spec(source="builtin", name="digits", standardize=True))
    assert np.isfinite(d.x_train).all() and np.isfinite(d.x_val).all()
    assert (d.x_train[:, 0] == 0).all()  # the top-left pixel is always blank


def test_standardised_images_get_one_mean_per_channel() -> None:
    d = load_dataset(spec(source="builtin", name="digits", as_images=True, standardize=True))
    assert d.feature_mean.shape == (1, 1, 1)
    assert d.x_train.mean() == pytest.approx(0, abs=1e-5)
    assert d.x_train.std() == pytest.approx(1, abs=1e-4)


@pytest.mark.parametrize(
    ("name", "samples", "features", "task", "classes"),
    [("iris", 150, 4, "multiclass", 3), ("wine", 178, 13, "multiclass", 3),
     ("breast_cancer", 569, 30, "binary", 2), ("diabetes", 442, 10, "regression", 0),
     ("digits", 1797, 64, "multiclass", 10)],
)
def test_builtin_sets_have_their_known_shapes(name: str, samples: int, features: int, task: str,
                                              classes: int) -> None:
    d = load_dataset(spec(source="builtin", name=name))
    assert d.num_train + d.num_val == samples
    assert d.input_shape == (features,) and d.x_train.shape[1:] == (features,)
    assert d.task == task and d.num_classes == classes and len(d.class_names) == classes
    assert len(d.feature_names) == features
    assert d.grid is None and d.points_train is None
    assert d.x_train.dtype == np.float32
    assert d.y_train.dtype == (np.float32 if task == "regression" else np.int64)


def test_digits_pixels_are_scaled_to_unit_range_and_can_be_images() -> None:
    flat = load_dataset(spec(source="builtin", name="digits"))
    assert flat.x_train.min() == 0 and flat.x_train.max() == 1
    images = load_dataset(spec(source="builtin", name="digits", as_images=True))
    assert images.input_shape == (1, 8, 8)
    assert images.x_train.shape == (flat.num_train, 1, 8, 8)
    np.testing.assert_array_equal(images.x_train.reshape(flat.num_train, 64), flat.x_train)
    assert images.class_names == tuple(str(i) for i in range(10))


def test_diabetes_targets_are_a_column_of_numbers() -> None:
    d = load_dataset(spec(source="builtin", name="diabetes"))
    assert d.y_train.shape == (d.num_train, 1)
    assert d.output_units == 1 and d.target_dim == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"source": "playground", "name": "iris"}, "not a Playground dataset"),
     ({"source": "builtin", "name": "circle"}, "not a built-in dataset"),
     ({"samples": 0}, "samples"),
     ({"noise": 0.9}, "noise"),
     ({"train_percent": 100}, "train_percent"),
     ({"features": ()}, "features"),
     ({"source": "parquet"}, "source"),
     ({"source": "csv", "path": ""}, "no file chosen")],
)
def test_bad_specs_raise_data_errors(changes: dict, message: str) -> None:
    bad = DatasetSpec(**changes)  # built directly, so nothing checked it yet
    with pytest.raises(DataError, match=message):
        load_dataset(bad)


def test_the_data_package_imports_neither_torch_nor_qt() -> None:
    code = ("import sys, nnstudio.data; from nnstudio.core.settings import DatasetSpec;"
            "nnstudio.data.load_dataset(DatasetSpec(source='builtin', name='iris'));"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6', 'pyqtgraph')];"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
