"""Malformed and hostile design files: each is refused with a FormatError naming where and why, quickly."""

import copy
import json

import pytest
from io_samples import every_layer_type, playground_mlp

from nnstudio.core import Design
from nnstudio.core.errors import FormatError
from nnstudio.io import Limits, design_to_dict, dumps, load_design, loads

VALID = design_to_dict(playground_mlp())


def edited(change) -> str:
    data = copy.deepcopy(VALID)
    change(data)
    return json.dumps(data)


def refusal(text, **kwargs) -> FormatError:
    with pytest.raises(FormatError) as caught:
        loads(text, **kwargs)
    err = caught.value
    assert err.reason and str(err) == (f"{err.path}: {err.reason}" if err.path else err.reason)
    return err


# ---- not a design at all -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, words", [
    ("", "empty"),
    (b"", "empty"),
    ("  \n\t ", "empty"),
    ("hello", "not valid JSON"),
    ("[1, 2]", "not a list"),
    ('"nnstudio.design"', "not the text"),
    ("null", "not null"),
    ("{}", 'no "format"'),
    ('{"format": "something.else", "version": 1}', "not an NN Studio design"),
])
def test_files_that_are_not_designs(text, words):
    assert words in str(refusal(text))


def test_truncated_file_says_where_the_json_breaks():
    text = dumps(every_layer_type())
    for cut in (1, len(text) // 3, len(text) // 2, len(text) - 3):
        err = refusal(text[:cut])
        assert "not valid JSON" in err.reason and "line" in err.reason


def test_bad_utf8_names_the_byte_offset():
    raw = dumps(playground_mlp()).encode("utf-8")
    at = raw.index(b"Playground MLP")
    err = refusal(raw[:at] + b"\xff" + raw[at + 1:])
    assert f"offset {at:,}" in err.reason and "0xff" in err.reason


def test_a_utf8_bom_is_accepted():
    raw = dumps(playground_mlp()).encode("utf-8")
    assert loads(b"\xef\xbb\xbf" + raw).same_content(playground_mlp())
    assert loads("\ufeff" + raw.decode("utf-8")).same_content(playground_mlp())


def test_a_lone_surrogate_in_the_text_passed_in_is_refused():
    assert "surrogate" in refusal('{"format": "\ud800"}').reason


# ---- sizes and depths that would exhaust memory, the stack or time --------------------------------------

def test_100000_deep_nesting_is_refused_without_recursion_error():
    assert "nested 100,000 levels" in refusal("[" * 100_000 + "]" * 100_000).reason
    assert "nested 100,000 levels" in refusal('{"a":' * 100_000 + "1" + "}" * 100_000).reason
    assert "nested" in refusal("[" * 100_000).reason  # never closed: json.loads alone would recurse


def test_brackets_inside_strings_are_not_nesting():
    text = edited(lambda d: d.update(description="[[[[{{{{" * 1000 + '\\"[[[['))
    assert loads(text).description.startswith("[[[[{{{{")


def test_a_100000_digit_number_is_refused_at_its_path():
    huge = "9" * 100_000
    text = edited(lambda d: d["layers"][1]["params"].update(units=0)).replace('"units": 0', f'"units": {huge}')
    err = refusal(text)
    assert err.path == "layers[1].params.units"
    assert "100,000 digits" in err.reason


@pytest.mark.parametrize("literal, words", [
    ("NaN", "NaN is not allowed"), ("Infinity", "Infinity is not allowed"), ("-Infinity", "not allowed"),
    ("1e400", "too large"), ("1." + "0" * 200, "characters"),
])
def test_numbers_json_cannot_hold_are_refused_at_their_path(literal, words):
    text = json.dumps(VALID).replace('"zoom": 1.25', f'"zoom": {literal}')
    err = refusal(text)
    assert err.path == "view.zoom" and words in err.reason


def test_a_file_over_the_size_cap_is_refused_before_parsing():
    err = refusal(" " * (Limits().max_file_bytes + 1))
    assert "16 MiB" in err.reason
    assert "at most 1,000 bytes" in refusal(json.dumps(VALID), limits=Limits(max_file_bytes=1000)).reason


def test_a_million_layers_are_refused_by_the_layer_cap():
    # Cheap to write, cheap to refuse: the count is checked on the parsed list, before any layer is looked at.
    text = ('{"format": "nnstudio.design", "version": 1, "name": "many", "connections": [], "layers": ['
            + ",".join(["{}"] * 1_000_000) + "]}")
    err = refusal(text)
    assert err.path == "layers"
    assert "1,000,000 layers" in err.reason and "the limit is 10,000 layers" in err.reason


def test_too_many_connections_are_refused_by_the_connection_cap():
    text = edited(lambda d: d.update(connections=[{"from": "L1", "to": "L2"}] * 60_000))
    err = refusal(text)
    assert err.path == "connections" and "50,000" in err.reason


def _dense_after_input(features: int, units: int) -> str:
    return json.dumps({
        "format": "nnstudio.design", "version": 1, "name": "huge",
        "layers": [{"id": "in", "type": "Input", "name": "features", "params": {"features": features}},
                   {"id": "big", "type": "Dense", "name": "big", "params": {"units": units}}],
        "connections": [{"from": "in", "to": "big"}],
    })


def test_a_dense_of_a_billion_units_is_refused_by_the_parameter_range():
    # The catalogue caps Input features and Dense units at 10⁶, so 10⁹ never reaches the budget.
    err = refusal(_dense_after_input(10**9, 10**9))
    assert err.path == "layers[0].params.features" and "at most 1000000" in err.reason


def test_weights_beyond_the_budget_are_refused_before_any_allocation():
    err = refusal(_dense_after_input(10**6, 10**6))
    assert err.path == "layers[1]"
    assert "the weights would need 4,000.0 GB (float32); the limit is 8 GB" in err.reason
    assert "'big'" in err.reason


def test_the_budget_is_a_limit_the_caller_chooses():
    text = dumps(every_layer_type())
    err = refusal(text, limits=Limits(max_params_gb=1e-6))
    assert "GB" in err.reason and "the limit is 1e-06 GB" in err.reason
    assert loads(text, limits=Limits(max_params_gb=1.0)).same_content(every_layer_type())


def test_a_design_that_inference_diagnoses_still_loads():
    # A Dense fed by an image is a mistake shape inference shows on the canvas, not a broken file.
    text = json.dumps({
        "format": "nnstudio.design", "version": 1, "name": "needs a Flatten",
        "layers": [{"id": "L1", "type": "Input", "name": "img", "params": {"mode": "image"}},
                   {"id": "L2", "type": "Dense", "name": "d"}],
        "connections": [{"from": "L1", "to": "L2"}],
    })
    design = loads(text)
    assert [c.target for c in design.connections] == ["L2"]


# ---- structure: wrong types, unknown keys, missing keys -------------------------------------------------

@pytest.mark.parametrize("change, path, words", [
    (lambda d: d["layers"][1]["params"].update(units="4"), "layers[1].params.units", "must be a whole number"),
    (lambda d: d["layers"][1]["params"].update(units=0), "layers[1].params.units", "must be at least 1, not 0"),
    (lambda d: d["layers"][1]["params"].update(units=4.5), "layers[1].params.units", "whole number"),
    (lambda d: d["layers"][1]["params"].update(activation="swish"), "layers[1].params.activation", "one of"),
    (lambda d: d["layers"][1]["params"].update(unitz=3), "layers[1].params.unitz", "unknown parameter"),
    (lambda d: d["layers"][1].update(params=[4]), "layers[1].params", "must be an object"),
    (lambda d: d["layers"][1].update(colour="red"), "layers[1].colour", "unknown key"),
    (lambda d: d["layers"][1].update(name=7), "layers[1].name", "must be text, not 7"),
    (lambda d: d["layers"][1].pop("name"), "layers[1].name", "is missing"),
    (lambda d: d["layers"][1].pop("id"), "layers[1].id", "is missing"),
    (lambda d: d["layers"][1].update(type="Dens"), "layers[1].type", "unknown layer type 'Dens'"),
    (lambda d: d["layers"][1].update(type=None), "layers[1].type", "must be text, not null"),
    (lambda d: d["layers"][1].update(name="in_xy"), "layers[1].name", "already called 'in_xy'"),
    (lambda d: d["layers"][1].update(name="class"), "layers[1].name", "reserved word"),
    (lambda d: d["layers"][1].update(name="9lives"), "layers[1].name", "not allowed"),
    (lambda d: d["layers"][1].update(id="L1"), "layers[1].id", "already exists"),
    (lambda d: d["layers"][1].update(id="L 2"), "layers[1].id", "letters, digits"),
    (lambda d: d["layers"][1].update(position=[1, "2"]), "layers[1].position[1]", "must be a number"),
    (lambda d: d["layers"][1].update(position=[1]), "layers[1].position", "two numbers"),
    (lambda d: d["layers"][1].update(position=[1e8, 0]), "layers[1].position", "off the canvas"),
    (lambda d: d["layers"].append(3), "layers[4]", "must be an object, not 3"),
    (lambda d: d.update(layers={}), "layers", "must be a list, not an object"),
    (lambda d: d.pop("layers"), "layers", "is missing"),
    (lambda d: d.pop("connections"), "connections", "is missing"),
    (lambda d: d.update(name=""), "name", "1–200 characters"),
    (lambda d: d.update(name=True), "name", "must be text, not true"),
    (lambda d: d.update(description="x" * 100_001), "description", "at most 100 000"),
    (lambda d: d.update(extra=1), "extra", "unknown key (known keys: format, version, name"),
    (lambda d: d["connections"][0].update(to=2), "connections[0].to", "must be text"),
    (lambda d: d["connections"][0].update(weight=2), "connections[0].weight", "known keys: from, to"),
    (lambda d: d["connections"][0].pop("from"), "connections[0].from", "is missing"),
    (lambda d: d["dataset"].update(samples=5), "dataset.samples", "must be at least 10, not 5"),
    (lambda d: d["dataset"].update(sample=500), "dataset.sample", "unknown setting"),
    (lambda d: d["dataset"].update(self=1), "dataset.self", "unknown setting"),
    (lambda d: d["dataset"].update(features=["x1", "x1"]), "dataset.features", "listed twice"),
    (lambda d: d["training"].update(device="tpu"), "training.device", "must be auto, cpu"),
    (lambda d: d["training"].update(learning_rate="fast"), "training.learning_rate", "must be a number"),
    (lambda d: d["view"].update(zoom=0), "view.zoom", "at least 0.05"),
    (lambda d: d.update(view=[]), "view", "must be an object"),
    (lambda d: d["layers"][1]["params"].update({"odd key\n" * 9: 1}), 'layers[1].params["odd key', "unknown"),
])
def test_wrong_values_are_refused_at_their_json_path(change, path, words):
    err = refusal(edited(change))
    assert err.path.startswith(path), err
    assert words in err.reason, err


def test_a_repeated_key_is_refused():
    text = json.dumps(VALID).replace('"units": 4,', '"units": 4, "units": 5,', 1)
    err = refusal(text)
    assert err.path == "layers[1].params" and '"units" appears more than once' in err.reason


def test_missing_optional_sections_take_their_defaults():
    text = json.dumps({
        "format": "nnstudio.design", "version": 1, "name": "minimal",
        "layers": [{"id": "a", "type": "Dense", "name": "d"}], "connections": [],
    })
    design = loads(text)
    layer = design.layers["a"]
    assert layer.params == {"units": 4, "bias": True, "activation": "tanh"}
    assert layer.position == (0.0, 0.0)
    blank = Design()
    assert (design.description, design.dataset, design.training, design.view) == (
        "", blank.dataset, blank.training, blank.view)


# ---- connections ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("extra, index, words", [
    ([("L2", "L2")], 3, "cannot feed itself"),
    ([("L2", "L1")], 3, "takes no inputs"),
    ([("L4", "L3")], 3, "nothing follows it"),
    ([("L1", "L2")], 3, "already connected"),
    ([("L1", "L3")], 3, "already takes its input from 'hidden1'"),
    ([("L1", "L9")], 3, "no layer with id 'L9'"),
])
def test_refused_connections_name_their_index(extra, index, words):
    err = refusal(edited(lambda d: d["connections"].extend({"from": a, "to": b} for a, b in extra)))
    assert err.path.startswith(f"connections[{index}]") and words in err.reason, err


def test_a_cycle_is_refused_at_the_connection_that_closes_it():
    data = {
        "format": "nnstudio.design", "version": 1, "name": "loop",
        "layers": [{"id": i, "type": "Add", "name": f"add_{i}"} for i in ("a", "b", "c", "d")],
        "connections": [{"from": s, "to": t} for s, t in [("a", "b"), ("b", "c"), ("d", "a"), ("c", "a"),
                                                          ("c", "d")]],
    }
    err = refusal(json.dumps(data))
    assert err.path == "connections[3]"
    assert err.reason == "connecting 'add_c' to 'add_a' would make a cycle"


def test_a_cycle_in_a_long_chain_is_found_quickly():
    n = 5000
    layers = [{"id": f"L{i}", "type": "Add", "name": f"n{i}"} for i in range(n)]
    chain = [{"from": f"L{i}", "to": f"L{i + 1}"} for i in range(n - 1)]
    text = json.dumps({"format": "nnstudio.design", "version": 1, "name": "ring", "layers": layers,
                       "connections": chain[::-1] + [{"from": f"L{n - 1}", "to": "L0"}]})
    err = refusal(text)
    assert err.path == f"connections[{n - 1}]" and "cycle" in err.reason


# ---- files on disk -------------------------------------------------------------------------------------

def test_load_design_names_the_file(tmp_path):
    path = tmp_path / "broken.nnstudio"
    path.write_text(edited(lambda d: d["layers"][1]["params"].update(units=0)), encoding="utf-8")
    with pytest.raises(FormatError) as caught:
        load_design(path)
    assert caught.value.file == str(path) and caught.value.path == "layers[1].params.units"


def test_a_missing_file_or_a_folder_is_a_format_error(tmp_path):
    with pytest.raises(FormatError, match="could not read"):
        load_design(tmp_path / "nope.nnstudio")
    with pytest.raises(FormatError, match="could not read"):
        load_design(tmp_path)


def test_load_design_reads_no_more_than_the_cap(tmp_path):
    path = tmp_path / "big.nnstudio"
    path.write_bytes(b" " * 5000)
    with pytest.raises(FormatError, match="the file is 5,000 bytes"):
        load_design(path, limits=Limits(max_file_bytes=1000))


def test_loads_refuses_a_value_that_is_not_text_or_bytes():
    with pytest.raises(TypeError):
        loads(None)  # type: ignore[arg-type]
