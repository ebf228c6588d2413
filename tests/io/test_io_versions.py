"""Format versions: golden files of every version open forever, newer versions are refused, migrations chain."""

import json
from pathlib import Path

import pytest

from nnstudio.core import Design
from nnstudio.core.errors import FormatError
from nnstudio.io import FORMAT, MIGRATIONS, VERSION, dumps, load_design, loads, versions

GOLDEN = Path(__file__).parent / "golden"


# ---- golden files ---------------------------------------------------------------------------------------
# Kept forever. These files were written by NN Studio's format version 1 and must open, unchanged, in every
# later version: never edit or regenerate them. When the format changes, add golden/v<N>/ beside them, and
# let the expected designs below follow the core (new parameters take their defaults when an old file opens).

def expected_playground_mlp() -> Design:
    d = Design("Playground MLP", "Playground's default: two tanh layers of 4 and 2 neurons.")
    d.add_layer("Input", "in_xy", {"features": 2}, (0.0, 120.0), "L1")
    d.add_layer("Dense", "hidden1", {"units": 4, "activation": "tanh"}, (180.0, 120.0), "L2")
    d.add_layer("Dense", "hidden2", {"units": 2, "activation": "tanh"}, (360.0, 120.0), "L3")
    d.add_layer("Output", "out_y", {"task": "binary", "units": 1}, (540.0, 120.0), "L4")
    for a, b in [("L1", "L2"), ("L2", "L3"), ("L3", "L4")]:
        d.connect(a, b)
    d.set_dataset(noise=0.1, seed=7)
    d.set_training(init="playground", regularization="l2", regularization_rate=0.001)
    d.set_view(zoom=1.25, center_x=270.0, center_y=120.5)
    return d


def expected_every_layer_type() -> Design:
    d = Design("Every layer type", "Digits as 1×8×8 images through each kind of layer.\nSecond line: «ünïcode».")
    add = d.add_layer
    add("Input", "image", {"mode": "image", "channels": 1, "height": 8, "width": 8}, (0, 0), "L1")
    add("Conv2d", "conv", {"filters": 6, "kernel": 3, "padding": 1, "activation": "gelu"}, (150, -40.5), "L2")
    add("BatchNorm", "bn", {"momentum": 0.2}, (300, -40), "L3")
    add("Activation", "act", {"function": "leaky_relu"}, (450, -40), "L4")
    add("Conv2d", "skip", {"filters": 6, "kernel": 1, "bias": False, "activation": "identity"}, (300, 60), "L5")
    add("Add", "residual", {}, (600, 0), "L6")
    add("MaxPool2d", "maxpool", {"kernel": 2, "stride": 2}, (750, -40), "L7")
    add("AvgPool2d", "avgpool", {"kernel": 2, "stride": 2, "padding": 1}, (750, 60), "L8")
    add("Flatten", "flat_a", {}, (900, -40), "L9")
    add("Flatten", "flat_b", {}, (900, 60), "L10")
    add("Concatenate", "joined", {}, (1050, 0), "L11")
    add("Dense", "dense", {"units": 32, "activation": "relu"}, (1200, 0), "L12")
    add("Dropout", "dropout", {"rate": 0.25}, (1350, 0), "L13")
    add("Output", "digit", {"task": "multiclass", "units": 10}, (1500, 0), "L14")
    for a, b in [(1, 2), (2, 3), (3, 4), (1, 5), (4, 6), (5, 6), (6, 7), (6, 8), (7, 9), (8, 10), (10, 11),
                 (9, 11), (11, 12), (12, 13), (13, 14)]:
        d.connect(f"L{a}", f"L{b}")
    d.set_dataset(source="builtin", name="digits", as_images=True, standardize=True, train_percent=80)
    d.set_training(optimizer="adam", learning_rate=0.001, batch_size=64, epochs=30, schedule="cosine",
                   grad_clip=1.0, seed=42, device="cpu")
    return d


def expected_hand_written_minimal() -> Design:
    d = Design("Written by hand")
    d.add_layer("Input", "pixels", {"features": 64}, layer_id="in")
    d.add_layer("Dense", "hidden", {"units": 16, "activation": "relu"}, layer_id="h")
    d.add_layer("Output", "digit", {"task": "multiclass", "units": 10}, layer_id="out")
    d.connect("in", "h")
    d.connect("h", "out")
    d.set_dataset(source="builtin", name="digits")
    return d


def expected_playground_recipe() -> Design:
    d = Design("Playground recipe", "Version 2: trains as TensorFlow Playground, until paused.")
    d.add_layer("Input", "inputs", {"features": 3}, (0.0, 0.0), "L1")
    d.add_layer("Dense", "hidden1", {"units": 5, "activation": "relu"}, (240.0, 0.0), "L2")
    d.add_layer("Output", "output", {"task": "regression", "units": 1}, (480.0, 0.0), "L3")
    d.connect("L1", "L2")
    d.connect("L2", "L3")
    d.set_dataset(name="reg-gauss", samples=1200, features=["x1", "x2", "x1*x2"])
    d.set_training(recipe="playground", until_paused=True, regularization="l1", regularization_rate=0.003,
                   init="playground", batch_size=25)
    return d


def expected_view_settings() -> Design:
    d = Design("Playground view", "Version 3: shows the test points and a discretized output, as Playground.")
    d.add_layer("Input", "inputs", {"features": 2}, (0.0, 0.0), "L1")
    d.add_layer("Dense", "hidden1", {"units": 3, "activation": "tanh"}, (240.0, 0.0), "L2")
    d.add_layer("Output", "output", {"task": "binary", "units": 1}, (480.0, 0.0), "L3")
    d.connect("L1", "L2")
    d.connect("L2", "L3")
    d.set_dataset(name="xor")
    d.set_training(recipe="playground", until_paused=True, init="playground")
    d.set_view(show_test_data=True, discretize=True)
    return d


EXPECTED = {
    "v1/playground_mlp.nnstudio": expected_playground_mlp,
    "v2/playground_recipe.nnstudio": expected_playground_recipe,
    "v3/view_settings.nnstudio": expected_view_settings,
    "v1/every_layer_type.nnstudio": expected_every_layer_type,
    "v1/hand_written_minimal.nnstudio": expected_hand_written_minimal,
}


def test_every_golden_file_has_an_expectation():
    found = {p.relative_to(GOLDEN).as_posix() for p in GOLDEN.rglob("*.nnstudio")}
    assert found == set(EXPECTED)
    assert {p.name for p in GOLDEN.iterdir()} >= {f"v{n}" for n in range(1, VERSION + 1)}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_golden_file_loads_as_the_expected_design(name):
    loaded = load_design(GOLDEN / name)
    expected = EXPECTED[name]()
    assert loaded.same_content(expected), f"{name} no longer opens as it did"


@pytest.mark.skipif(VERSION != 2, reason="the writer now writes a newer version")
@pytest.mark.parametrize("name", ["v2/playground_recipe.nnstudio"])
def test_while_version_2_is_current_the_writer_reproduces_the_golden_text(name):
    assert dumps(EXPECTED[name]()) == (GOLDEN / name).read_text(encoding="utf-8")


@pytest.mark.skipif(VERSION != 3, reason="the writer now writes a newer version")
@pytest.mark.parametrize("name", ["v3/view_settings.nnstudio"])
def test_while_version_3_is_current_the_writer_reproduces_the_golden_text(name):
    assert dumps(EXPECTED[name]()) == (GOLDEN / name).read_text(encoding="utf-8")


def test_a_version_2_file_shows_neither_test_points_nor_a_discretized_output():
    view = load_design(GOLDEN / "v2/playground_recipe.nnstudio").view
    assert view.show_test_data is False and view.discretize is False
    assert versions.MIGRATIONS[2]({"view": {"discretize": True}})["view"] == {"discretize": True,
                                                                              "show_test_data": False}


def test_a_version_1_file_keeps_training_the_pytorch_way():
    # v1 had no recipe: its Playground-initialised designs trained with cross-entropy and a shuffle per epoch.
    design = load_design(GOLDEN / "v1/playground_mlp.nnstudio")
    assert design.training.recipe == "pytorch" and design.training.until_paused is False
    assert design.training.init == "playground"
    assert versions.MIGRATIONS[1]({"training": {"recipe": "playground"}})["training"]["recipe"] == "playground"


# ---- the header -----------------------------------------------------------------------------------------

def _header(**changes) -> str:
    data = {"format": FORMAT, "version": VERSION, "name": "n", "layers": [], "connections": []}
    data.update(changes)
    return json.dumps({k: v for k, v in data.items() if v is not ...})


def test_a_newer_version_is_refused_naming_both_versions():
    with pytest.raises(FormatError) as caught:
        loads(_header(version=7))
    assert caught.value.path == "version"
    assert caught.value.reason == ("this file was written by a newer NN Studio (format version 7); "
                                   f"this version reads up to version {VERSION}")


@pytest.mark.parametrize("version, words", [
    (..., "is missing"), ("1", "whole number"), (1.5, "whole number"), (True, "whole number"), (None, "null"),
    (0, "1 or more"), (-3, "1 or more"),
])
def test_a_bad_version_is_refused_clearly(version, words):
    with pytest.raises(FormatError) as caught:
        loads(_header(version=version))
    assert caught.value.path == "version" and words in caught.value.reason


def test_the_header_is_checked_before_anything_else():
    # A file from a newer version may use keys this version does not know: say "newer", not "unknown key".
    with pytest.raises(FormatError, match="newer NN Studio"):
        loads(_header(version=VERSION + 1, hyperparameters={"new": True}))


# ---- migrations -----------------------------------------------------------------------------------------

def test_every_older_version_has_its_migration():
    assert sorted(MIGRATIONS) == list(range(1, VERSION))


def test_migrations_run_one_version_at_a_time_in_order(monkeypatch):
    calls = []

    def v1_to_v2(data):
        calls.append(("1->2", data["version"]))
        data["description"] = "renamed in v2"
        return data

    def v2_to_v3(data):
        calls.append(("2->3", data["version"]))
        data["description"] = data.get("description", "") + ", then in v3"
        return data

    monkeypatch.setattr(versions, "VERSION", 3)
    monkeypatch.setitem(versions.MIGRATIONS, 1, v1_to_v2)
    monkeypatch.setitem(versions.MIGRATIONS, 2, v2_to_v3)
    design = loads(_header(version=1))
    assert calls == [("1->2", 1), ("2->3", 2)]
    assert design.description == "renamed in v2, then in v3"
    calls.clear()
    assert loads(_header(version=2)).description == ", then in v3"
    assert calls == [("2->3", 2)]
    calls.clear()
    loads(_header(version=3))
    assert calls == []


def test_a_migration_can_move_data_the_current_records_would_refuse(monkeypatch):
    # Say version 1 had called the key "edges": the migration renames it before the records see it.
    def rename_edges(data):
        data["connections"] = data.pop("edges")
        return data

    monkeypatch.setattr(versions, "VERSION", 2)
    monkeypatch.setitem(versions.MIGRATIONS, 1, rename_edges)
    text = json.dumps({"format": FORMAT, "version": 1, "name": "old",
                       "layers": [{"id": "a", "type": "Input", "name": "i"},
                                  {"id": "b", "type": "Dense", "name": "d"}],
                       "edges": [{"from": "a", "to": "b"}]})
    assert [(c.source, c.target) for c in loads(text).connections] == [("a", "b")]


def test_a_missing_or_failing_migration_is_a_format_error(monkeypatch):
    current = VERSION  # a build one version ahead whose last migration is missing, then broken
    monkeypatch.setattr(versions, "VERSION", current + 1)
    with pytest.raises(FormatError, match=f"cannot upgrade format version {current} to {current + 1}"):
        loads(_header(version=1))

    def broken(data):
        return data["no such key"]

    monkeypatch.setitem(versions.MIGRATIONS, current, broken)
    with pytest.raises(FormatError, match=f"from format version {current} to {current + 1}: KeyError"):
        loads(_header(version=1))
