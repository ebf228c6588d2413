"""The layer-type registry: every catalogue type has an entry per ml concern (torch module, generated code,
ONNX / fx import map), and the ONNX ops NN Studio's exporter writes are the ones the import map registers."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnstudio.core.catalogue import LAYER_TYPES, layer_activation
from nnstudio.core.registry import LayerRegistry
from nnstudio.ml.builder import BUILDERS
from nnstudio.ml.codegen_layers import CODE_WRITERS
from nnstudio.ml.import_map import ACTIVATION_ONNX, IMPORT_OPS

try:
    from test_export_designs import BUILT, trained_like
except ImportError:  # tests/ml became a package
    from .test_export_designs import BUILT, trained_like


@pytest.mark.parametrize("registry", [BUILDERS, CODE_WRITERS, IMPORT_OPS], ids=lambda r: r.concern)
def test_every_layer_type_has_an_entry_for_every_ml_concern(registry: LayerRegistry) -> None:
    assert registry.missing() == []
    assert set(registry) == set(LAYER_TYPES)


def test_a_registry_refuses_unknown_and_duplicate_types() -> None:
    table: LayerRegistry[int] = LayerRegistry("a test table")
    table.add("Dense", 1)
    with pytest.raises(ValueError, match="registered twice"):
        table.add("Dense", 2)
    with pytest.raises(ValueError, match="not a layer type"):
        table.register("Dense2")
    with pytest.raises(KeyError, match="a test table has no entry for layer type 'Conv2d'"):
        table["Conv2d"]
    assert "Dense" in table and table.get("Conv2d") is None and "Conv2d" in table.missing()


@pytest.mark.parametrize("case", sorted(BUILT))
def test_exported_onnx_ops_are_the_ones_the_import_map_registers(case: str, tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    from nnstudio.ml.builder import contributing_layers
    from nnstudio.ml.export import export_onnx

    design = BUILT[case]()
    path = export_onnx(trained_like(design), design, tmp_path / "m.onnx")
    exported = {node.op_type for node in onnx.load(path).graph.node}
    allowed: set[str] = set()
    identifying: set[str] = set()
    for lid in contributing_layers(design):
        layer = design.layers[lid]
        ops = IMPORT_OPS[layer.type].onnx
        allowed.update(ops)
        if layer.type != "Activation":  # an Activation block's ops are its function's (ACTIVATION_ONNX)
            identifying.update(ops[:1])
        activation = layer_activation(layer.type, layer.params)
        if layer.type != "Output" and activation is not None:
            allowed.update(ACTIVATION_ONNX[activation])
    assert exported <= allowed, f"ops without a registered layer type: {sorted(exported - allowed)}"
    # Each layer type's identifying op is really there (a Flatten is exported as a Reshape; an inference
    # graph holds no Dropout).
    assert identifying - {"Flatten", "Dropout"} <= exported
