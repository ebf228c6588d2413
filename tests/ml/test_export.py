"""Exporters: every format reloads elsewhere and gives the app's outputs; failures are clear and leave old
files whole; the export command refuses hostile checkpoints without running anything from them."""

from __future__ import annotations

import errno
import importlib.util
import json
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nnstudio.core.errors import ExportError, NNStudioError
from nnstudio.ml import export
from nnstudio.ml.builder import build_model
from nnstudio.ml.export import (
    EXPORT_FORMATS,
    export_cli,
    export_onnx,
    export_pt2,
    export_python,
    export_safetensors,
    export_state_dict,
)

try:
    from test_export_designs import CASES, circle, input_to_output, inputs_for, load_case, trained_like
except ImportError:  # tests/ml became a package
    from .test_export_designs import CASES, circle, input_to_output, inputs_for, load_case, trained_like

TOLERANCE = 1e-5
BATCHES = (1, 7)
HAS_CHECKPOINT = importlib.util.find_spec("nnstudio.ml.checkpoint") is not None
needs_checkpoint = pytest.mark.skipif(not HAS_CHECKPOINT, reason="nnstudio.ml.checkpoint is not written yet")


def _max_diff(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> float:
    a = a.detach().numpy() if isinstance(a, torch.Tensor) else a
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else b
    assert a.shape == b.shape
    return float(np.abs(a - b).max())


@pytest.fixture(params=CASES)
def case(request: pytest.FixtureRequest):
    design = load_case(request.param)
    return design, trained_like(design)


# ---- each format reloads and matches ------------------------------------------------------------------------

def test_onnx_matches_the_model_at_two_batch_sizes(case, tmp_path: Path) -> None:
    import onnxruntime as ort

    design, model = case
    path = export_onnx(model, design, tmp_path / "model.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]  # one file, no leftovers
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,), (out,) = session.get_inputs(), session.get_outputs()
    assert (inp.name, out.name) == ("input", "output")
    assert isinstance(inp.shape[0], str) and isinstance(out.shape[0], str)  # a symbolic (dynamic) batch
    for batch in BATCHES:
        x = inputs_for(model, batch, seed=batch)
        (got,) = session.run(None, {"input": x.numpy()})
        with torch.no_grad():
            assert _max_diff(got, model(x)) <= TOLERANCE


def test_pt2_program_reloads_and_matches(case, tmp_path: Path) -> None:
    from nnstudio.io import loads

    design, model = case
    path = export_pt2(model, design, tmp_path / "model.pt2")
    extra = {export.PT2_DESIGN_FILE: ""}
    program = torch.export.load(str(path), extra_files=extra).module()
    for batch in BATCHES:  # batch 1 works although tracing used 2: the batch was not specialised
        x = inputs_for(model, batch, seed=batch)
        with torch.no_grad():
            assert _max_diff(program(x), model(x)) <= TOLERANCE
    assert loads(extra[export.PT2_DESIGN_FILE]).same_content(design)


def test_state_dict_loads_with_weights_only_and_strict(case, tmp_path: Path) -> None:
    design, model = case
    path = export_state_dict(model, design, tmp_path / "weights.pt")
    state = torch.load(path, weights_only=True)
    assert all(t.device.type == "cpu" for t in state.values())
    fresh = build_model(design).eval()
    fresh.load_state_dict(state, strict=True)
    x = inputs_for(model, 5, seed=0)
    with torch.no_grad():
        assert torch.equal(fresh(x), model(x))


def test_safetensors_hold_the_weights_and_the_design(case, tmp_path: Path) -> None:
    from safetensors import safe_open
    from safetensors.torch import load_file

    from nnstudio.io import loads

    design, model = case
    path = export_safetensors(model, design, tmp_path / "weights.safetensors")
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    assert loads(metadata[export.DESIGN_METADATA_KEY]).same_content(design)
    fresh = build_model(design).eval()
    fresh.load_state_dict(load_file(str(path)), strict=True)
    x = inputs_for(model, 5, seed=0)
    with torch.no_grad():
        assert torch.equal(fresh(x), model(x))


# ---- what the exporters promise besides the file -----------------------------------------------------------

def test_exporting_leaves_the_callers_model_as_it_was(tmp_path: Path) -> None:
    design = circle()
    model = build_model(design).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    export_pt2(model, design, tmp_path / "m.pt2")
    export_state_dict(model, design, tmp_path / "m.pt")
    assert model.training
    assert all(p.requires_grad for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_a_model_that_does_not_fit_the_design_is_refused(tmp_path: Path) -> None:
    model = build_model(circle())
    with pytest.raises(ExportError, match="do not fit the design"):
        export_state_dict(model, input_to_output(), tmp_path / "w.pt")
    assert not list(tmp_path.iterdir())


def test_a_failed_export_keeps_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    design = circle()
    model = build_model(design)
    target = tmp_path / "weights.pt"
    target.write_bytes(b"the previous export")

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(ExportError, match="disk is full"):
        export_state_dict(model, design, target)
    assert target.read_bytes() == b"the previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["weights.pt"]  # no temporary files left behind


def test_export_paths_that_cannot_work_are_explained(tmp_path: Path) -> None:
    design = circle()
    model = build_model(design)
    with pytest.raises(ExportError, match="does not exist"):
        export_onnx(model, design, tmp_path / "missing" / "m.onnx")
    with pytest.raises(ExportError, match="is a folder"):
        export_safetensors(model, design, tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError, match="is a file"):
        export_python(model, design, tmp_path / "file")


def test_onnx_without_onnxscript_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # makes `import onnxscript` fail
    design = circle()
    with pytest.raises(ExportError, match="pip install"):
        export_onnx(build_model(design), design, tmp_path / "m.onnx")


def test_every_cli_format_has_an_exporter() -> None:
    assert set(EXPORT_FORMATS) == {"onnx", "safetensors", "pt", "pt2", "python"}
    assert EXPORT_FORMATS["python"].is_folder and not EXPORT_FORMATS["onnx"].is_folder
    with pytest.raises(ExportError, match="unknown export format"):
        export.export_model(build_model(circle()), circle(), "keras", "x")


# ---- the export command, from a checkpoint -----------------------------------------------------------------

def _checkpoint(path: Path):
    from nnstudio.ml.checkpoint import save_checkpoint

    design = circle()
    model = trained_like(design, seed=4)
    save_checkpoint(path, model, design, {"epoch": 3})
    return design, model


@needs_checkpoint
def test_export_command_writes_every_format_from_a_checkpoint(tmp_path: Path, capsys) -> None:
    import onnxruntime as ort

    from nnstudio.cli import main

    design, model = _checkpoint(tmp_path / "run.safetensors")
    x = inputs_for(model, 6, seed=1)
    with torch.no_grad():
        expected = model(x)
    outputs = {"onnx": "m.onnx", "safetensors": "m.safetensors", "pt": "m.pt", "pt2": "m.pt2", "python": "py"}
    for fmt, name in outputs.items():
        assert main(["export", str(tmp_path / "run.safetensors"), "--format", fmt, "-o", str(tmp_path / name)]) == 0
        assert f"wrote {tmp_path / name}" in capsys.readouterr().out
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    assert _max_diff(session.run(None, {"input": x.numpy()})[0], expected) <= TOLERANCE
    fresh = build_model(design).eval()
    fresh.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True), strict=True)
    assert _max_diff(fresh(x), expected) == 0
    assert _max_diff(torch.export.load(str(tmp_path / "m.pt2")).module()(x), expected) <= TOLERANCE
    assert sorted(p.name for p in (tmp_path / "py").iterdir()) == sorted(export.PYTHON_FILES)


class _MakesAFile:
    """Unpickling this creates `marker`: proof that a loader ran code from the file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _hostile_files(folder: Path, marker: Path) -> dict[str, Path]:
    files = {}
    files["raw pickle"] = folder / "pickle.safetensors"
    files["raw pickle"].write_bytes(pickle.dumps({"weights": _MakesAFile(marker)}))
    files["torch.save pickle"] = folder / "torchsave.safetensors"
    torch.save({"fc1.weight": _MakesAFile(marker)}, files["torch.save pickle"])
    if HAS_CHECKPOINT:
        good = folder / "good.safetensors"
        _checkpoint(good)
        data = good.read_bytes()
        files["truncated header"] = folder / "truncated.safetensors"
        files["truncated header"].write_bytes(data[: len(data) // 2])
        files["truncated tensors"] = folder / "short.safetensors"
        files["truncated tensors"].write_bytes(data[:-16])
        (header_size,) = struct.unpack("<Q", data[:8])
        broken = bytearray(data)
        broken[8: 8 + header_size] = b"{" + b"\x00" * (header_size - 2) + b"}"
        files["corrupted header"] = folder / "header.safetensors"
        files["corrupted header"].write_bytes(bytes(broken))
        files["huge header length"] = folder / "huge.safetensors"
        files["huge header length"].write_bytes(struct.pack("<Q", 2**62) + data[8:])
        files["not json header"] = folder / "notjson.safetensors"
        files["not json header"].write_bytes(data[:8] + b"\xff" * header_size + data[8 + header_size:])
    files["empty"] = folder / "empty.safetensors"
    files["empty"].write_bytes(b"")
    return files


@needs_checkpoint
def test_export_command_refuses_hostile_and_broken_checkpoints(tmp_path: Path, capsys) -> None:
    from nnstudio.cli import main

    marker = tmp_path / "marker"
    with pytest.raises(FileNotFoundError):
        pickle.loads(pickle.dumps(_MakesAFile(tmp_path / "no" / "folder")))  # the payload really runs
    for what, path in _hostile_files(tmp_path, marker).items():
        with pytest.raises(NNStudioError) as info:
            export_cli(path, "onnx", tmp_path / f"{path.stem}.onnx")
        message = str(info.value)
        assert message and "\n" not in message and len(message) < 500, what
        assert main(["export", str(path), "--format", "pt", "-o", str(tmp_path / "out.pt")]) == 2, what
        err = capsys.readouterr().err
        assert err.startswith("nnstudio export:") and err.count("\n") == 1 and "Traceback" not in err, what
        assert not marker.exists(), f"{what}: loading ran code from the file"
    assert not list(tmp_path.glob("*.onnx")) and not (tmp_path / "out.pt").exists()
    # Once as a user runs it: a separate process, exit status 2, one line, no traceback.
    result = subprocess.run([sys.executable, "-m", "nnstudio", "export", str(tmp_path / "pickle.safetensors"),
                             "--format", "onnx", "-o", str(tmp_path / "x.onnx")],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "pickle" in result.stderr
    assert not marker.exists() and not (tmp_path / "x.onnx").exists()


@needs_checkpoint
def test_export_command_refuses_weights_that_do_not_fit_the_design(tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    path = tmp_path / "run.safetensors"
    _checkpoint(path)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    tensors = load_file(str(path))
    name = next(k for k in tensors if k.endswith("fc1.weight"))
    tensors[name] = torch.zeros(3, 3)
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(NNStudioError):
        export_cli(path, "pt", tmp_path / "out.pt")
    assert not (tmp_path / "out.pt").exists()


def test_export_command_rejects_an_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="unknown export format"):
        export_cli(tmp_path / "whatever.safetensors", "tflite", tmp_path / "x")


def test_exported_onnx_carries_the_design(tmp_path: Path) -> None:
    import onnx

    from nnstudio.io import loads

    design = circle()
    path = export_onnx(build_model(design), design, tmp_path / "m.onnx")
    proto = onnx.load(str(path))
    props = {p.key: p.value for p in proto.metadata_props}
    assert loads(props[export.DESIGN_METADATA_KEY]).same_content(design)
    assert proto.producer_name == "NN Studio"
    assert max(op.version for op in proto.opset_import if op.domain in ("", "ai.onnx")) == export.ONNX_OPSET
    json.loads(props[export.DESIGN_METADATA_KEY])
    assert os.path.getsize(path) > 0


def test_wrapped_models_export_under_their_layer_names(tmp_path: Path) -> None:
    design = circle()
    model = trained_like(design)
    compiled = torch.compile(model)  # compiles lazily: wrapping costs nothing until it is called
    assert next(iter(compiled.state_dict())).startswith("_orig_mod.")
    state = torch.load(export_state_dict(compiled, design, tmp_path / "w.pt"), weights_only=True)
    assert set(state) == set(model.state_dict())
    program = torch.export.load(str(export_pt2(compiled, design, tmp_path / "m.pt2"))).module()
    x = inputs_for(model, 3, seed=0)
    with torch.no_grad():
        assert _max_diff(program(x), model(x)) <= TOLERANCE
