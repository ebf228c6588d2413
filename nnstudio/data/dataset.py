"""From a `DatasetSpec` to a ready `Dataset`: load or generate, shuffle with the seed, split, standardise.

The same spec (and the same files) always gives the same arrays, bit for bit. Loaded sources are cached
(keyed on the spec's source settings and the file's modification time, size and inode); every call gets fresh
arrays of its own.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from nnstudio.core.errors import DataError, ParameterError
from nnstudio.core.settings import (
    BUILTIN_DATASETS,
    DATASET_FIELDS,
    PLAYGROUND_DATASETS,
    DatasetSpec,
    check_features,
)

from .builtin import load_builtin
from .playground import PlaygroundGrid, generate_playground, playground_features, playground_grid
from .shapes import IMAGE_SHAPE, SHAPE_CLASSES, make_shapes
from .source import SourceData
from .tabular import file_signature, load_csv, load_npz, resolve_path

PLAYGROUND_CLASS_NAMES = ("-1", "+1")  # Playground's labels; class index 0 is -1 (orange), 1 is +1 (blue)
_GENERATE, _SHUFFLE = 0, 1  # independent random streams derived from the one seed


@dataclass(frozen=True, eq=False)
class Dataset:
    """Training and validation arrays and what a design needs to know about them.

    Features are float32 of shape `(n, *input_shape)`. Targets are int64 class indices `(n,)` for
    classification and float32 `(n, k)` for regression. For Playground sets, `grid` holds the plotting grid
    with its features prepared exactly like `x_train`, and `points_train` / `points_val` the raw 2-D points.
    """

    name: str
    source: str
    task: str  # "binary" | "multiclass" | "regression"
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    num_classes: int  # 0 for regression
    class_names: tuple[str, ...]
    feature_names: tuple[str, ...]  # empty for image data
    input_shape: tuple[int, ...]  # (k,) or (channels, height, width)
    feature_mean: np.ndarray | None = None  # what standardisation subtracted (shape broadcasts over a sample)
    feature_std: np.ndarray | None = None  # ... and divided by; None when not standardised
    grid: PlaygroundGrid | None = None
    points_train: np.ndarray | None = None  # (n_train, 2) float32
    points_val: np.ndarray | None = None  # (n_val, 2) float32

    @property
    def is_classification(self) -> bool:
        return self.task != "regression"

    @property
    def target_dim(self) -> int:
        """Values predicted per sample: 1 for classification, the number of target columns for regression."""
        return 1 if self.is_classification else int(self.y_train.shape[1])

    @property
    def output_units(self) -> int:
        """Units a matching Output layer has: 1 (binary), one per class (multi-class), one per target."""
        if self.task == "multiclass":
            return self.num_classes
        return 1 if self.task == "binary" else self.target_dim

    @property
    def num_train(self) -> int:
        return len(self.y_train)

    @property
    def num_val(self) -> int:
        return len(self.y_val)

    @property
    def title(self) -> str:
        """How messages name the dataset: 'the circle dataset', 'iris', 'data.csv'."""
        return f"the {self.name} dataset" if self.source == "playground" else self.name


def load_dataset(spec: DatasetSpec, base_dir: str | Path | None = None) -> Dataset:
    """Build the dataset a spec describes; file paths are relative to `base_dir` (the design's folder)."""
    spec = _checked(spec)
    data = _source_for(spec, base_dir)
    count = len(data.y)
    n_train = train_count(count, spec.train_percent)
    order = _rng(spec.seed, _SHUFFLE).permutation(count)
    train, val = order[:n_train], order[n_train:]

    x_train, x_val = data.x[train], data.x[val]
    mean = std = None
    grid = None
    if data.points is not None:
        grid = playground_grid(spec.features)
        grid = PlaygroundGrid(xs=grid.xs.astype(np.float32), ys=grid.ys.astype(np.float32),
                              points=grid.points.astype(np.float32), features=grid.features.astype(np.float32))
    if spec.standardize:
        mean, std = fit_standardization(x_train)
        x_train, x_val = (x_train - mean) / std, (x_val - mean) / std
        if grid is not None:
            grid = PlaygroundGrid(xs=grid.xs, ys=grid.ys, points=grid.points, features=(grid.features - mean) / std)
    return Dataset(
        name=data.name, source=spec.source, task=data.task,
        x_train=x_train, y_train=data.y[train], x_val=x_val, y_val=data.y[val],
        num_classes=len(data.class_names), class_names=data.class_names, feature_names=data.feature_names,
        input_shape=data.input_shape, feature_mean=mean, feature_std=std, grid=grid,
        points_train=None if data.points is None else data.points[train],
        points_val=None if data.points is None else data.points[val],
    )


def train_count(count: int, train_percent: int) -> int:
    """Samples in the training part: Playground's floor(n * percent / 100), leaving each part at least one."""
    if count < 2:
        raise DataError(f"the dataset has {count} sample(s); it needs at least 2 (one to train on and one to "
                        "validate)")
    return min(max(count * train_percent // 100, 1), count - 1)


def fit_standardization(x_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the training features, as float32 arrays that broadcast over a sample.

    Vectors get one pair per feature; images one pair per channel, so pictures keep their structure.
    A constant feature gets std 1, which leaves it at 0 after centring instead of dividing by zero.
    """
    axes = (0,) if x_train.ndim == 2 else (0, *range(2, x_train.ndim))
    mean = x_train.mean(axis=axes, dtype=np.float64, keepdims=True)
    std = x_train.std(axis=axes, dtype=np.float64, keepdims=True)
    std[~(std > 1e-12)] = 1.0
    return mean[0].astype(np.float32), std[0].astype(np.float32)


def clear_cache() -> None:
    """Forget cached sources (the cache also notices when a file changes on its own)."""
    _generate.cache_clear()
    _builtin.cache_clear()
    _shapes.cache_clear()
    _file.cache_clear()


def _checked(spec: DatasetSpec) -> DatasetSpec:
    """The spec's values checked again: a DatasetSpec built directly skips the checks `with_changes` does."""
    try:
        for f in fields(spec):
            if f.name == "features":
                check_features(spec.features)
            elif f.name in DATASET_FIELDS:
                DATASET_FIELDS[f.name].check(getattr(spec, f.name), "")
    except ParameterError as error:
        raise DataError(f"dataset settings: {error}") from error
    return spec


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream,)))


def _source_for(spec: DatasetSpec, base_dir: str | Path | None) -> SourceData:
    if spec.source == "playground":
        if spec.name not in PLAYGROUND_DATASETS:
            raise DataError(f"'{spec.name}' is not a Playground dataset; choose one of "
                            f"{', '.join(PLAYGROUND_DATASETS)} (or set the source to built-in)")
        points, labels = _generate(spec.name, spec.samples, spec.noise, spec.seed)
        features = playground_features(points, spec.features)
        if spec.is_regression:
            y, class_names, task = labels.astype(np.float32).reshape(-1, 1), (), "regression"
        else:
            y, class_names, task = (labels > 0).astype(np.int64), PLAYGROUND_CLASS_NAMES, "binary"
        names = check_features(spec.features)
        return SourceData(name=spec.name, x=features.astype(np.float32), y=y, task=task,
                          class_names=class_names, feature_names=names, input_shape=(len(names),),
                          points=points.astype(np.float32))
    if spec.source == "builtin":
        if spec.name not in BUILTIN_DATASETS:
            raise DataError(f"'{spec.name}' is not a built-in dataset; choose one of "
                            f"{', '.join(BUILTIN_DATASETS)} (or set the source to Playground)")
        if spec.name == "shapes":
            return _shapes(spec.samples, spec.noise, spec.seed)
        return _builtin(spec.name, spec.as_images)
    if spec.source in ("csv", "npz"):
        path = resolve_path(spec.path, base_dir)
        target = spec.target.strip() if spec.source == "csv" else ""
        return _file(spec.source, str(path), target, file_signature(path))
    raise DataError(f"unknown data source '{spec.source}'; use playground, builtin, csv or npz")


@functools.lru_cache(maxsize=16)
def _generate(name: str, samples: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    points, labels = generate_playground(name, samples, noise, _rng(seed, _GENERATE))
    return _frozen(points), _frozen(labels)


@functools.lru_cache(maxsize=8)
def _builtin(name: str, as_images: bool) -> SourceData:
    return _frozen_source(load_builtin(name, as_images))


@functools.lru_cache(maxsize=4)
def _shapes(samples: int, noise: float, seed: int) -> SourceData:
    images, labels, _ = make_shapes(samples, noise, _rng(seed, _GENERATE))
    return _frozen_source(SourceData(name="shapes", x=images, y=labels, task="multiclass",
                                     class_names=SHAPE_CLASSES, feature_names=(), input_shape=IMAGE_SHAPE))


@functools.lru_cache(maxsize=4)
def _file(kind: str, path: str, target: str, signature: tuple[int, int, int]) -> SourceData:
    data = load_csv(path, target) if kind == "csv" else load_npz(path)
    return _frozen_source(data)


def _frozen(array: np.ndarray) -> np.ndarray:
    # Cached arrays are shared between calls; indexing hands each caller its own writable copy.
    array.flags.writeable = False
    return array


def _frozen_source(data: SourceData) -> SourceData:
    _frozen(data.x)
    _frozen(data.y)
    return data
