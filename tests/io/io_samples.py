"""Designs for the io tests: hand-built ones covering every layer type, and a hypothesis strategy for random ones."""

from __future__ import annotations

import keyword
from typing import Any

from hypothesis import strategies as st

from nnstudio.core import LAYER_TYPES, Design
from nnstudio.core.document import RESERVED_NAMES
from nnstudio.core.errors import DesignError
from nnstudio.core.schema import ParamSpec
from nnstudio.core.settings import (
    DATASET_FIELDS,
    PLAYGROUND_FEATURES,
    TRAINING_FIELDS,
    VIEW_FIELDS,
)

TYPES = sorted(LAYER_TYPES)


def playground_mlp() -> Design:
    """TensorFlow Playground's default network: 2 features → 4 → 2 → 1, tanh, on the circle dataset."""
    d = Design("Playground MLP", "Playground's default: two tanh layers of 4 and 2 neurons.")
    x = d.add_layer("Input", "in_xy", {"features": 2}, (0.0, 120.0))
    h1 = d.add_layer("Dense", "hidden1", {"units": 4, "activation": "tanh"}, (180.0, 120.0))
    h2 = d.add_layer("Dense", "hidden2", {"units": 2, "activation": "tanh"}, (360.0, 120.0))
    y = d.add_layer("Output", "out_y", {"task": "binary", "units": 1}, (540.0, 120.0))
    d.connect(x.id, h1.id)
    d.connect(h1.id, h2.id)
    d.connect(h2.id, y.id)
    d.set_dataset(name="circle", noise=0.1, train_percent=50, seed=7)
    d.set_training(learning_rate=0.03, batch_size=10, init="playground", regularization="l2",
                   regularization_rate=0.001)
    d.set_view(zoom=1.25, center_x=270.0, center_y=120.5)
    return d


def every_layer_type() -> Design:
    """A small CNN that uses each layer type once or more, with parameters away from their defaults."""
    d = Design("Every layer type", "Digits as 1×8×8 images through each kind of layer.\nSecond line: «ünïcode».")
    image = d.add_layer("Input", "image", {"mode": "image", "channels": 1, "height": 8, "width": 8}, (0, 0))
    conv = d.add_layer("Conv2d", "conv", {"filters": 6, "kernel": 3, "padding": 1, "activation": "gelu"},
                       (150, -40.5))
    bn = d.add_layer("BatchNorm", "bn", {"momentum": 0.2}, (300, -40))
    act = d.add_layer("Activation", "act", {"function": "leaky_relu"}, (450, -40))
    skip = d.add_layer("Conv2d", "skip", {"filters": 6, "kernel": 1, "bias": False, "activation": "identity"},
                       (300, 60))
    add = d.add_layer("Add", "residual", {}, (600, 0))
    maxp = d.add_layer("MaxPool2d", "maxpool", {"kernel": 2, "stride": 2}, (750, -40))
    avgp = d.add_layer("AvgPool2d", "avgpool", {"kernel": 2, "stride": 2, "padding": 1}, (750, 60))
    flat_a = d.add_layer("Flatten", "flat_a", {}, (900, -40))
    flat_b = d.add_layer("Flatten", "flat_b", {}, (900, 60))
    cat = d.add_layer("Concatenate", "joined", {}, (1050, 0))
    dense = d.add_layer("Dense", "dense", {"units": 32, "activation": "relu", "bias": True}, (1200, 0))
    drop = d.add_layer("Dropout", "dropout", {"rate": 0.25}, (1350, 0))
    out = d.add_layer("Output", "digit", {"task": "multiclass", "units": 10}, (1500, 0))
    for a, b in [(image, conv), (conv, bn), (bn, act), (image, skip), (act, add), (skip, add), (add, maxp),
                 (add, avgp), (maxp, flat_a), (avgp, flat_b), (flat_b, cat), (flat_a, cat), (cat, dense),
                 (dense, drop), (drop, out)]:
        d.connect(a.id, b.id)
    d.set_dataset(source="builtin", name="digits", as_images=True, standardize=True, train_percent=80)
    d.set_training(optimizer="adam", learning_rate=0.001, batch_size=64, epochs=30, schedule="cosine",
                   grad_clip=1.0, seed=42, device="cpu")
    return d


def single_layer_designs() -> list[Design]:
    """One design per layer type, each with non-default parameters where the type has any."""
    designs = []
    for type_name, ltype in LAYER_TYPES.items():
        d = Design(f"only {type_name}")
        params: dict[str, Any] = {}
        for key, spec in ltype.params.items():
            params[key] = _not_default(spec)
        d.add_layer(type_name, None, params, (12.5, -3.0))
        designs.append(d)
    return designs


def _not_default(spec: ParamSpec) -> Any:
    if spec.kind == "bool":
        return not spec.default
    if spec.kind == "choice":
        return next(c for c in spec.choices if c != spec.default)
    if spec.kind == "int":
        return spec.default + 1 if spec.maximum is None or spec.default < spec.maximum else spec.default - 1
    if spec.kind == "float":
        lo, hi = spec.minimum if spec.minimum is not None else 0.0, spec.maximum if spec.maximum is not None else 1.0
        return (lo + hi) / 3
    return spec.default + "x"


def big_design(generation: int) -> Design:
    """About 400 kB of design, different in every generation (for saves interrupted by a kill)."""
    d = Design(f"generation {generation}", "x" * (generation % 1000))
    prev = d.add_layer("Input", "inp", {"features": 8}).id
    for i in range(1500):
        layer = d.add_layer("Dense", f"d{i}", {"units": 1 + (i + generation) % 50}, (i * 10.0, generation))
        d.connect(prev, layer.id)
        prev = layer.id
    return d


# ---- hypothesis ----------------------------------------------------------------------------------------

# Text a design may hold (nnstudio.core.text): no lone surrogates, no control or bidirectional-override
# characters; a description may also hold line breaks and tabs.
_BIDI = "\u2028\u2029\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
plain_chars = st.characters(exclude_categories=("Cs", "Cc"), exclude_characters=_BIDI)


def plain_text(min_size: int = 0, max_size: int = 20, multiline: bool = False) -> st.SearchStrategy[str]:
    chars = plain_chars | st.sampled_from("\n\t\r") if multiline else plain_chars
    return st.text(chars, min_size=min_size, max_size=max_size)


def values_of(spec: ParamSpec) -> st.SearchStrategy[Any]:
    """Any value the spec accepts."""
    if spec.kind == "int":
        return st.integers(int(spec.minimum), int(spec.maximum))
    if spec.kind == "float":
        return st.floats(spec.minimum, spec.maximum, allow_nan=False, allow_infinity=False)
    if spec.kind == "bool":
        return st.booleans()
    if spec.kind == "choice":
        return st.sampled_from(spec.choices)
    return plain_text(max_size=min(spec.max_length, 20))


def _params(type_name: str) -> st.SearchStrategy[dict[str, Any]]:
    specs = LAYER_TYPES[type_name].params
    # Each parameter present or left out (a file may omit a key: it takes its default).
    return st.fixed_dictionaries({}, optional={k: values_of(s) for k, s in specs.items()})


def _settings(fields: dict[str, ParamSpec], extra: dict[str, st.SearchStrategy[Any]] | None = None):
    optional = {k: values_of(s) for k, s in fields.items()}
    optional.update(extra or {})
    return st.fixed_dictionaries({}, optional=optional)


layer_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True).filter(
    lambda s: not keyword.iskeyword(s) and s not in RESERVED_NAMES and not s.startswith("__"))
layer_ids = st.from_regex(r"[A-Za-z0-9_-]{1,8}", fullmatch=True)
coordinates = st.floats(-9_999_999.0, 9_999_999.0, allow_nan=False)
design_names = plain_text(min_size=1, max_size=40).filter(lambda s: bool(s.strip()))


@st.composite
def designs(draw: st.DrawFn, max_layers: int = 8) -> Design:
    """A random design built through the edit operations: valid by construction, not necessarily trainable."""
    d = Design()
    d.set_meta(name=draw(design_names), description=draw(plain_text(max_size=60, multiline=True)))
    count = draw(st.integers(0, max_layers))
    for _ in range(count):
        type_name = draw(st.sampled_from(TYPES))
        name = draw(st.none() | layer_names)
        layer_id = draw(st.none() | layer_ids)
        if name is not None and d.layer_by_name(name) is not None:
            name = None
        if layer_id is not None and layer_id in d.layers:
            layer_id = None
        d.add_layer(type_name, name, draw(_params(type_name)), (draw(coordinates), draw(coordinates)), layer_id)
    ids = list(d.layers)
    if ids:
        pairs = st.tuples(st.sampled_from(ids), st.sampled_from(ids))
        for source, target in draw(st.lists(pairs, max_size=3 * len(ids))):
            try:
                d.check_connection(source, target)
            except DesignError:
                continue
            d.connect(source, target)
    features = st.lists(st.sampled_from(PLAYGROUND_FEATURES), min_size=1, max_size=7, unique=True)
    d.set_dataset(**draw(_settings(DATASET_FIELDS, {"features": features})))
    training = _settings({k: s for k, s in TRAINING_FIELDS.items() if k != "device"},
                         {"device": st.sampled_from(["auto", "cpu", "cuda", "cuda:1", "mps"])})
    d.set_training(**draw(training))
    d.set_view(**draw(_settings(VIEW_FIELDS)))
    return d
