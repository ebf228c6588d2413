"""ONNX / PyTorch import: models built in plain torch and exported by torch itself come back as designs whose
outputs match onnxruntime's on the original file, train, and export again; NN Studio's own exports round-trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from torch import nn

from nnstudio.core.document import Design
from nnstudio.core.inference import infer
from nnstudio.io import load_design
from nnstudio.ml.builder import build_model, contributing_layers
from nnstudio.ml.importers import ModelImportError, import_model, import_module

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from test_builder import designs as buildable_designs  # noqa: E402
from test_export_designs import BUILT, EXAMPLE_NAMES, EXAMPLES, trained_like  # noqa: E402

from nnstudio.ml.export import export_onnx  # noqa: E402


def torch_export(module: nn.Module, example: torch.Tensor, path: Path) -> Path:
    """The way a practitioner exports: torch.onnx.export, dynamic batch, nothing from NN Studio."""
    module.eval()
    torch.onnx.export(module, (example,), str(path), dynamo=True, input_names=["x"], output_names=["y"],
                      dynamic_shapes=({0: torch.export.Dim("batch", min=1)},))
    return path


def cnn() -> nn.Sequential:
    torch.manual_seed(1)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3),
                         nn.BatchNorm2d(6), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(6, 12),
                         nn.ReLU(), nn.Dropout(0.3), nn.Linear(12, 3), nn.Softmax(dim=1))


def mlp() -> nn.Sequential:
    torch.manual_seed(2)
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 8), nn.GELU(), nn.Linear(8, 1))


def run_onnx(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


@pytest.mark.parametrize("make, shape, task", [(cnn, (1, 10, 10), "multiclass"), (mlp, (5,), "regression")])
def test_a_torch_model_exported_by_torch_imports_reproduces_trains_and_exports_again(
        make, shape, task, tmp_path: Path) -> None:
    module = make()
    path = torch_export(module, torch.randn(2, *shape), tmp_path / "model.onnx")
    imported = import_model(path)
    design = imported.design
    types = [layer.type for layer in design.layers.values()]
    assert types[0] == "Input" and types[-1] == "Output" and "Activation" not in types
    output = next(layer for layer in design.layers.values() if layer.type == "Output")
    assert output.params["task"] == task
    model = build_model(design)
    model.load_state_dict(imported.state_dict, strict=True)
    model.eval()
    x = np.random.default_rng(0).standard_normal((7, *shape)).astype(np.float32)
    ours = model.predict(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(ours, run_onnx(path, x), atol=1e-5, rtol=0)
    with torch.no_grad():  # and against the torch module itself
        np.testing.assert_allclose(ours, module(torch.from_numpy(x)).numpy(), atol=1e-5, rtol=0)

    # One epoch on random data through the real trainer's optimiser step changes the weights.
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    xs = torch.randn(32, *shape)
    ys = torch.randint(0, 3, (32,)) if task == "multiclass" else torch.randn(32, 1)
    loss_fn = nn.CrossEntropyLoss() if task == "multiclass" else nn.MSELoss()
    for i in range(0, 32, 8):
        optimizer.zero_grad()
        loss = loss_fn(model(xs[i:i + 8]), ys[i:i + 8])
        loss.backward()
        optimizer.step()
    assert torch.isfinite(loss)
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
    again = export_onnx(model, design, tmp_path / "again.onnx")
    model.eval()
    raw = model(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(run_onnx(again, x), raw, atol=1e-5, rtol=0)


def test_layer_names_come_from_the_modules_and_are_valid(tmp_path: Path) -> None:
    path = torch_export(mlp(), torch.randn(2, 5), tmp_path / "mlp.onnx")
    names = [layer.name for layer in import_model(path).design.layers.values()]
    assert names == ["x_layer", "dense_0", "dense_2", "output_4"]  # nn.Sequential indices, made valid
    assert all(name.isidentifier() for name in names)


def test_import_module_takes_a_live_module() -> None:
    module = mlp()
    imported = import_module(module, torch.randn(4, 5))
    model = build_model(imported.design)
    model.load_state_dict(imported.state_dict, strict=True)
    x = torch.randn(6, 5)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), module(x), atol=1e-5, rtol=0)
    import nnstudio

    assert nnstudio.import_module is import_module


def test_a_pt2_program_imports(tmp_path: Path) -> None:
    module = cnn().eval()
    example = torch.randn(2, 1, 10, 10)
    program = torch.export.export(module, (example,), dynamic_shapes=({0: torch.export.Dim("batch", min=1)},))
    torch.export.save(program, str(tmp_path / "cnn.pt2"))
    imported = import_model(tmp_path / "cnn.pt2")
    model = build_model(imported.design)
    model.load_state_dict(imported.state_dict, strict=True)
    with torch.no_grad():
        torch.testing.assert_close(model.eval().predict(example), module(example), atol=1e-5, rtol=0)


# ---- unsupported ops: the report names the node; nothing half-built ------------------------------------------

class WithUnsupported(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 6)
        self.fc2 = nn.Linear(6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.cumsum(torch.relu(self.fc1(x)), dim=1))


def test_an_unsupported_op_is_reported_by_node_name_and_nothing_is_written(tmp_path: Path) -> None:
    path = torch_export(WithUnsupported(), torch.randn(2, 4), tmp_path / "odd.onnx")
    before = sorted(p.name for p in tmp_path.iterdir())  # the model (and its external-data file)
    node = next(n for n in onnx.load(str(path)).graph.node if n.op_type == "CumSum")
    with pytest.raises(ModelImportError) as caught:
        import_model(path)
    report = caught.value.report
    assert [(u.node, u.op_type) for u in report.unsupported] == [(node.name, "CumSum")]
    assert node.name in str(caught.value) and "CumSum" in str(caught.value)
    from nnstudio.cli import main

    assert main(["import", str(path), "-o", str(tmp_path / "odd.nnstudio")]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_prefix_imports_the_supported_part_with_a_fresh_head(tmp_path: Path) -> None:
    path = torch_export(WithUnsupported(), torch.randn(2, 4), tmp_path / "odd.onnx")
    imported = import_model(path, prefix=True)
    layers = list(imported.design.layers.values())
    assert [(layer.type, layer.params.get("activation")) for layer in layers] == [
        ("Input", None), ("Dense", "relu"), ("Output", None)]
    assert imported.report.unsupported and any("fresh weights" in n for n in imported.report.notes)
    assert infer(imported.design).ok
    from nnstudio.cli import main

    assert main(["import", str(path), "-o", str(tmp_path / "odd.nnstudio"), "--prefix"]) == 0
    assert (tmp_path / "odd.safetensors").is_file() and load_design(tmp_path / "odd.nnstudio").layers


def test_cli_writes_a_laid_out_design_whose_checkpoint_holds_the_weights(tmp_path: Path) -> None:
    from nnstudio.cli import main
    from nnstudio.ml.checkpoint import load_checkpoint

    module = mlp()
    path = torch_export(module, torch.randn(2, 5), tmp_path / "mlp.onnx")
    assert main(["import", str(path), "-o", str(tmp_path / "mlp.nnstudio")]) == 0
    design = load_design(tmp_path / "mlp.nnstudio")
    assert len({layer.position for layer in design.layers.values()}) == len(design.layers)
    checkpoint = load_checkpoint(tmp_path / "mlp.safetensors")
    model = build_model(checkpoint.design)
    model.load_state_dict(checkpoint.state_dict, strict=True)
    x = torch.randn(3, 5)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), module(x), atol=1e-5, rtol=0)


# ---- round trips of NN Studio's own exports ------------------------------------------------------------------

def canonical(design: Design) -> dict[str, tuple]:
    """What an inference graph keeps of a design: the contributing layers without Dropout and identity
    Activations (which export to nothing), Reshape targets resolved, the Input under one name."""
    keep = contributing_layers(design)
    result = infer(design)
    skip = {lid for lid in keep if design.layers[lid].type == "Dropout" or (
        design.layers[lid].type == "Activation" and design.layers[lid].params["function"] == "identity")}

    def source(lid: str) -> str:
        while lid in skip:
            lid = design.inputs_of(lid)[0]
        layer = design.layers[lid]
        return "<input>" if layer.type == "Input" else layer.name

    out = {}
    for lid in keep - skip:
        layer = design.layers[lid]
        params = dict(layer.params)
        if layer.type == "Reshape":
            params["shape"] = result.shapes[lid]
        if layer.type == "BatchNorm":
            params["momentum"] = round(params["momentum"], 5)
        name = "<input>" if layer.type == "Input" else layer.name
        out[name] = (layer.type, tuple(sorted(params.items())), tuple(source(s) for s in design.inputs_of(lid)))
    return out


def round_trip(design: Design, tmp_path: Path) -> None:
    model = trained_like(design)
    path = export_onnx(model, design, tmp_path / "design.onnx")
    imported = import_model(path)
    assert canonical(imported.design) == canonical(design)
    names = {d.layers[lid].name for d in (design,) for lid in contributing_layers(d)}
    original = {k: v for k, v in model.state_dict().items()
                if k.split(".")[0] in names and not k.endswith("num_batches_tracked")}
    ours = {k: v for k, v in imported.state_dict.items() if not k.endswith("num_batches_tracked")}
    assert set(ours) == set(original)
    for key, value in original.items():
        torch.testing.assert_close(ours[key], value, atol=0, rtol=0)
    rebuilt = build_model(imported.design)
    rebuilt.load_state_dict(imported.state_dict, strict=True)
    x = torch.randn(3, *model.input_shape)
    np.testing.assert_allclose(rebuilt.eval()(x).detach().numpy(), run_onnx(path, x.numpy()), atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_example_round_trips_through_onnx(name: str, tmp_path: Path) -> None:
    round_trip(load_design(EXAMPLES / f"{name}.nnstudio"), tmp_path)


@pytest.mark.parametrize("case", sorted(BUILT))
def test_every_layer_type_and_activation_round_trips_through_onnx(case: str, tmp_path: Path) -> None:
    round_trip(BUILT[case](), tmp_path)  # every activation as a Dense's and as an Activation block


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(buildable_designs())
def test_random_designs_round_trip_through_onnx(tmp_path: Path, design: Design) -> None:
    for _type, _params, sources in canonical(design).values():
        # Add(x, dropout(x)) is Add(x, x) in an inference graph, which no design can hold
        assume(len(set(sources)) == len(sources))
    for lid, layer in design.layers.items():
        # torch's ONNX exporter folds relu(relu(x)) into one Relu: the graph cannot tell the two layers apart
        if layer.type == "Activation" and layer.params["function"] == "relu":
            before = design.layers[design.inputs_of(lid)[0]] if design.inputs_of(lid) else None
            assume(before is None or before.params.get("activation", before.params.get("function")) != "relu")
    round_trip(design, tmp_path)
