"""Malformed and hostile ONNX files are refused with one clear line, before their tensors are allocated."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from nnstudio.ml.importers import ModelImportError, import_model  # noqa: E402


def dense_model(weight: TensorProto | None = None, nodes: list | None = None,
                inputs: list | None = None) -> onnx.ModelProto:
    """x(batch, 3) → Gemm(W 2×3, transB) → y: the smallest importable model, with parts to replace."""
    w = weight if weight is not None else numpy_helper.from_array(np.ones((2, 3), np.float32), "W")
    graph = helper.make_graph(
        nodes or [helper.make_node("Gemm", ["x", "W"], ["y"], name="fc", transB=1)], "g",
        inputs or [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def save(model: onnx.ModelProto, path: Path) -> Path:
    path.write_bytes(model.SerializeToString())
    return path


def refused(path: Path, *words: str) -> str:
    with pytest.raises(ModelImportError) as caught:
        import_model(path)
    message = str(caught.value)
    for word in words:
        assert word in message, message
    return message


def test_the_smallest_model_imports(tmp_path: Path) -> None:
    imported = import_model(save(dense_model(), tmp_path / "ok.onnx"))
    assert [layer.type for layer in imported.design.layers.values()] == ["Input", "Output"]
    assert imported.state_dict["fc.weight"].shape == (2, 3)


def test_truncated_and_garbage_files_are_refused(tmp_path: Path) -> None:
    data = dense_model().SerializeToString()
    (tmp_path / "cut.onnx").write_bytes(data[: len(data) // 2])
    refused(tmp_path / "cut.onnx", "cut.onnx")
    (tmp_path / "junk.onnx").write_bytes(os.urandom(64))
    refused(tmp_path / "junk.onnx", "junk.onnx")
    (tmp_path / "empty.onnx").write_bytes(b"")
    refused(tmp_path / "empty.onnx", "no ONNX graph")


def test_a_huge_initialiser_is_refused_from_its_dims(tmp_path: Path) -> None:
    # 10⁶ × 10⁶ floats declared, 4 bytes stored: refused from the dims, nothing of 4 TB allocated
    huge = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[10**6, 10**6], raw_data=b"\0\0\0\0")
    refused(save(dense_model(huge), tmp_path / "huge.onnx"), "initializer 'W'", "declares")
    lying = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[2, 3], float_data=[1.0])  # 6 declared, 1 stored
    refused(save(dense_model(lying), tmp_path / "lying.onnx"), "declares 6 values but stores 1")


def external(location: str) -> TensorProto:
    tensor = helper.make_tensor("W", TensorProto.FLOAT, [2, 3], [0.0] * 6)
    tensor.ClearField("float_data")
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", "24")):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    return tensor


def test_external_data_must_stay_inside_the_models_folder(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.ones(6, np.float32).tobytes())
    refused(save(dense_model(external("../secret.bin")), folder / "up.onnx"), "outside the model's folder")
    refused(save(dense_model(external(str(secret))), folder / "abs.onnx"), "beside the model")
    (folder / "link.bin").symlink_to(secret)
    refused(save(dense_model(external("link.bin")), folder / "link.onnx"), "outside the model's folder")
    refused(save(dense_model(external("missing.bin")), folder / "missing.onnx"), "missing")
    (folder / "short.bin").write_bytes(b"\0" * 8)
    refused(save(dense_model(external("short.bin")), folder / "short.onnx"), "too short")
    (folder / "w.bin").write_bytes(np.arange(6, dtype=np.float32).tobytes())
    imported = import_model(save(dense_model(external("w.bin")), folder / "good.onnx"))
    assert imported.state_dict["fc.weight"].flatten().tolist() == [0, 1, 2, 3, 4, 5]


def test_a_cycle_is_refused_naming_a_node_on_it(tmp_path: Path) -> None:
    nodes = [helper.make_node("Add", ["x", "b"], ["a"], name="first"),
             helper.make_node("Relu", ["a"], ["b"], name="second"),
             helper.make_node("Gemm", ["b", "W"], ["y"], name="fc", transB=1)]
    refused(save(dense_model(nodes=nodes), tmp_path / "cycle.onnx"), "cycle through node")


def test_inputs_nn_studio_cannot_take_are_refused(tmp_path: Path) -> None:
    two = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3]),
           helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 3])]
    refused(save(dense_model(inputs=two), tmp_path / "two.onnx"), "takes 2 inputs")
    dynamic = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "features"])]
    refused(save(dense_model(inputs=dynamic), tmp_path / "dyn.onnx"), "fixed sizes")
    refused(tmp_path / "nothing.onnx", "could not read")


def test_the_cli_prints_one_line_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nnstudio.cli import main

    (tmp_path / "junk.onnx").write_bytes(b"\x08\x07garbage")
    assert main(["import", str(tmp_path / "junk.onnx"), "-o", str(tmp_path / "out.nnstudio")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnstudio import: ") and "Traceback" not in err
    assert main(["import", str(tmp_path / "model.h5"), "-o", str(tmp_path / "out.nnstudio")]) == 2
    assert not (tmp_path / "out.nnstudio").exists() and not (tmp_path / "out.safetensors").exists()
