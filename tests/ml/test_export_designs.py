"""Designs the export and code-generation tests share, and the check that together they cover every layer
type and activation (so a new layer type without an exporter test fails here first)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from nnstudio.core.catalogue import ACTIVATIONS, LAYER_TYPES, layer_activation
from nnstudio.core.document import Design, Layer
from nnstudio.core.inference import infer
from nnstudio.ml.builder import DesignModule, build_model

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
EXAMPLE_NAMES = ("playground-circle", "spiral", "digits-cnn", "residual-mlp", "wide-and-deep")
HOSTILE = "\"\"\"; import os; os.system('touch pwned') #"


def chain(design: Design, *layers: Layer) -> None:
    for source, target in zip(layers, layers[1:], strict=False):
        design.connect(source.id, target.id)


def vector_everything() -> Design:
    """Every activation as a Dense layer and as an Activation layer, Dropout, BatchNorm1d, Add, Concatenate,
    a Dense without bias, a multi-class Output, and a dangling layer that must not be exported."""
    d = Design("Vector everything", "every activation on feature vectors")
    inp = d.add_layer("Input", "inp", {"features": 3})
    dense = [d.add_layer("Dense", f"d_{fn}", {"units": 5, "activation": fn, "bias": fn != "elu"})
             for fn in ACTIVATIONS]
    acts = [d.add_layer("Activation", f"a_{fn}", {"function": fn}) for fn in ACTIVATIONS]
    drop = d.add_layer("Dropout", "drop", {"rate": 0.3})
    bn = d.add_layer("BatchNorm", "bn", {"momentum": 0.2})
    add = d.add_layer("Add", "skip")
    cat = d.add_layer("Concatenate", "join")
    out = d.add_layer("Output", "out", {"task": "multiclass", "units": 3})
    chain(d, inp, *dense, *acts, drop, bn, add)
    d.connect(dense[0].id, add.id)
    d.connect(add.id, cat.id)
    d.connect(inp.id, cat.id)
    chain(d, cat, out)
    unused = d.add_layer("Dense", "unused", {"units": 7})
    d.connect(inp.id, unused.id)
    return d


def image_everything() -> Design:
    """Convolutions (stride, padding, no bias), BatchNorm2d, both pools, image Add and Concatenate, Flatten,
    Dropout and a binary Output without bias."""
    d = Design("Image everything")
    inp = d.add_layer("Input", "img", {"mode": "image", "channels": 2, "height": 9, "width": 9})
    conv_a = d.add_layer("Conv2d", "conv_a", {"filters": 4, "kernel": 3, "padding": 1, "activation": "relu"})
    conv_b = d.add_layer("Conv2d", "conv_b", {"filters": 3, "kernel": 1, "bias": False, "activation": "tanh"})
    cat = d.add_layer("Concatenate", "stack")
    bn = d.add_layer("BatchNorm", "bn2")
    pool = d.add_layer("MaxPool2d", "maxpool", {"kernel": 3, "stride": 1, "padding": 1})
    add = d.add_layer("Add", "residual")
    avg = d.add_layer("AvgPool2d", "avgpool", {"kernel": 2, "stride": 2, "padding": 1})
    conv_c = d.add_layer("Conv2d", "conv_c", {"filters": 2, "kernel": 3, "stride": 2, "activation": "sigmoid"})
    flat = d.add_layer("Flatten", "flat")
    drop = d.add_layer("Dropout", "drop", {"rate": 0.5})
    out = d.add_layer("Output", "out", {"task": "binary", "units": 1, "bias": False})
    chain(d, inp, conv_a, cat)
    chain(d, inp, conv_b, cat)
    chain(d, cat, bn, pool, add)
    d.connect(cat.id, add.id)
    chain(d, add, avg, conv_c, flat, drop, out)
    return d


def sequence_everything() -> Design:
    """The registry's newer types: Reshape (vector → sequence, sequence → image), Conv1d (stride, padding,
    no bias), BatchNorm over a sequence, GlobalAvgPool2d, and a multi-class Output."""
    d = Design("Sequence everything")
    inp = d.add_layer("Input", "inp", {"features": 24})
    seq = d.add_layer("Reshape", "to_sequence", {"shape": "2,-1"})
    conv_a = d.add_layer("Conv1d", "conv_a", {"filters": 4, "kernel": 3, "padding": 1, "activation": "gelu"})
    conv_b = d.add_layer("Conv1d", "conv_b", {"filters": 4, "kernel": 2, "stride": 2, "bias": False,
                                              "activation": "tanh"})
    bn = d.add_layer("BatchNorm", "bn_seq")
    img = d.add_layer("Reshape", "to_image", {"shape": "4×2×3"})
    gap = d.add_layer("GlobalAvgPool2d", "gap")
    out = d.add_layer("Output", "out", {"task": "multiclass", "units": 3})
    chain(d, inp, seq, conv_a, conv_b, bn, img, gap, out)
    return d


def input_to_output() -> Design:
    """The smallest network: a linear regression with two targets and no bias."""
    d = Design("linear regression")
    inp = d.add_layer("Input", "features", {"features": 2})
    out = d.add_layer("Output", "prediction", {"task": "regression", "units": 2, "bias": False})
    chain(d, inp, out)
    return d


def circle(name: str = "Playground circle") -> Design:
    """A Playground circle classifier that trains to > 0.9 validation accuracy in a few epochs."""
    d = Design(name)
    inp = d.add_layer("Input", "inp", {"features": 2})
    fc1 = d.add_layer("Dense", "fc1", {"units": 8, "activation": "tanh"})
    fc2 = d.add_layer("Dense", "fc2", {"units": 4, "activation": "tanh"})
    out = d.add_layer("Output", "out", {"task": "binary", "units": 1})
    chain(d, inp, fc1, fc2, out)
    d.set_dataset(source="playground", name="circle", samples=400, train_percent=50, seed=3)
    d.set_training(optimizer="adam", learning_rate=0.03, batch_size=10, epochs=12, seed=1)
    return d


BUILT: dict[str, Callable[[], Design]] = {
    "vector-everything": vector_everything,
    "image-everything": image_everything,
    "sequence-everything": sequence_everything,
    "input-to-output": input_to_output,
    "circle": circle,
}
CASES = (*BUILT, *(f"example:{name}" for name in EXAMPLE_NAMES))


def load_case(case: str) -> Design:
    """A built design, or an example file (skipping the test while that example does not exist yet)."""
    if case in BUILT:
        return BUILT[case]()
    path = EXAMPLES / f"{case.removeprefix('example:')}.nnstudio"
    if not path.exists():
        pytest.skip(f"example {path.name} is not there (yet)")
    from nnstudio.io import load_design

    return load_design(path)


def trained_like(design: Design, seed: int = 0) -> DesignModule:
    """The design's model with random weights and non-trivial BatchNorm statistics, in eval mode."""
    torch.manual_seed(seed)
    model = build_model(design)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.num_batches_tracked.fill_(7)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return model.eval()


def inputs_for(model: DesignModule, batch: int, seed: int) -> torch.Tensor:
    return torch.randn(batch, *model.input_shape, generator=torch.Generator().manual_seed(seed))


def test_built_designs_are_valid_and_cover_every_layer_type_and_activation() -> None:
    types, activations = set(), set()
    for make in BUILT.values():
        design = make()
        assert infer(design).ok, make.__name__
        for layer in design.layers.values():
            types.add(layer.type)
            if layer.type in ("Dense", "Conv2d", "Activation"):
                activations.add(layer_activation(layer.type, layer.params))
    assert types == set(LAYER_TYPES)
    assert activations == set(ACTIVATIONS)
