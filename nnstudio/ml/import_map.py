"""Which ONNX op types and torch.fx targets map onto each layer type (the import entry of the layer-type registry).

An importer of ONNX or PyTorch models (issue 17) reads these tables the other way round: a graph node of
op type `Conv` or an fx `call_module` on `torch.nn.Conv1d` becomes the layer type registered for it.
Today the tables are checked in one direction: every op NN Studio's own ONNX export writes for a design
is one registered for the design's layer types and activations (tests/ml/test_layer_registry.py).
fx targets are written as qualified names, so nothing is imported to read them.
"""

from __future__ import annotations

from dataclasses import dataclass

from nnstudio.core.catalogue import ACTIVATIONS
from nnstudio.core.registry import LayerRegistry


@dataclass(frozen=True)
class ImportOps:
    """`onnx`: op types an exported layer becomes (the first is the one that identifies it; the others can
    accompany it); `fx`: torch.fx `call_module` classes or `call_function` / `call_method` targets."""

    onnx: tuple[str, ...]
    fx: tuple[str, ...]


IMPORT_OPS: LayerRegistry[ImportOps] = LayerRegistry("the ONNX / fx import map")

IMPORT_OPS.add("Input", ImportOps((), ()))  # the graph input itself
IMPORT_OPS.add("Output", ImportOps(("Gemm", "MatMul", "Add"), ("torch.nn.Linear",)))
IMPORT_OPS.add("Dense", ImportOps(("Gemm", "MatMul", "Add"), ("torch.nn.Linear",)))
IMPORT_OPS.add("Conv2d", ImportOps(("Conv",), ("torch.nn.Conv2d",)))
IMPORT_OPS.add("Conv1d", ImportOps(("Conv",), ("torch.nn.Conv1d",)))
IMPORT_OPS.add("MaxPool2d", ImportOps(("MaxPool",), ("torch.nn.MaxPool2d",)))
IMPORT_OPS.add("AvgPool2d", ImportOps(("AveragePool",), ("torch.nn.AvgPool2d",)))
IMPORT_OPS.add("GlobalAvgPool2d", ImportOps(("ReduceMean", "GlobalAveragePool", "Flatten"),
                                            ("torch.mean", "mean", "torch.nn.AdaptiveAvgPool2d")))
IMPORT_OPS.add("Reshape", ImportOps(("Reshape",), ("reshape", "view", "torch.reshape")))
IMPORT_OPS.add("Flatten", ImportOps(("Flatten", "Reshape"), ("torch.flatten", "torch.nn.Flatten")))
IMPORT_OPS.add("Dropout", ImportOps((), ("torch.nn.Dropout",)))  # an exported (eval) model drops nothing
IMPORT_OPS.add("BatchNorm", ImportOps(("BatchNormalization",), ("torch.nn.BatchNorm1d", "torch.nn.BatchNorm2d")))
IMPORT_OPS.add("Activation", ImportOps((), ()))  # its ops are its function's, below
IMPORT_OPS.add("Add", ImportOps(("Add",), ("operator.add", "torch.add")))
IMPORT_OPS.add("Concatenate", ImportOps(("Concat",), ("torch.cat",)))

# Ops an activation function exports to (after a Dense / Conv layer, or as an Activation layer).
ACTIVATION_ONNX: dict[str, tuple[str, ...]] = {
    "identity": (),
    "relu": ("Relu",),
    "leaky_relu": ("LeakyRelu",),
    "elu": ("Elu",),
    "gelu": ("Gelu", "Div", "Erf", "Add", "Mul"),  # exact GELU: x·(1 + erf(x/√2))/2
    "tanh": ("Tanh",),
    "sigmoid": ("Sigmoid",),
    "softplus": ("Softplus", "Mul", "Greater", "Where"),  # torch's threshold: x where βx > 20
    "sine": ("Sin",),
}
if set(ACTIVATION_ONNX) != set(ACTIVATIONS):  # pragma: no cover - a new activation needs its ops here
    raise ImportError("nnstudio.ml.import_map: ACTIVATION_ONNX does not list every activation")
