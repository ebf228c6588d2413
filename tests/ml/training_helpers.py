"""Designs and small synthetic datasets shared by the training tests (built with the core API)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch

from nnstudio.core import Design
from nnstudio.data import Dataset

PLAYGROUND_ALL_FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")


@pytest.fixture(autouse=True)
def one_cpu_thread() -> Iterator[None]:
    """Train with one intra-op thread, restored afterwards (import this fixture into a test module).

    The test models are tiny, so a second thread never helps them; and on a busy two-core machine the
    intra-op pool made a 0.3 ms step take several milliseconds while it waited for its other thread.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def chain(layers: list[tuple[str, dict[str, Any]]], name: str = "test") -> Design:
    """A design whose layers are connected one after the other."""
    design = Design(name)
    prev = None
    for type_name, params in layers:
        layer = design.add_layer(type_name, params=params)
        if prev is not None:
            design.connect(prev.id, layer.id)
        prev = layer
    return design


def playground(hidden: tuple[int, ...] = (4, 2), features: tuple[str, ...] = ("x1", "x2"), dataset: str = "circle",
               activation: str = "tanh", task: str = "binary", **training: Any) -> Design:
    """TensorFlow Playground's network: Input of the chosen features, Dense layers, one Output."""
    layers: list[tuple[str, dict[str, Any]]] = [("Input", {"features": len(features)})]
    layers += [("Dense", {"units": u, "activation": activation}) for u in hidden]
    units = 1 if task != "multiclass" else 2
    layers.append(("Output", {"task": task, "units": units}))
    design = chain(layers, "playground")
    design.set_dataset(source="playground", name=dataset, features=list(features))
    if training:
        design.set_training(**training)
    return design


def vector_dataset(n_train: int = 96, n_val: int = 32, features: int = 3, task: str = "binary",
                   classes: int = 2, targets: int = 1, seed: int = 0, scale: float = 1.0) -> Dataset:
    """A separable-ish synthetic dataset with the loader's contract (float32 features, int64 classes)."""
    rng = np.random.default_rng(seed)
    n = n_train + n_val
    x = rng.standard_normal((n, features)).astype(np.float32)
    if task == "regression":
        w = rng.standard_normal((features, targets)).astype(np.float32)
        y = (x @ w * scale).astype(np.float32)
        names: tuple[str, ...] = ()
        num_classes = 0
    else:
        k = 2 if task == "binary" else classes
        w = rng.standard_normal((features, k))
        y = np.argmax(x @ w, axis=1).astype(np.int64)
        names = tuple(str(i) for i in range(k))
        num_classes = k
    return Dataset(name="synthetic", source="npz", task=task, x_train=x[:n_train], y_train=y[:n_train],
                   x_val=x[n_train:], y_val=y[n_train:], num_classes=num_classes, class_names=names,
                   feature_names=tuple(f"f{i}" for i in range(features)), input_shape=(features,))


def vector_design(features: int = 3, hidden: tuple[int, ...] = (8,), task: str = "binary", classes: int = 2,
                  targets: int = 1, activation: str = "tanh", **training: Any) -> Design:
    units = {"binary": 1, "multiclass": classes, "regression": targets}[task]
    layers: list[tuple[str, dict[str, Any]]] = [("Input", {"features": features})]
    layers += [("Dense", {"units": u, "activation": activation}) for u in hidden]
    layers.append(("Output", {"task": task, "units": units}))
    design = chain(layers, "vector")
    design.set_training(**({"batch_size": 16, "epochs": 2, "device": "cpu"} | training))
    return design


def image_dataset(n_train: int = 40, n_val: int = 16, shape: tuple[int, int, int] = (1, 6, 6),
                  classes: int = 3, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    n = n_train + n_val
    x = rng.standard_normal((n, *shape)).astype(np.float32)
    y = rng.integers(0, classes, n).astype(np.int64)
    return Dataset(name="images", source="npz", task="multiclass", x_train=x[:n_train], y_train=y[:n_train],
                   x_val=x[n_train:], y_val=y[n_train:], num_classes=classes,
                   class_names=tuple(str(i) for i in range(classes)), feature_names=(), input_shape=shape)


def digits_cnn(filters: int = 8, **training: Any) -> Design:
    design = chain([
        ("Input", {"mode": "image", "channels": 1, "height": 8, "width": 8}),
        ("Conv2d", {"filters": filters, "kernel": 3, "padding": 1, "activation": "relu"}),
        ("MaxPool2d", {"kernel": 2, "stride": 2}),
        ("Flatten", {}),
        ("Dense", {"units": 32, "activation": "relu"}),
        ("Output", {"task": "multiclass", "units": 10}),
    ], "digits")
    design.set_dataset(source="builtin", name="digits", as_images=True, standardize=True, train_percent=80)
    if training:
        design.set_training(**training)
    return design
