"""Every design the loader accepts works in every stage after it: validate, build, train, every export.

Random trainable designs get hostile names and text (mangled and shadowing identifiers, lone surrogates,
control characters, terminal escapes, Unicode look-alikes) written into their file. The file loader either
refuses the file with a FormatError or the design must pass `nnstudio validate`, build, train, and export
to every format — the generated model.py imported and its weights loaded, the PT2 program and the ONNX
model run — giving the same outputs as the trained model. Bounded for CI; set NNSTUDIO_FUZZ_EXAMPLES (e.g.
200) for a heavier run.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import re
import sys
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from nnstudio.cli import main as cli_main
from nnstudio.core import Design, infer
from nnstudio.core.errors import FormatError
from nnstudio.io import dumps, load_design
from nnstudio.ml.builder import build_model
from nnstudio.ml.export import export_model
from nnstudio.ml.trainer import Trainer

try:
    from training_helpers import one_cpu_thread  # noqa: F401 - autouse
except ImportError:  # tests/ml became a package
    from .training_helpers import one_cpu_thread  # noqa: F401

EXAMPLES = int(os.environ.get("NNSTUDIO_FUZZ_EXAMPLES", "0") or 0)
LIGHT_EXAMPLES = max(EXAMPLES, 30)  # about half are refused by the loader (cheaply) and half go on
HEAVY_EXAMPLES = max(EXAMPLES // 4, 3)  # ONNX and PT2 tracing take seconds each on a small CPU
ACTIVATIONS = ["relu", "tanh", "sigmoid", "identity", "leaky_relu", "gelu", "sine"]
TRICKY_NAMES = ["__h", "__init__", "_parameters", "_modules", "_run", "x", "forward", "input", "output", "weight",
                "bias", "training", "self", "F", "nn", "torch", "super", "print", "len", "cls", "np", "sys", "math",
                "DESIGN_NAME", "TASK", "INPUT_SHAPE", "load_model", "predict", "annotations", "Model", "_", "fc1\n",
                "fc²", "ﬁ", "名前", "a" * 64, "a" * 65, "L1", "state", "dtype", "device", "scores", "values"]
NASTY = ["\ud800", "\udfff", "\x1b[2J", "\x1b]0;title\x07", "\x00", "\x9b", "\u202e", "\n", "\t", "\r", "'", '"',
         "\\", "{", "}", "\"\"\"", "'''", "#", "\u2028"]
text = st.lists(st.characters() | st.sampled_from(NASTY), max_size=12).map("".join)
names = st.sampled_from(TRICKY_NAMES) | st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)
UNSAFE_OUTPUT = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e]")


@st.composite
def trainable_designs(draw: st.DrawFn) -> Design:
    """A random design whose layers all reach one Output, trained on an NPZ file beside the design file."""
    design = Design("random")
    if draw(st.booleans()):
        params = {"mode": "image", "channels": draw(st.integers(1, 2)), "height": draw(st.integers(3, 6)),
                  "width": draw(st.integers(3, 6))}
    else:
        params = {"features": draw(st.integers(1, 5))}
    last = design.add_layer("Input", params=params).id
    nodes = [last]

    def shape(lid: str) -> tuple[int, ...]:
        return infer(design).shapes[lid]

    for _ in range(draw(st.integers(0, 4))):
        s = shape(last)
        partners = [n for n in nodes if n != last and shape(n) == s]
        if partners and draw(st.integers(0, 3)) == 0:
            layer = design.add_layer(draw(st.sampled_from(["Add", "Concatenate"])))
            design.connect(last, layer.id)
            design.connect(draw(st.sampled_from(partners)), layer.id)
        else:
            if len(s) == 1:
                kind = draw(st.sampled_from(["Dense", "Dense", "Activation", "Dropout", "BatchNorm"]))
                p: dict[str, Any] = {}
                if kind == "Dense":
                    p = {"units": draw(st.integers(1, 5)), "activation": draw(st.sampled_from(ACTIVATIONS))}
                elif kind == "Activation":
                    p = {"function": draw(st.sampled_from(ACTIVATIONS))}
            else:
                kind = draw(st.sampled_from(["Conv2d", "MaxPool2d", "AvgPool2d", "BatchNorm", "Activation",
                                             "Dropout", "Flatten"]))
                p = {}
                if kind == "Conv2d":
                    p = {"filters": draw(st.integers(1, 3)), "kernel": draw(st.integers(1, 2)), "padding": 1}
                elif kind in ("MaxPool2d", "AvgPool2d"):
                    p = {"kernel": 2, "stride": 1}
            layer = design.add_layer(kind, params=p)
            design.connect(last, layer.id)
        if shape(layer.id) is None:  # e.g. a window larger than what is left of the image
            design.remove_layer(layer.id)
            break
        last = layer.id
        nodes.append(last)
    if len(shape(last)) == 3:
        flat = design.add_layer("Flatten")
        design.connect(last, flat.id)
        last = flat.id
    task = draw(st.sampled_from(["regression", "binary", "multiclass"]))
    units = {"regression": draw(st.integers(1, 2)), "binary": 1, "multiclass": draw(st.integers(2, 3))}[task]
    out = design.add_layer("Output", params={"task": task, "units": units})
    design.connect(last, out.id)
    design.set_dataset(source="npz", path="data.npz", train_percent=50)
    design.set_training(epochs=1, batch_size=8, device="cpu", optimizer=draw(st.sampled_from(["sgd", "adam"])))
    return design


def _write_data(design: Design, folder: Path, seed: int) -> None:
    result = infer(design)
    out = next(lid for lid, layer in design.layers.items() if layer.type == "Output")
    inp = next(lid for lid, layer in design.layers.items() if layer.type == "Input")
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(16, *result.shapes[inp])).astype(np.float32)
    params = design.layers[out].params
    if params["task"] == "regression":
        y = rng.normal(size=(16, params["units"])).astype(np.float32)
    else:
        classes = 2 if params["task"] == "binary" else params["units"]
        y = np.arange(16) % classes
    np.savez(folder / "data.npz", X=x, y=y)


@st.composite
def hostile_files(draw: st.DrawFn) -> tuple[Design, dict[str, Any]]:
    """A trainable design and its file's JSON with hostile names and text put in."""
    design = draw(trainable_designs())
    data = json.loads(dumps(design))
    # Each hostile part only now and then, so that about half of the files are accepted and go on.
    if draw(st.integers(0, 3)) == 0:
        data["name"] = draw(text.filter(bool))
    if draw(st.integers(0, 3)) == 0:
        data["description"] = draw(text)
    for layer in data["layers"]:
        if draw(st.integers(0, 4)) == 0:
            layer["name"] = draw(names)
    return design, data


def _validate(path: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_main(["validate", str(path)])
    return code, out.getvalue() + err.getvalue()


def _import_model(folder: Path) -> Any:
    name = f"nnstudio_fuzz_model_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, folder / "model.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def _through_every_stage(folder: Path, data: dict[str, Any], formats: tuple[str, ...],
                         must_accept: bool = False) -> None:
    path = folder / "design.nnstudio"
    path.write_text(json.dumps(data), encoding="ascii")  # ensure_ascii: lone surrogates travel as escapes
    try:
        design = load_design(path)
    except FormatError:
        if must_accept:
            raise
        event("refused by the loader")
        return  # refused at the boundary, with a message: fine
    # Validate: exit 0, and nothing a terminal would act on in what it prints.
    code, printed = _validate(path)
    assert code == 0, printed
    assert not UNSAFE_OUTPUT.search(printed), printed
    printed.encode("utf-8")
    # Build and train (an epoch of two steps).
    trainer = Trainer(design, base_dir=folder, device="cpu", publish_hz=0)
    trainer.fit(1)
    model = trainer.model.eval()
    x = torch.randn(3, *model.input_shape)
    with torch.no_grad():
        expected = model(x)
    for fmt in formats:
        target = folder / f"export-{fmt}" if fmt == "python" else folder / f"model.{fmt}"
        export_model(model, design, fmt, target)
        got = _exported_output(fmt, target, design, x)
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5, msg=f"{fmt} gives other outputs")
    if not must_accept:
        event("accepted, and passed every stage")


def _exported_output(fmt: str, target: Path, design: Design, x: torch.Tensor) -> torch.Tensor:
    if fmt == "python":
        module = _import_model(target)
        compile((target / "train.py").read_text(encoding="utf-8"), "train.py", "exec")
        net = module.load_model(str(target / "weights.pt"))
        with torch.no_grad():
            return net(x)
    twin = build_model(design).eval()
    if fmt == "safetensors":
        from safetensors.torch import load_file

        twin.load_state_dict(load_file(str(target)), strict=True)
    elif fmt == "pt":
        twin.load_state_dict(torch.load(target, weights_only=True), strict=True)
    elif fmt == "pt2":
        with torch.no_grad():
            return torch.export.load(str(target)).module()(x)
    elif fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
        return torch.from_numpy(session.run(None, {"input": x.numpy()})[0])
    with torch.no_grad():
        return twin(x)


@settings(max_examples=LIGHT_EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(hostile_files(), st.integers(0, 2**16))
def test_accepted_designs_pass_validate_train_and_the_weight_and_code_exports(tmp_path_factory, case, seed):
    design, data = case
    folder = tmp_path_factory.mktemp("fuzz")
    _write_data(design, folder, seed)
    _through_every_stage(folder, data, ("safetensors", "pt", "python"))


@settings(max_examples=HEAVY_EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(hostile_files(), st.integers(0, 2**16))
def test_accepted_designs_pass_the_traced_exports_too(tmp_path_factory, case, seed):
    pytest.importorskip("onnxscript")
    pytest.importorskip("onnxruntime")
    design, data = case
    folder = tmp_path_factory.mktemp("fuzz")
    _write_data(design, folder, seed)
    _through_every_stage(folder, data, ("pt2", "onnx"))


def _renamed(data: dict[str, Any], index: int, name: str) -> dict[str, Any]:
    out = json.loads(json.dumps(data))
    out["layers"][index]["name"] = name
    return out


def test_every_tricky_name_and_text_is_refused_or_works_in_every_stage(tmp_path: Path) -> None:
    """The adversarial corpus, deterministically: each name alone is refused by the loader or accepted; the
    accepted ones together name the layers of one design, and the accepted texts its name and description,
    which then goes through every stage."""
    from nnstudio.io import loads

    depth = len(TRICKY_NAMES)
    chain = Design("chain")
    last = chain.add_layer("Input", params={"features": 3}).id
    for _ in range(depth):
        layer = chain.add_layer("Dense", params={"units": 3, "activation": "tanh"})
        chain.connect(last, layer.id)
        last = layer.id
    out = chain.add_layer("Output", params={"task": "binary", "units": 1})
    chain.connect(last, out.id)
    chain.set_dataset(source="npz", path="data.npz")
    chain.set_training(epochs=1, batch_size=8, device="cpu")
    data = json.loads(dumps(chain))
    accepted = []
    for name in TRICKY_NAMES:
        try:
            loads(json.dumps(_renamed(data, 1, name)))
        except FormatError:
            continue
        accepted.append(name)
    assert {"__h", "_parameters", "x", "fc1\n", "fc²"}.isdisjoint(accepted)
    assert {"input", "output", "weight", "load_model", "DESIGN_NAME"} <= set(accepted)
    for index, name in enumerate(accepted, start=1):
        data["layers"][index]["name"] = name
    texts = []
    for piece in NASTY:
        try:
            loads(json.dumps(dict(data, name=f"n{piece}", description=f"d{piece}")))
        except FormatError:
            continue
        texts.append(piece)
    assert {"\ud800", "\x1b[2J", "\x00", "\x9b", "\u202e"}.isdisjoint(texts) and {"'", '"""', "\\"} <= set(texts)
    data["name"] = "".join(t for t in texts if t not in "\n\t\r")
    data["description"] = "".join(texts)
    _write_data(chain, tmp_path, 0)
    formats: tuple[str, ...] = ("safetensors", "pt", "python")  # PT2 is traced by the test above
    if importlib.util.find_spec("onnxscript") and importlib.util.find_spec("onnxruntime"):
        formats += ("onnx",)  # ONNX node names come from layer names: 'input' and 'output' must not clash
    _through_every_stage(tmp_path, data, formats, must_accept=True)
