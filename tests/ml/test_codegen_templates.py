"""Generated code comes from real modules: the templates import and run, train.py holds the very source of
the functions NN Studio uses (Playground generators, weight initialisation), and no check is an `assert`."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import numpy as np
import pytest
import torch

import nnstudio
from nnstudio.core.document import Design
from nnstudio.core.settings import PLAYGROUND_DATASETS
from nnstudio.data import playground
from nnstudio.ml import codegen
from nnstudio.ml.builder import init_weights
from nnstudio.ml.templates import model_template, train_template

PACKAGE = Path(nnstudio.__file__).resolve().parent
# The template's stand-ins for what train.py binds itself.
STAND_INS = {"make_points", "load_source", "epoch_batches", "make_update"}


def _design(dataset: dict) -> Design:
    d = Design("template check")
    inp = d.add_layer("Input", "inp", {"features": 2})
    out = d.add_layer("Output", "out", {"task": "binary"})
    d.connect(inp.id, out.id)
    d.set_dataset(**dataset)
    return d


def test_every_template_function_is_copied_or_a_stand_in() -> None:
    defined = {name for name, value in vars(train_template).items()
               if inspect.isfunction(value) and value.__module__ == train_template.__name__}
    copied = set(codegen.TRAIN_FUNCTIONS).union(*codegen.SOURCE_FUNCTIONS.values(), *codegen.RECIPE_FUNCTIONS.values())
    assert defined == copied | STAND_INS


@pytest.mark.parametrize("name", PLAYGROUND_DATASETS)
def test_train_py_holds_the_real_playground_generator_and_initialisation(name: str) -> None:
    source = codegen.generate_train_code(_design({"source": "playground", "name": name}))
    assert codegen.function_source(playground.GENERATORS[name]) in source
    assert codegen.function_source(init_weights) in source
    for function in codegen.TRAIN_FUNCTIONS:
        if function != "main":  # main loses its BatchNorm guard when the design has no BatchNorm
            assert codegen.function_source(getattr(train_template, function)) in source, function
    assert not any(isinstance(node, ast.Assert) for node in ast.walk(ast.parse(source)))


def test_the_templates_playground_loader_gives_the_apps_points() -> None:
    rng = np.random.default_rng(np.random.SeedSequence(7, spawn_key=(0,)))
    points, labels = playground.generate_playground("spiral", 120, 0.1, rng)
    expected = playground.playground_features(points, ["x1", "x2", "sin(x1)"])
    saved = dict(train_template.DATASET)
    try:
        train_template.DATASET.update(source="playground", name="spiral", samples=120, noise=0.1, seed=7,
                                      features=["x1", "x2", "sin(x1)"])
        x, y = train_template.load_source(None)
    finally:
        train_template.DATASET.clear()
        train_template.DATASET.update(saved)
    assert np.array_equal(x, expected.astype(np.float32))
    assert np.array_equal(y, (labels > 0).astype(np.int64))


def test_the_model_template_loads_weights_strictly(tmp_path: Path) -> None:
    model = model_template.DesignModel()
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    loaded = model_template.load_model(str(tmp_path / "weights.pt"))
    x = torch.randn(3, 2)
    assert torch.equal(loaded(x), model(x)) and not loaded.training
    torch.save({"out.weight": torch.zeros(1, 2)}, tmp_path / "partial.pt")
    with pytest.raises(RuntimeError, match="bias"):
        model_template.load_model(str(tmp_path / "partial.pt"))


def test_init_weights_matches_the_builders_initialize() -> None:
    from nnstudio.ml.builder import initialize

    a, b = model_template.DesignModel(), model_template.DesignModel()
    initialize(a, "playground", torch.Generator().manual_seed(3))
    init_weights(b, "playground", torch.Generator().manual_seed(3))
    assert torch.equal(a.out.weight, b.out.weight) and torch.all(a.out.bias == 0.1)


@pytest.mark.parametrize("module", ["ml/codegen.py", "ml/codegen_layers.py", "ml/templates/train_template.py",
                                    "ml/templates/model_template.py", "data/playground.py"])
def test_no_check_is_an_assert(module: str) -> None:
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    assert not [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert)]
