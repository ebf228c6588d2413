"""Which ONNX ops and torch.fx targets become each layer type, and how (the import entry of the layer-type registry).

Each entry names the ONNX op types an exported layer becomes (the first identifies it; the others can
accompany it) and the torch.fx targets, plus the converter the importer calls: `from_onnx` turns one
graph node (seen through `OnnxSite`) into a `LayerDraft`. A converter that does not apply raises
`NotMapped` with the reason the import report shows. The importers (`nnstudio/ml/importers/`) only look
converters up here: no switch on op types elsewhere.
fx targets are written as qualified names, so nothing is imported to read them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from nnstudio.core.catalogue import ACTIVATIONS, Shape
from nnstudio.core.registry import LayerRegistry


class NotMapped(Exception):
    """A converter cannot map this node; the message is the reason shown in the import report."""


@dataclass(frozen=True)
class OnnxNode:
    """One ONNX graph node as the importer reads it (attributes decoded to Python values)."""

    op_type: str
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: dict[str, Any] = field(default_factory=dict, compare=False)
    scope: tuple[str, ...] = ()  # module path from the torch exporter's metadata ("fc1"), if any
    classes: tuple[str, ...] = ()  # its module classes, outermost first


class OnnxSite(Protocol):
    """A node in its graph: the converter's view (implemented by the ONNX importer)."""

    node: OnnxNode
    in_shape: Shape  # shape (without batch) of the node's first tensor input
    task_hint: str | None  # the Output task a file's NN Studio metadata names, if any

    def const(self, value: str) -> np.ndarray | None: ...  # a constant (initializer / Constant) or None
    def consumers(self, value: str) -> list[OnnxNode]: ...
    def is_graph_output(self, value: str) -> bool: ...


@dataclass
class LayerDraft:
    """What a converter makes: a layer type with parameters, its weights by state_dict suffix, and the
    graph nodes it took over (a bias Add, a trailing Softmax, the Flatten after a global pool)."""

    type: str
    params: dict[str, Any]
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    absorbed: tuple[OnnxNode, ...] = ()
    output: str | None = None  # the value that carries the layer's result (default: the node's first output)


OnnxConverter = Callable[[OnnxSite], LayerDraft]


@dataclass(frozen=True)
class ImportOps:
    """`onnx`: op types an exported layer becomes (the first is the one that identifies it; the others can
    accompany it); `fx`: torch.fx `call_module` classes or `call_function` / `call_method` targets;
    `from_onnx`: the converter (None where the importer has nothing to convert). PyTorch modules and
    `.pt2` programs are imported through their ONNX graph, so `fx` is a declaration for now."""

    onnx: tuple[str, ...]
    fx: tuple[str, ...]
    from_onnx: OnnxConverter | None = None


IMPORT_OPS: LayerRegistry[ImportOps] = LayerRegistry("the ONNX / fx import map")
# ONNX ops that carry their input through unchanged in an inference graph.
PASSTHROUGH_ONNX = ("Identity",)
NNSTUDIO_ACTIVATION_CLASS = "nnstudio.ml.builder.Activation"  # an Activation block of an NN Studio export


# ---- helpers for the converters ---------------------------------------------------------------------------

def _ints(value: Any, default: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(v) for v in value) if value is not None else default


def _one(values: tuple[int, ...], what: str) -> int:
    if len(set(values)) != 1:
        raise NotMapped(f"its {what} {list(values)} differ per axis: NN Studio's layers use one value")
    return values[0]


def _pads(attrs: dict[str, Any], rank: int) -> int:
    if attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise NotMapped(f"auto_pad={attrs['auto_pad']} is not supported: export with explicit padding")
    pads = _ints(attrs.get("pads"), (0,) * (2 * rank))
    return _one(pads, "paddings")


def _weight(site: OnnxSite, index: int, what: str) -> np.ndarray:
    node = site.node
    if len(node.inputs) <= index or not node.inputs[index]:
        raise NotMapped(f"it has no {what}")
    value = site.const(node.inputs[index])
    if value is None:
        raise NotMapped(f"its {what} is computed in the graph, not a stored weight")
    return np.asarray(value, dtype=np.float32)


def _sole(site: OnnxSite, value: str) -> OnnxNode | None:
    users = site.consumers(value)
    return users[0] if len(users) == 1 and not site.is_graph_output(value) else None


def _head(site: OnnxSite, draft: LayerDraft) -> LayerDraft:
    """A Dense at the end of the graph becomes the Output: a trailing Softmax makes it multi-class, a
    trailing Sigmoid on one unit binary; raw scores take the file's own task or a guess from the units."""
    units = draft.params["units"]
    out = draft.output or site.node.outputs[0]
    if site.is_graph_output(out):
        task = site.task_hint or ("regression" if units == 1 else "multiclass")
        if (task == "binary") != (units == 1) and task != "regression":
            task = "regression" if units == 1 else "multiclass"
        return LayerDraft("Output", {"task": task, "units": units, "bias": draft.params["bias"]},
                          draft.weights, draft.absorbed, out)
    nxt = _sole(site, out)
    if nxt is not None and site.is_graph_output(nxt.outputs[0]):
        axis = int(nxt.attrs.get("axis", -1))
        if nxt.op_type in ("Softmax", "LogSoftmax") and axis in (-1, 1) and units >= 2:
            return LayerDraft("Output", {"task": "multiclass", "units": units, "bias": draft.params["bias"]},
                              draft.weights, draft.absorbed + (nxt,), nxt.outputs[0])
        if nxt.op_type == "Sigmoid" and units == 1:
            return LayerDraft("Output", {"task": "binary", "units": 1, "bias": draft.params["bias"]},
                              draft.weights, draft.absorbed + (nxt,), nxt.outputs[0])
    raise NotMapped("only the last dense layer of the graph becomes the Output")


def _dense_from_onnx(site: OnnxSite) -> LayerDraft:
    node = site.node
    if len(site.in_shape) != 1:
        raise NotMapped(f"it multiplies a {'×'.join(map(str, site.in_shape))} tensor: NN Studio's Dense "
                        "takes feature vectors")
    if node.op_type == "Gemm":
        if node.attrs.get("transA", 0) or node.attrs.get("alpha", 1.0) != 1.0 or node.attrs.get("beta", 1.0) != 1.0:
            raise NotMapped("Gemm with transA, alpha or beta other than the defaults is not a plain dense layer")
        w = _weight(site, 1, "weight matrix")
        w = w if node.attrs.get("transB", 0) else w.T
        bias = _weight(site, 2, "bias") if len(node.inputs) > 2 and node.inputs[2] else None
        absorbed: tuple[OnnxNode, ...] = ()
        out = node.outputs[0]
    elif node.op_type == "MatMul":
        w = _weight(site, 1, "weight matrix").T
        bias, absorbed, out = None, (), node.outputs[0]
        add = _sole(site, out)
        if add is not None and add.op_type == "Add":
            other = add.inputs[1] if add.inputs[0] == out else add.inputs[0]
            b = site.const(other)
            if b is not None and np.asarray(b).shape == (w.shape[0],):
                bias, absorbed, out = np.asarray(b, dtype=np.float32), (add,), add.outputs[0]
    else:
        raise NotMapped("a dense layer starts with Gemm or MatMul")
    if w.ndim != 2 or w.shape[1] != site.in_shape[0]:
        raise NotMapped(f"its weight matrix {list(w.shape)} does not fit {site.in_shape[0]} input features")
    units = int(w.shape[0])
    if bias is not None and bias.shape != (units,):
        raise NotMapped(f"its bias of shape {list(bias.shape)} does not fit {units} units")
    weights = {"weight": np.ascontiguousarray(w)}
    if bias is not None:
        weights["bias"] = bias
    return LayerDraft("Dense", {"units": units, "bias": bias is not None, "activation": "identity"},
                      weights, absorbed, out)


def _output_from_onnx(site: OnnxSite) -> LayerDraft:
    return _head(site, _dense_from_onnx(site))


def _conv_from_onnx(rank: int, type_name: str) -> OnnxConverter:
    def convert(site: OnnxSite) -> LayerDraft:
        node, a = site.node, site.node.attrs
        w = _weight(site, 1, "filters")
        if w.ndim != rank + 2:
            raise NotMapped(f"it is a {w.ndim - 2}-D convolution, not {rank}-D")
        if len(site.in_shape) != rank + 1:
            raise NotMapped(f"its input has shape {list(site.in_shape)}")
        if int(a.get("group", 1)) != 1:
            raise NotMapped(f"grouped convolution (group={a['group']}) has no NN Studio layer")
        if set(_ints(a.get("dilations"), (1,))) != {1}:
            raise NotMapped("dilated convolution has no NN Studio layer")
        kernel = _one(tuple(w.shape[2:]), "kernel sizes")
        stride = _one(_ints(a.get("strides"), (1,) * rank), "strides")
        if w.shape[1] != site.in_shape[0]:
            raise NotMapped(f"its filters expect {w.shape[1]} channels, the input has {site.in_shape[0]}")
        weights = {"weight": np.ascontiguousarray(w)}
        if len(node.inputs) > 2 and node.inputs[2]:
            weights["bias"] = _weight(site, 2, "bias")
        params = {"filters": int(w.shape[0]), "kernel": kernel, "stride": stride, "padding": _pads(a, rank),
                  "bias": "bias" in weights, "activation": "identity"}
        return LayerDraft(type_name, params, weights)
    return convert


def _pool_from_onnx(type_name: str) -> OnnxConverter:
    def convert(site: OnnxSite) -> LayerDraft:
        a = site.node.attrs
        kernel = _one(_ints(a.get("kernel_shape"), ()), "window sizes") if a.get("kernel_shape") else None
        if kernel is None or len(a["kernel_shape"]) != 2 or len(site.in_shape) != 3:
            raise NotMapped("NN Studio pools 2-D images only")
        if int(a.get("ceil_mode", 0)):
            raise NotMapped("ceil_mode=1 rounds output sizes up; NN Studio's pools round down")
        if set(_ints(a.get("dilations"), (1,))) != {1}:
            raise NotMapped("dilated pooling has no NN Studio layer")
        padding = _pads(a, 2)
        if type_name == "AvgPool2d" and padding and not int(a.get("count_include_pad", 0)):
            raise NotMapped("average pooling that leaves padding out of the count (count_include_pad=0)")
        stride = _one(_ints(a.get("strides"), (1, 1)), "strides")
        return LayerDraft(type_name, {"kernel": kernel, "stride": stride, "padding": padding})
    return convert


def _global_pool_from_onnx(site: OnnxSite) -> LayerDraft:
    node = site.node
    if len(site.in_shape) != 3:
        raise NotMapped("NN Studio's global average pool takes images")
    if node.op_type == "ReduceMean":
        axes = node.attrs.get("axes")
        if axes is None and len(node.inputs) > 1:
            axes = site.const(node.inputs[1])
        if axes is None or sorted(int(v) % 4 for v in np.ravel(axes)) != [2, 3]:
            raise NotMapped("only a mean over height and width is a global average pool")
        if int(node.attrs.get("keepdims", 1)) == 0:
            return LayerDraft("GlobalAvgPool2d", {})
        pooled: OnnxNode | None = node
    elif node.op_type == "GlobalAveragePool":
        pooled = node
    else:
        raise NotMapped("a global average pool starts with GlobalAveragePool or ReduceMean")
    flat = _sole(site, pooled.outputs[0])
    if flat is not None and flat.op_type in ("Flatten", "Reshape", "Squeeze"):
        return LayerDraft("GlobalAvgPool2d", {}, absorbed=(flat,), output=flat.outputs[0])
    raise NotMapped("a pooled C×1×1 image must be flattened next (add a Flatten after it)")


def _reshape_from_onnx(site: OnnxSite) -> LayerDraft:
    node = site.node
    if node.op_type == "Flatten":
        if int(node.attrs.get("axis", 1)) != 1:
            raise NotMapped("only a Flatten that keeps the batch axis (axis=1) is supported")
        return LayerDraft("Flatten", {})
    target = site.const(node.inputs[1]) if len(node.inputs) > 1 else None
    if target is None:
        raise NotMapped("its target shape is computed in the graph")
    dims = [int(v) for v in np.ravel(target)]
    total = math.prod(site.in_shape)
    rest = dims[1:]
    if not rest or not (dims[0] in (0, -1) or (dims[0] > 0 and -1 not in rest)):
        raise NotMapped(f"its target {dims} does not keep the batch axis first")
    if -1 not in rest and math.prod(rest) != total:
        raise NotMapped(f"its target {dims} does not hold the {total} values of each sample")
    if rest in ([total], [-1]):
        return LayerDraft("Flatten", {})
    if len(rest) > 3:
        raise NotMapped(f"its target {dims} has more than 3 dimensions after the batch")
    return LayerDraft("Reshape", {"shape": ",".join(str(d) for d in rest)})


def _dropout_from_onnx(site: OnnxSite) -> LayerDraft:
    node = site.node
    rate = node.attrs.get("ratio")
    if rate is None and len(node.inputs) > 1 and node.inputs[1]:
        value = site.const(node.inputs[1])
        rate = float(np.ravel(value)[0]) if value is not None else None
    rate = 0.5 if rate is None else float(rate)
    return LayerDraft("Dropout", {"rate": min(0.95, max(0.0, round(rate, 6)))})


def _batchnorm_from_onnx(site: OnnxSite) -> LayerDraft:
    node = site.node
    eps = float(node.attrs.get("epsilon", 1e-5))
    if not math.isclose(eps, 1e-5, rel_tol=1e-3):
        raise NotMapped(f"its epsilon {eps:g} differs from NN Studio's 1e-5")
    if len(node.outputs) > 1 and any(node.outputs[1:]):
        raise NotMapped("it updates running statistics (a training-mode graph)")
    names = ("weight", "bias", "running_mean", "running_var")
    weights = {key: _weight(site, i + 1, key.replace("_", " ")) for i, key in enumerate(names)}
    channels = site.in_shape[0] if site.in_shape else 0
    if any(w.shape != (channels,) for w in weights.values()):
        raise NotMapped(f"its statistics do not fit {channels} channels")
    momentum = round(1.0 - float(node.attrs.get("momentum", 0.9)), 6)
    return LayerDraft("BatchNorm", {"momentum": min(1.0, max(0.0, momentum))}, weights)


def _merge_from_onnx(type_name: str) -> OnnxConverter:
    def convert(site: OnnxSite) -> LayerDraft:
        node = site.node
        if any(site.const(v) is not None for v in node.inputs):
            raise NotMapped("it combines a tensor with a stored constant, which no NN Studio layer does")
        if type_name == "Concatenate" and int(node.attrs.get("axis", 1)) != 1:
            raise NotMapped(f"it joins along axis {node.attrs.get('axis')}: NN Studio joins features or channels")
        if len(node.inputs) < 2:
            raise NotMapped("it has fewer than two inputs")
        return LayerDraft(type_name, {})
    return convert


# ---- activations: one op (or the exporter's exact decomposition) per function -------------------------------

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


def _scalar(site: OnnxSite, node: OnnxNode, x: str) -> float | None:
    """The scalar constant operand of a binary node whose other operand is `x`."""
    if len(node.inputs) != 2 or x not in node.inputs:
        return None
    value = site.const(node.inputs[1] if node.inputs[0] == x else node.inputs[0])
    return float(np.ravel(value)[0]) if value is not None and np.size(value) == 1 else None


def _gelu_decomposed(site: OnnxSite) -> tuple[OnnxNode, ...] | None:
    """x/√2 → Erf → +1 → ×0.5 → ×x, as torch's exporter writes exact GELU at opset < 20."""
    div = site.node
    x = div.inputs[0]
    if div.op_type != "Div" or not math.isclose(_scalar(site, div, x) or 0.0, math.sqrt(2), rel_tol=1e-6):
        return None
    chain, value = [div], div.outputs[0]
    for op, const in (("Erf", None), ("Add", 1.0), ("Mul", 0.5)):
        nxt = _sole(site, value)
        if nxt is None or nxt.op_type != op:
            return None
        if const is not None and not math.isclose(_scalar(site, nxt, value) or 0.0, const, rel_tol=1e-6):
            return None
        chain.append(nxt)
        value = nxt.outputs[0]
    last = _sole(site, value)
    if last is None or last.op_type != "Mul" or set(last.inputs) != {x, value}:
        return None
    return tuple(chain[1:]) + (last,)


def _softplus_threshold(site: OnnxSite) -> tuple[OnnxNode, ...]:
    """torch's softplus: Where(x > 20, x, Softplus(x)); the Greater and Where belong to the activation."""
    soft = site.node
    x = soft.inputs[0]
    where = _sole(site, soft.outputs[0])
    if where is None or where.op_type != "Where" or where.inputs[1:] != (x, soft.outputs[0]):
        return ()
    greater = [n for n in site.consumers(x) if n.op_type == "Greater" and n.outputs[0] == where.inputs[0]]
    if len(greater) != 1 or not math.isclose(_scalar(site, greater[0], x) or 0.0, 20.0):
        return ()
    return (greater[0], where)


def match_activation(site: OnnxSite) -> tuple[str, tuple[OnnxNode, ...], str] | None:
    """The activation function a node starts, the further nodes it spans and the value it ends in; None
    if the node is not an activation. Parameters must be torch's defaults NN Studio uses."""
    node = site.node
    simple = {"Relu": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid", "Sin": "sine", "Elu": "elu",
              "LeakyRelu": "leaky_relu", "Gelu": "gelu", "Softplus": "softplus"}
    fn = simple.get(node.op_type)
    if fn == "elu" and not math.isclose(float(node.attrs.get("alpha", 1.0)), 1.0):
        raise NotMapped(f"ELU with alpha {node.attrs['alpha']:g} (NN Studio's ELU has alpha 1)")
    if fn == "leaky_relu" and not math.isclose(float(node.attrs.get("alpha", 0.01)), 0.01, rel_tol=1e-4):
        raise NotMapped(f"leaky ReLU with slope {node.attrs['alpha']:g} (NN Studio's has 0.01)")
    if fn == "gelu" and node.attrs.get("approximate", "none") != "none":
        raise NotMapped("tanh-approximated GELU (NN Studio's GELU is exact)")
    if fn is not None:
        extra = _softplus_threshold(site) if fn == "softplus" else ()
        return fn, extra, (extra[-1].outputs[0] if extra else node.outputs[0])
    chain = _gelu_decomposed(site)
    if chain is not None:
        return "gelu", chain, chain[-1].outputs[0]
    return None


def _activation_from_onnx(site: OnnxSite) -> LayerDraft:
    found = match_activation(site)
    if found is None:
        raise NotMapped("it is not one of NN Studio's activation functions")
    fn, absorbed, out = found
    return LayerDraft("Activation", {"function": fn}, absorbed=absorbed, output=out)


# ---- the table ----------------------------------------------------------------------------------------------

def _add(name: str, onnx: tuple[str, ...], fx: tuple[str, ...], from_onnx: OnnxConverter | None = None) -> None:
    IMPORT_OPS.add(name, ImportOps(onnx, fx, from_onnx))


_add("Input", (), ())  # the graph input itself
_add("Output", ("Gemm", "MatMul", "Add", "Softmax", "LogSoftmax", "Sigmoid"), ("torch.nn.Linear",),
     _output_from_onnx)
_add("Dense", ("Gemm", "MatMul", "Add"), ("torch.nn.Linear",), _dense_from_onnx)
_add("Conv2d", ("Conv",), ("torch.nn.Conv2d",), _conv_from_onnx(2, "Conv2d"))
_add("Conv1d", ("Conv",), ("torch.nn.Conv1d",), _conv_from_onnx(1, "Conv1d"))
_add("MaxPool2d", ("MaxPool",), ("torch.nn.MaxPool2d",), _pool_from_onnx("MaxPool2d"))
_add("AvgPool2d", ("AveragePool",), ("torch.nn.AvgPool2d",), _pool_from_onnx("AvgPool2d"))
_add("GlobalAvgPool2d", ("ReduceMean", "GlobalAveragePool", "Flatten"),
     ("torch.mean", "mean", "torch.nn.AdaptiveAvgPool2d"), _global_pool_from_onnx)
_add("Reshape", ("Reshape",), ("reshape", "view", "torch.reshape"), _reshape_from_onnx)
_add("Flatten", ("Flatten", "Reshape"), ("torch.flatten", "torch.nn.Flatten"), _reshape_from_onnx)
_add("Dropout", ("Dropout",), ("torch.nn.Dropout",), _dropout_from_onnx)  # an eval export drops nothing
_add("BatchNorm", ("BatchNormalization",), ("torch.nn.BatchNorm1d", "torch.nn.BatchNorm2d"), _batchnorm_from_onnx)
_add("Activation", tuple(sorted({op for ops in ACTIVATION_ONNX.values() for op in ops})),
     ("torch.nn.ReLU", "torch.nn.Tanh", "torch.nn.Sigmoid", "torch.nn.LeakyReLU", "torch.nn.ELU",
      "torch.nn.GELU", "torch.nn.Softplus", "torch.relu", "torch.tanh", "torch.sigmoid", "torch.sin"),
     _activation_from_onnx)
_add("Add", ("Add",), ("operator.add", "torch.add"), _merge_from_onnx("Add"))
_add("Concatenate", ("Concat",), ("torch.cat",), _merge_from_onnx("Concatenate"))
