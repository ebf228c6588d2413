"""The model builder agrees with shape inference: for every layer type the real torch output shape equals the
inferred shape and torch's parameter count equals the catalogue's; and so for random valid designs."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from nnstudio.core import LAYER_TYPES, Design, infer
from nnstudio.core.catalogue import ACTIVATIONS
from nnstudio.ml.builder import build_model

IMAGE = {"mode": "image", "channels": 3, "height": 9, "width": 7}


def _design(*specs: tuple[str, str, dict[str, Any], list[str]]) -> Design:
    """Layers given as (name, type, params, inputs)."""
    design = Design("builder")
    ids = {}
    for name, type_name, params, inputs in specs:
        ids[name] = design.add_layer(type_name, name=name, params=params).id
        for source in inputs:
            design.connect(ids[source], ids[name])
    return design


# One small design per layer type, each ending in an Output so that every layer is built.
LAYER_CASES: dict[str, Design] = {
    "Input": _design(("inp", "Input", {"features": 5}, []), ("out", "Output", {"task": "regression"}, ["inp"])),
    "Output": _design(("inp", "Input", {"features": 4}, []),
                      ("out", "Output", {"task": "multiclass", "units": 3, "bias": False}, ["inp"])),
    "Dense": _design(("inp", "Input", {"features": 4}, []), ("d", "Dense", {"units": 6, "activation": "gelu"}, ["inp"]),
                     ("out", "Output", {"task": "binary"}, ["d"])),
    "Activation": _design(("inp", "Input", {"features": 4}, []), ("a", "Activation", {"function": "sine"}, ["inp"]),
                          ("out", "Output", {"task": "binary"}, ["a"])),
    "Dropout": _design(("inp", "Input", {"features": 4}, []), ("p", "Dropout", {"rate": 0.3}, ["inp"]),
                       ("out", "Output", {"task": "binary"}, ["p"])),
    "BatchNorm": _design(("inp", "Input", IMAGE, []), ("bn", "BatchNorm", {}, ["inp"]), ("f", "Flatten", {}, ["bn"]),
                         ("bn1", "BatchNorm", {"momentum": 0.2}, ["f"]),
                         ("out", "Output", {"task": "binary"}, ["bn1"])),
    "Conv2d": _design(("inp", "Input", IMAGE, []),
                      ("c", "Conv2d", {"filters": 5, "kernel": 3, "stride": 2, "padding": 1}, ["inp"]),
                      ("c2", "Conv2d", {"filters": 2, "kernel": 2, "bias": False, "activation": "identity"}, ["c"]),
                      ("f", "Flatten", {}, ["c2"]), ("out", "Output", {"task": "binary"}, ["f"])),
    "MaxPool2d": _design(("inp", "Input", IMAGE, []),
                         ("m", "MaxPool2d", {"kernel": 3, "stride": 2, "padding": 1}, ["inp"]),
                         ("f", "Flatten", {}, ["m"]), ("out", "Output", {"task": "binary"}, ["f"])),
    "AvgPool2d": _design(("inp", "Input", IMAGE, []), ("m", "AvgPool2d", {"kernel": 2, "stride": 1}, ["inp"]),
                         ("f", "Flatten", {}, ["m"]), ("out", "Output", {"task": "binary"}, ["f"])),
    "Conv1d": _design(("inp", "Input", {"features": 12}, []), ("r", "Reshape", {"shape": "3,-1"}, ["inp"]),
                      ("c", "Conv1d", {"filters": 5, "kernel": 3, "stride": 2, "padding": 1}, ["r"]),
                      ("c2", "Conv1d", {"filters": 2, "kernel": 2, "bias": False, "activation": "sine"}, ["c"]),
                      ("f", "Flatten", {}, ["c2"]), ("out", "Output", {"task": "binary"}, ["f"])),
    "GlobalAvgPool2d": _design(("inp", "Input", IMAGE, []), ("g", "GlobalAvgPool2d", {}, ["inp"]),
                               ("out", "Output", {"task": "regression", "units": 2}, ["g"])),
    "Reshape": _design(("inp", "Input", IMAGE, []), ("r", "Reshape", {"shape": "7, 3, -1"}, ["inp"]),
                       ("c", "Conv2d", {"filters": 2, "kernel": 2}, ["r"]), ("r2", "Reshape", {"shape": "-1"}, ["c"]),
                       ("out", "Output", {"task": "binary"}, ["r2"])),
    "Flatten": _design(("inp", "Input", IMAGE, []), ("f", "Flatten", {}, ["inp"]),
                       ("out", "Output", {"task": "regression", "units": 2}, ["f"])),
    "Add": _design(("inp", "Input", {"features": 4}, []), ("a", "Dense", {"units": 4}, ["inp"]),
                   ("b", "Dense", {"units": 4, "activation": "relu"}, ["inp"]),
                   ("s", "Add", {}, ["a", "b", "inp"]), ("out", "Output", {"task": "binary"}, ["s"])),
    "Concatenate": _design(("inp", "Input", IMAGE, []), ("c", "Conv2d", {"filters": 2, "padding": 1}, ["inp"]),
                           ("j", "Concatenate", {}, ["inp", "c"]), ("f", "Flatten", {}, ["j"]),
                           ("d", "Dense", {"units": 3}, ["f"]), ("v", "Concatenate", {}, ["d", "f"]),
                           ("out", "Output", {"task": "binary"}, ["v"])),
}


def check_against_inference(design: Design, batch: int = 3) -> dict[str, tuple[int, ...]]:
    """Build the model, run a batch, and compare every layer's output shape and parameter count."""
    result = infer(design)
    assert result.ok, [d.message for d in result.errors()]
    model = build_model(design, result).eval()
    x = torch.randn(batch, *model.input_shape)
    with torch.no_grad():
        out, acts = model.forward_with_activations(x)
    shapes = {}
    for lid, layer in design.layers.items():
        if layer.name not in acts:
            continue  # not connected to the Output: not built
        shapes[layer.name] = tuple(acts[layer.name].shape)
        assert acts[layer.name].shape == (batch, *result.shapes[lid]), layer.name
        module = getattr(model, layer.name)
        assert sum(p.numel() for p in module.parameters()) == result.params[lid], layer.name
    assert sum(p.numel() for p in model.parameters()) == sum(
        result.params[lid] for lid, layer in design.layers.items() if layer.name in acts)
    assert out.shape == acts[model.output_name].shape
    return shapes


def test_every_layer_type_has_a_case() -> None:
    assert set(LAYER_CASES) == set(LAYER_TYPES)


@pytest.mark.parametrize("type_name", sorted(LAYER_CASES))
def test_built_shapes_and_parameter_counts_match_the_catalogue(type_name: str) -> None:
    design = LAYER_CASES[type_name]
    shapes = check_against_inference(design)
    assert any(layer.type == type_name and layer.name in shapes for layer in design.layers.values())


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_builds(activation: str) -> None:
    design = _design(("inp", "Input", {"features": 3}, []), ("d", "Dense", {"units": 2, "activation": activation},
                                                               ["inp"]), ("out", "Output", {"task": "binary"}, ["d"]))
    check_against_inference(design)


# ---- random valid designs --------------------------------------------------------------------------------

@st.composite
def designs(draw: st.DrawFn) -> Design:
    design = Design("random")
    image = draw(st.booleans())
    if image:
        params = {"mode": "image", "channels": draw(st.integers(1, 3)), "height": draw(st.integers(3, 9)),
                  "width": draw(st.integers(3, 9))}
    else:
        params = {"features": draw(st.integers(1, 6))}
    nodes = [design.add_layer("Input", params=params).id]

    def shape(lid: str) -> tuple[int, ...]:
        return infer(design).shapes[lid]

    for _ in range(draw(st.integers(1, 6))):
        source = draw(st.sampled_from(nodes))
        s = shape(source)
        kind = draw(st.sampled_from(["unary", "unary", "merge"]))
        if kind == "merge":
            same = [n for n in nodes if n != source and shape(n) == s]
            joinable = [n for n in nodes if n != source and len(shape(n)) == len(s)
                        and (len(s) == 1 or shape(n)[1:] == s[1:])]
            merge = draw(st.sampled_from(["Add", "Concatenate"]))
            partners = same if merge == "Add" else joinable
            if not partners:
                continue
            partner = draw(st.sampled_from(partners))
            layer = design.add_layer(merge)
            design.connect(source, layer.id)
            design.connect(partner, layer.id)
            nodes.append(layer.id)
            continue
        if len(s) == 1:
            type_name = draw(st.sampled_from(["Dense", "Activation", "Dropout", "BatchNorm"]))
            p: dict[str, Any] = {}
            if type_name == "Dense":
                p = {"units": draw(st.integers(1, 6)), "activation": draw(st.sampled_from(ACTIVATIONS)),
                     "bias": draw(st.booleans())}
            elif type_name == "Activation":
                p = {"function": draw(st.sampled_from(ACTIVATIONS))}
        else:
            c, h, w = s
            type_name = draw(st.sampled_from(["Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "Activation",
                                              "BatchNorm", "Dropout"]))
            p = {}
            if type_name == "Conv2d":
                pad = draw(st.integers(0, 1))
                p = {"filters": draw(st.integers(1, 4)), "kernel": draw(st.integers(1, min(h, w) + 2 * pad)),
                     "stride": draw(st.integers(1, 2)), "padding": pad, "bias": draw(st.booleans())}
            elif type_name in ("MaxPool2d", "AvgPool2d"):
                kernel = draw(st.integers(1, min(h, w, 3)))
                p = {"kernel": kernel, "stride": draw(st.integers(1, 2)), "padding": draw(st.integers(0, kernel // 2))}
        layer = design.add_layer(type_name, params=p)
        design.connect(source, layer.id)
        nodes.append(layer.id)
    last = draw(st.sampled_from(nodes))
    if len(shape(last)) == 3:
        flat = design.add_layer("Flatten")
        design.connect(last, flat.id)
        last = flat.id
    task = draw(st.sampled_from(["regression", "binary", "multiclass"]))
    units = {"regression": draw(st.integers(1, 3)), "binary": 1, "multiclass": draw(st.integers(2, 4))}[task]
    output = design.add_layer("Output", params={"task": task, "units": units})
    design.connect(last, output.id)
    return design


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(designs())
def test_random_designs_build_with_the_inferred_shapes(design: Design) -> None:
    assume(infer(design).ok)
    check_against_inference(design, batch=2)
