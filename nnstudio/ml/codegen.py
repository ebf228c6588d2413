"""Design → readable PyTorch source: a `model.py` a person could have written and a `train.py` that runs anywhere.

Text from a design (its name, description, dataset path) enters the generated code only as `repr()`
literals; identifiers are checked or rebuilt from ASCII letters and digits; numbers are formatted from
checked ints and floats. Every generated file is parsed with `ast.parse` before it is handed out, so a
hostile design file can change what the code *says*, never what it *does*.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import math
import re
from dataclasses import dataclass
from typing import Any

from torch import nn

from nnstudio import __version__
from nnstudio.core.catalogue import LAYER_TYPES, Shape
from nnstudio.core.document import Design
from nnstudio.core.errors import ExportError, ParameterError
from nnstudio.core.inference import infer
from nnstudio.core.schema import check_params
from nnstudio.core.settings import (
    BUILTIN_DATASETS,
    BUILTIN_REGRESSION,
    GENERATED_BUILTINS,
    PLAYGROUND_DATASETS,
    PLAYGROUND_FEATURES,
    PLAYGROUND_REGRESSION,
    DatasetSpec,
    TrainingConfig,
)
from nnstudio.ml.builder import contributing_layers

# Names `forward` itself uses: a layer (and so a local variable) may never be called one of these.
_FORWARD_NAMES = frozenset({"x", "self", "torch", "nn", "F"})
# Module-level names of model.py that the class must not shadow.
_MODULE_NAMES = frozenset({"DESIGN_NAME", "DESCRIPTION", "TASK", "INPUT_SHAPE", "load_model", "annotations"})
_MAX_CLASS_NAME = 60

# Activation name → how it reads in hand-written PyTorch; `{}` is the argument.
ACTIVATION_CODE: dict[str, str] = {
    "identity": "{}",
    "relu": "torch.relu({})",
    "leaky_relu": "F.leaky_relu({}, 0.01)",
    "elu": "F.elu({})",
    "gelu": "F.gelu({})",
    "tanh": "torch.tanh({})",
    "sigmoid": "torch.sigmoid({})",
    "softplus": "F.softplus({})",
    "sine": "torch.sin({})",
}

_OUTPUT_NOTES = {
    "binary": "logits: torch.sigmoid gives the probability of class 1",
    "multiclass": "logits: torch.softmax(..., dim=1) gives class probabilities",
    "regression": "the predicted values",
}


# ---- checked pieces of code ------------------------------------------------------------------------------

def _int(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ExportError(f"{what} must be a whole number, not {value!r:.40}")
    return str(int(value))


def _float(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise ExportError(f"{what} must be a finite number, not {value!r:.40}")
    return repr(float(value))


def _literal(value: Any) -> str:
    """Python source for plain data (str, bool, int, float, lists and tuples of them); nothing else passes."""
    if value is None or isinstance(value, (bool, str)):
        return repr(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExportError(f"a setting holds {value}, which cannot be written into Python code")
        return repr(value)
    if isinstance(value, (list, tuple)):
        items = ", ".join(_literal(v) for v in value)
        if isinstance(value, tuple):
            return f"({items},)" if len(value) == 1 else f"({items})"
        return f"[{items}]"
    raise ExportError(f"a setting of type {type(value).__name__} cannot be written into Python code")


def _dict_literal(name: str, values: dict[str, Any]) -> str:
    lines = [f"{name} = {{"]
    for key, value in values.items():
        lines.append(f"    {_literal(str(key))}: {_literal(value)},")
    lines.append("}")
    return "\n".join(lines)


def is_safe_identifier(name: Any) -> bool:
    """True for an ASCII Python identifier that is no keyword (the only layer names code is written with)."""
    return (isinstance(name, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name) is not None
            and not keyword.iskeyword(name))


def class_name_for(design_name: Any) -> str:
    """The design's name as a CamelCase class name: 'playground circle' → 'PlaygroundCircle'."""
    words = re.findall(r"[A-Za-z0-9]+", design_name if isinstance(design_name, str) else "")
    name = "".join(w[0].upper() + w[1:] for w in words)[:_MAX_CLASS_NAME]
    if not name:
        return "DesignModel"
    if name[0].isdigit():
        name = "Model" + name
    if keyword.iskeyword(name) or name in _MODULE_NAMES or name in _FORWARD_NAMES or hasattr(builtins, name):
        name += "Model"
    return name


def check_generated(source: str, filename: str) -> str:
    """Refuse to hand out code that is not valid Python (it never should be; this is the last guard)."""
    try:
        ast.parse(source, filename=filename)
    except SyntaxError as exc:
        raise ExportError(f"the generated {filename} is not valid Python ({exc.msg}, line {exc.lineno}); "
                          "please report this design") from exc
    return source


# ---- the network as a plan ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Node:
    """One contributing layer in execution order, with everything the code needs."""

    name: str
    type: str
    params: dict[str, Any]
    inputs: tuple[str, ...]
    in_shapes: tuple[Shape, ...]
    shape: Shape


@dataclass(frozen=True)
class Plan:
    nodes: tuple[Node, ...]
    task: str
    input_shape: Shape

    @property
    def has_batchnorm(self) -> bool:
        return any(n.type == "BatchNorm" for n in self.nodes)


def plan_design(design: Design) -> Plan:
    """The layers that reach the Output, in the order the builder runs them; ExportError if it cannot build."""
    for layer in design.layers.values():  # again: a document assembled by hand skipped the edit checks
        ltype = LAYER_TYPES.get(layer.type)
        if ltype is None:
            raise ExportError(f"layer {layer.name!r:.70} has an unknown type {layer.type!r:.40}")
        try:
            check_params(ltype.params, layer.params, where=f"{layer.name!s:.70}.")
        except ParameterError as exc:
            raise ExportError(f"the design cannot be exported: {exc}") from exc
    inference = infer(design)
    errors = inference.errors()
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ExportError(f"the design cannot be exported: {errors[0].message}{more}")
    keep = contributing_layers(design)
    nodes = []
    for lid in inference.order:
        if lid not in keep:
            continue
        layer = design.layers[lid]
        if not is_safe_identifier(layer.name) or layer.name in _FORWARD_NAMES:
            raise ExportError(f"layer name {layer.name!r:.70} cannot be used in Python code: rename the layer "
                              "(letters, digits and underscores, not a Python keyword)")
        if hasattr(nn.Module, layer.name) or layer.name == "predict":
            raise ExportError(f"layer name '{layer.name}' clashes with a PyTorch attribute: rename the layer")
        shape = inference.shapes[lid]
        assert shape is not None  # no errors, so every contributing layer has a shape
        nodes.append(Node(layer.name, layer.type, dict(layer.params),
                          tuple(design.layers[s].name for s in design.inputs_of(lid)),
                          tuple(inference.input_shapes.get(lid, [])), shape))
    if not nodes or nodes[0].type != "Input" or nodes[-1].type != "Output":
        raise ExportError("the design cannot be exported: it needs one Input that leads to one Output")
    for dim in nodes[0].shape:
        _int(dim, "the input shape")
    return Plan(tuple(nodes), str(nodes[-1].params["task"]), nodes[0].shape)


# ---- model.py ----------------------------------------------------------------------------------------------

def _module_code(node: Node) -> str | None:
    """The constructor of a layer's module; None for layers written as plain functions in `forward`."""
    p, where = node.params, f"layer '{node.name}'"
    bias = "" if p.get("bias", True) is True else ", bias=False"
    if node.type in ("Dense", "Output"):
        return f"nn.Linear({_int(node.in_shapes[0][0], where)}, {_int(p['units'], where)}{bias})"
    if node.type == "Conv2d":
        parts = [_int(node.in_shapes[0][0], where), _int(p["filters"], where),
                 f"kernel_size={_int(p['kernel'], where)}"]
        if p["stride"] != 1:
            parts.append(f"stride={_int(p['stride'], where)}")
        if p["padding"] != 0:
            parts.append(f"padding={_int(p['padding'], where)}")
        return f"nn.Conv2d({', '.join(parts)}{bias})"
    if node.type in ("MaxPool2d", "AvgPool2d"):
        parts = [_int(p["kernel"], where)]
        if p["stride"] != p["kernel"]:
            parts.append(f"stride={_int(p['stride'], where)}")
        if p["padding"] != 0:
            parts.append(f"padding={_int(p['padding'], where)}")
        return f"nn.{node.type}({', '.join(parts)})"
    if node.type == "Dropout":
        return f"nn.Dropout({_float(p['rate'], where)})"
    if node.type == "BatchNorm":
        kind = "BatchNorm2d" if len(node.in_shapes[0]) == 3 else "BatchNorm1d"
        momentum = "" if p["momentum"] == 0.1 else f", momentum={_float(p['momentum'], where)}"
        return f"nn.{kind}({_int(node.in_shapes[0][0], where)}{momentum})"
    if node.type in ("Input", "Flatten", "Activation", "Add", "Concatenate"):
        return None
    raise ExportError(f"layer '{node.name}' has type {node.type!r:.40}, which the code generator does not know")


def _activation(name: Any, argument: str, where: str) -> str:
    if name not in ACTIVATION_CODE:
        raise ExportError(f"{where} uses an unknown activation {name!r:.40}")
    return ACTIVATION_CODE[name].format(argument)


def _forward_lines(plan: Plan) -> list[str]:
    """`forward`'s body: a chain runs through `x`; a value used twice or joined by a merge gets its layer's
    name as a variable, so branches and skip connections read like a person wrote them."""
    nodes = plan.nodes
    position = {n.name: i for i, n in enumerate(nodes)}
    kind = {n.name: n.type for n in nodes}
    consumers: dict[str, list[str]] = {n.name: [] for n in nodes}
    for n in nodes:
        for source in n.inputs:
            consumers[source].append(n.name)

    def flows_in_x(name: str) -> bool:
        users = consumers[name]
        return (len(users) == 1 and position[users[0]] == position[name] + 1
                and kind[users[0]] not in ("Add", "Concatenate"))

    variable = {n.name: ("x" if flows_in_x(n.name) else n.name) for n in nodes}
    lines = []
    first = nodes[0]
    if variable[first.name] != "x":
        lines.append(f"{first.name} = x")
    for node in nodes[1:]:
        where = f"layer '{node.name}'"
        args = [variable[s] for s in node.inputs]
        if node.type in ("Dense", "Conv2d"):
            expr = _activation(node.params["activation"], f"self.{node.name}({args[0]})", where)
        elif node.type == "Activation":
            expr = _activation(node.params["function"], args[0], where)
        elif node.type == "Flatten":
            expr = f"torch.flatten({args[0]}, 1)"
        elif node.type == "Add":
            expr = " + ".join(args)
        elif node.type == "Concatenate":
            expr = f"torch.cat([{', '.join(args)}], dim=1)"
        else:  # Output, pools, Dropout, BatchNorm: the module does the work
            expr = f"self.{node.name}({args[0]})"
        if node.type == "Output":
            lines.append(f"return {expr}  # {_OUTPUT_NOTES[plan.task]}")
        elif expr != variable[node.name]:  # a linear Activation on x would read `x = x`
            lines.append(f"{variable[node.name]} = {expr}")
    return lines


def _predict_lines(task: str) -> list[str]:
    if task == "binary":
        return ['"""Probability of class 1 for each sample, shape (batch, 1)."""',
                "return torch.sigmoid(self(x))"]
    if task == "multiclass":
        return ['"""Class probabilities, shape (batch, classes); argmax(dim=1) gives the class."""',
                "return torch.softmax(self(x), dim=1)"]
    return ['"""The predicted values (the same as calling the model)."""', "return self(x)"]


def generate_model_code(design: Design) -> str:
    """`model.py`: one `nn.Module` whose `state_dict` keys equal NN Studio's (`fc1.weight`, ...); imports torch."""
    plan = plan_design(design)
    cls = class_name_for(design.name)
    init = []
    for node in plan.nodes:
        code = _module_code(node)
        if code is not None:
            init.append(f"self.{node.name} = {code}")
    forward = _forward_lines(plan)
    body = "\n".join([*init, *forward])
    uses_f = "F." in body
    input_shape = _literal(tuple(int(d) for d in plan.input_shape))
    example_shape = ", ".join(str(int(d)) for d in plan.input_shape)
    out = [
        f"# Generated by NN Studio {__version__}. Plain PyTorch: edit it as you like.",
        '"""A neural network exported from NN Studio.',
        "",
        "    from model import load_model",
        "    model = load_model(\"weights.pt\")   # the trained weights, checked with strict=True",
        "    scores = model(x)                   # x: a float tensor of shape (batch, *INPUT_SHAPE)",
        "    probabilities = model.predict(x)",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import torch",
    ]
    out += ["import torch.nn.functional as F"] if uses_f else []
    out += [
        "from torch import nn",
        "",
        f"DESIGN_NAME = {_literal(str(design.name))}",
        f"DESCRIPTION = {_literal(str(design.description))}",
        f"TASK = {_literal(plan.task)}  # regression, binary or multiclass",
        f"INPUT_SHAPE = {input_shape}  # one sample, without the batch dimension",
        "",
        "",
        f"class {cls}(nn.Module):",
        f"    {_literal(f'The network of the NN Studio design {design.name!s}.')}",
        "",
        "    def __init__(self) -> None:",
        "        super().__init__()",
        *(f"        {line}" for line in init),
        "",
        "    def forward(self, x: torch.Tensor) -> torch.Tensor:",
        *(f"        {line}" for line in forward),
        "",
        "    @torch.no_grad()",
        "    def predict(self, x: torch.Tensor) -> torch.Tensor:",
        *(f"        {line}" for line in _predict_lines(plan.task)),
        "",
        "",
        f"def load_model(path: str = \"weights.pt\", device: str = \"cpu\") -> {cls}:",
        '    """The model with weights saved by NN Studio (or train.py), ready for inference."""',
        f"    model = {cls}()",
        "    state = torch.load(path, map_location=device, weights_only=True)",
        "    model.load_state_dict(state, strict=True)",
        "    return model.to(device).eval()",
        "",
        "",
        'if __name__ == "__main__":',
        "    import sys",
        "",
        f"    net = load_model(sys.argv[1]) if len(sys.argv) > 1 else {cls}().eval()",
        "    print(net)",
        f"    print(net.predict(torch.randn(4, {example_shape})))",
        "",
    ]
    return check_generated("\n".join(out), "model.py")


# ---- train.py ----------------------------------------------------------------------------------------------

_PLAYGROUND_MAKERS = {
    "circle": '''
def make_points(samples, noise, rng):
    """Playground's circle: a disc of radius 2.5 (+1) in a ring 3.5..5 (-1); noise jitters the labelling."""
    inside, outside = samples - samples // 2, samples // 2
    r = np.concatenate([rng.uniform(0.0, 2.5, inside), rng.uniform(3.5, 5.0, outside)])
    angle = rng.uniform(0.0, 2.0 * np.pi, samples)
    points = np.column_stack([r * np.sin(angle), r * np.cos(angle)])
    jittered = points + rng.uniform(-5.0, 5.0, (samples, 2)) * noise
    return points, np.where(np.hypot(jittered[:, 0], jittered[:, 1]) < 2.5, 1.0, -1.0)
''',
    "xor": '''
def make_points(samples, noise, rng):
    """Playground's xor: uniform points kept 0.3 off the axes; +1 where the jittered x1 * x2 >= 0."""
    points = rng.uniform(-5.0, 5.0, (samples, 2))
    points += np.where(points > 0, 0.3, -0.3)
    jittered = points + rng.uniform(-5.0, 5.0, (samples, 2)) * noise
    return points, np.where(jittered[:, 0] * jittered[:, 1] >= 0, 1.0, -1.0)
''',
    "gauss": '''
def make_points(samples, noise, rng):
    """Playground's gauss: blobs around (2, 2) (+1) and (-2, -2) (-1), variance 0.5 (noise 0) to 4 (0.5)."""
    variance = 0.5 + 7.0 * noise
    positive, negative = samples - samples // 2, samples // 2
    centres = np.concatenate([np.full((positive, 2), 2.0), np.full((negative, 2), -2.0)])
    points = centres + rng.standard_normal((samples, 2)) * np.sqrt(variance)
    return points, np.concatenate([np.ones(positive), -np.ones(negative)])
''',
    "spiral": '''
def make_points(samples, noise, rng):
    """Playground's spiral: two arms of radius 5 and 1.75 turns, the second turned by pi (-1)."""
    half = samples / 2
    arms, labels = [], []
    for count, turn, label in ((samples - samples // 2, 0.0, 1.0), (samples // 2, np.pi, -1.0)):
        i = np.arange(count)
        r = 5.0 * i / half
        t = 1.75 * i / half * 2.0 * np.pi + turn
        arms.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        labels.append(np.full(count, label))
    points = np.concatenate(arms) + rng.uniform(-1.0, 1.0, (samples, 2)) * noise
    return points, np.concatenate(labels)
''',
    "reg-plane": '''
def make_points(samples, noise, rng):
    """Playground's plane: uniform points in [-6, 6]^2, target (x1 + x2) / 10 of the jittered point."""
    points = rng.uniform(-6.0, 6.0, (samples, 2))
    jittered = points + rng.uniform(-6.0, 6.0, (samples, 2)) * noise
    return points, jittered.sum(axis=1) / 10.0
''',
    "reg-gauss": '''
CENTRES = np.array([[-4.0, 2.5], [0.0, 2.5], [4.0, 2.5], [-4.0, -2.5], [0.0, -2.5], [4.0, -2.5]])
SIGNS = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])


def make_points(samples, noise, rng):
    """Playground's six bumps: the strongest of sign * max(0, 1 - d / 2) over the six centres."""
    points = rng.uniform(-6.0, 6.0, (samples, 2))
    jittered = points + rng.uniform(-6.0, 6.0, (samples, 2)) * noise
    distance = np.linalg.norm(jittered[:, None, :] - CENTRES[None, :, :], axis=2)
    values = SIGNS * np.clip(1.0 - distance / 2.0, 0.0, 1.0)
    strongest = np.argmax(np.abs(values), axis=1)
    return points, values[np.arange(samples), strongest]
''',
}
assert tuple(_PLAYGROUND_MAKERS) == PLAYGROUND_DATASETS

_PLAYGROUND_SOURCE = '''
FEATURES = {
    "x1": lambda a, b: a,
    "x2": lambda a, b: b,
    "x1^2": lambda a, b: a * a,
    "x2^2": lambda a, b: b * b,
    "x1*x2": lambda a, b: a * b,
    "sin(x1)": lambda a, b: np.sin(a),
    "sin(x2)": lambda a, b: np.sin(b),
}


def load_source(args):
    """Generate the points with the dataset's seed and compute the chosen input features."""
    rng = np.random.default_rng(np.random.SeedSequence(DATASET["seed"], spawn_key=(0,)))
    points, labels = make_points(DATASET["samples"], DATASET["noise"], rng)
    x = np.column_stack([FEATURES[name](points[:, 0], points[:, 1]) for name in DATASET["features"]])
'''
_PLAYGROUND_CLASSES = '''    return x.astype(np.float32), (labels > 0).astype(np.int64)  # class 1 is Playground's +1
'''
_PLAYGROUND_VALUES = '''    return x.astype(np.float32), labels.astype(np.float32).reshape(-1, 1)
'''

_BUILTIN_SOURCE = '''

def load_source(args):
    """One of the small datasets that ship inside scikit-learn (nothing is downloaded)."""
    from sklearn import datasets

    bunch = datasets.{loader}()
    x = np.asarray(bunch.data, dtype=np.float64)
'''
_BUILTIN_DIGITS = '''    x = x / 16.0  # pixels 0..16 → 0..1
'''
_BUILTIN_DIGIT_IMAGES = '''    x = x.reshape(len(x), 1, 8, 8)
'''
_BUILTIN_CLASSES = '''    return x.astype(np.float32), np.asarray(bunch.target, dtype=np.int64)
'''
_BUILTIN_VALUES = '''    return x.astype(np.float32), np.asarray(bunch.target, dtype=np.float32).reshape(-1, 1)
'''
_SHAPES_SOURCE = '''

def load_source(args):
    """NN Studio's procedural shapes images (needs the nnstudio package: `pip install nnstudio`)."""
    from nnstudio.data.shapes import make_shapes

    rng = np.random.default_rng(np.random.SeedSequence(DATASET["seed"], spawn_key=(0,)))
    x, y, _ = make_shapes(DATASET["samples"], DATASET["noise"], rng)
    return x, y
'''
_BUILTIN_LOADERS = {"iris": "load_iris", "wine": "load_wine", "breast_cancer": "load_breast_cancer",
                    "diabetes": "load_diabetes", "digits": "load_digits"}
assert set(_BUILTIN_LOADERS) | set(GENERATED_BUILTINS) == set(BUILTIN_DATASETS)

_TARGETS = '''

def encode_targets(values):
    """Whole numbers (at most 20 distinct) and text are classes in sorted order; other numbers regress."""
    try:
        numbers = np.array([float(v) for v in values], dtype=np.float64)
    except ValueError:
        numbers = None
    if numbers is not None:
        distinct = np.unique(numbers)
        if len(distinct) <= 20 and np.array_equal(distinct, np.round(distinct)):
            return np.searchsorted(distinct, numbers).astype(np.int64)
        return numbers.astype(np.float32).reshape(-1, 1)
    index = {label: i for i, label in enumerate(sorted(set(values)))}
    return np.array([index[v] for v in values], dtype=np.int64)
'''

_CSV_SOURCE = _TARGETS + '''

def load_source(args):
    """A CSV table with a header row; the target column is DATASET["target"] (empty: the last column)."""
    path = data_path(args.data)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        first = handle.readline()
        handle.seek(0)
        delimiter = "," if "," in first else ";" if ";" in first else "\\t" if "\\t" in first else ","
        rows = [row for row in csv.reader(handle, delimiter=delimiter) if any(cell.strip() for cell in row)]
    header = [cell.strip() for cell in rows[0]]
    while len(header) > 1 and not header[-1]:
        header.pop()
    target = DATASET["target"].strip()
    folded = [name.casefold() for name in header]
    if not target:
        column = len(header) - 1
    elif target in header:
        column = header.index(target)
    elif target.casefold() in folded:
        column = folded.index(target.casefold())
    else:
        sys.exit(f"{path}: there is no column {target!r}; the columns are {', '.join(header)}")
    body = [row[:len(header)] for row in rows[1:]]
    features = [[float(row[i]) for i in range(len(header)) if i != column] for row in body]
    return np.array(features, dtype=np.float32), encode_targets([row[column].strip() for row in body])
'''

_NPZ_SOURCE = _TARGETS + '''

def load_source(args):
    """An NPZ archive with features X (n, k), (n, H, W) or (n, C, H, W) and targets y (nothing is unpickled)."""
    path = data_path(args.data)
    with np.load(path, allow_pickle=False) as archive:
        x, y = archive["X"], archive["y"]
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    elif x.ndim == 3:
        x = x.reshape(x.shape[0], 1, *x.shape[1:])
    if y.ndim == 2 and y.shape[1] != 1:
        return x.astype(np.float32), y.astype(np.float32)
    flat = y.reshape(-1)
    labels = [str(v) for v in flat] if flat.dtype.kind in "US" else list(flat)
    return x.astype(np.float32), encode_targets(labels)
'''

_DATA_PATH = '''

def data_path(given):
    """A relative path is looked up from the current folder, then from this script's folder."""
    path = Path(given).expanduser()
    if not path.is_absolute() and not path.exists():
        path = HERE / path
    if not path.is_file():
        sys.exit(f"cannot find the data file {given!r}: copy it next to train.py or pass --data PATH")
    return path
'''

_TRAIN_BODY = '''

def split(x, y):
    """Shuffle with the dataset's seed, split by the training percentage, standardise on the training part."""
    count = len(y)
    n_train = min(max(count * DATASET["train_percent"] // 100, 1), count - 1)
    order = np.random.default_rng(np.random.SeedSequence(DATASET["seed"], spawn_key=(1,))).permutation(count)
    x_train, y_train, x_val, y_val = x[order[:n_train]], y[order[:n_train]], x[order[n_train:]], y[order[n_train:]]
    if DATASET["standardize"]:
        axes = (0,) if x_train.ndim == 2 else (0, *range(2, x_train.ndim))  # per feature, or per channel
        mean = x_train.mean(axis=axes, dtype=np.float64, keepdims=True)
        std = x_train.std(axis=axes, dtype=np.float64, keepdims=True)
        std[~(std > 1e-12)] = 1.0
        x_train = ((x_train - mean) / std).astype(np.float32)
        x_val = ((x_val - mean) / std).astype(np.float32)
    return x_train, y_train, x_val, y_val


# ---- model, loss and optimiser -----------------------------------------------------------------------------

@torch.no_grad()
def initialize(model, scheme):
    """'playground': U(-0.5, 0.5) weights and biases 0.1; 'xavier' / 'kaiming': uniform; 'pytorch': as built."""
    if scheme == "pytorch":
        return
    for module in model.modules():
        if not isinstance(module, (nn.Linear, nn.Conv2d)):
            continue
        weight = module.weight
        if scheme == "playground":
            weight.uniform_(-0.5, 0.5)
            if module.bias is not None:
                module.bias.fill_(0.1)
            continue
        fan_out, fan_in = weight.shape[0], weight[0].numel()
        receptive = weight[0, 0].numel() if weight.dim() > 2 else 1
        if scheme == "xavier":
            bound = math.sqrt(6.0 / (fan_in + fan_out * receptive))
        else:
            bound = math.sqrt(6.0 / fan_in)
        weight.uniform_(-bound, bound)
        if module.bias is not None:
            module.bias.zero_()


def make_loss():
    if TASK == "binary":
        bce = nn.BCEWithLogitsLoss()
        return lambda scores, y: bce(scores.squeeze(1), y.float())
    if TASK == "multiclass":
        return nn.CrossEntropyLoss()
    return {"mse": nn.MSELoss(), "mae": nn.L1Loss(), "huber": nn.HuberLoss()}[TRAINING["regression_loss"]]


def count_correct(scores, y):
    if TASK == "binary":
        return ((scores.squeeze(1) > 0).long() == y).sum()
    if TASK == "multiclass":
        return (scores.argmax(dim=1) == y).sum()
    return torch.zeros((), device=scores.device)


def regularised_weights(model):
    """The weights of Linear and Conv2d layers: what L1 / L2 act on (never biases or BatchNorm scales)."""
    return [m.weight for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def make_optimizer(model, lr):
    """As NN Studio does it: L2 is weight decay on the regularised weights only; L1 is added to their
    gradients after backward (add_l1_gradient). Neither is part of the reported loss."""
    name, momentum = TRAINING["optimizer"], TRAINING["momentum"]
    weights = regularised_weights(model)
    chosen = {id(w) for w in weights}
    others = [p for p in model.parameters() if id(p) not in chosen]
    decay = TRAINING["regularization_rate"] if TRAINING["regularization"] == "l2" else 0.0
    groups = [g for g in ({"params": weights, "weight_decay": decay}, {"params": others, "weight_decay": 0.0})
              if g["params"]]
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr)
    if name in ("momentum", "nesterov"):
        if momentum <= 0:
            sys.exit("SGD with momentum needs a momentum above 0: set TRAINING['momentum']")
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=name == "nesterov")
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    if name == "rmsprop":
        return torch.optim.RMSprop(groups, lr=lr)
    return torch.optim.Adagrad(groups, lr=lr)


@torch.no_grad()
def add_l1_gradient(weights):
    """L1 regularisation: rate * sign(w) added to each weight's gradient."""
    if TRAINING["regularization"] == "l1" and TRAINING["regularization_rate"] > 0:
        for w in weights:
            if w.grad is not None:
                w.grad.add_(torch.sign(w), alpha=TRAINING["regularization_rate"])


def make_schedule(optimizer, epochs):
    name = TRAINING["schedule"]
    if name == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, TRAINING["step_size"], gamma=TRAINING["gamma"])
    if name == "exponential":
        return torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=TRAINING["gamma"])
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    return None


@torch.no_grad()
def evaluate(model, x, y, loss_fn, chunk=4096):
    """Mean loss and accuracy over a whole set, in chunks so a large set fits in memory."""
    model.eval()
    loss_sum, correct = 0.0, 0
    for start in range(0, len(y), chunk):
        scores = model(x[start:start + chunk])
        n = len(scores)
        loss_sum += float(loss_fn(scores, y[start:start + chunk])) * n
        correct += int(count_correct(scores, y[start:start + chunk]))
    return loss_sum / max(len(y), 1), correct / max(len(y), 1)


# ---- one process, or many under torchrun -------------------------------------------------------------------

def start_processes(device_name):
    """(rank, world size, device); joins the process group when torchrun started several processes."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available() and device_name in ("auto", "cuda")
    if world > 1:
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    if cuda:
        device = torch.device("cuda", local_rank % torch.cuda.device_count())
        torch.cuda.set_device(device)
    elif device_name in ("auto", "cuda"):
        device = torch.device("cpu")
    else:
        device = torch.device(device_name)
    return (dist.get_rank() if world > 1 else 0), world, device


def save_weights(model, path):
    """Write the state_dict atomically: a temporary file, then a rename."""
    path = Path(path)
    state = {name: value.detach().cpu() for name, value in model.state_dict().items()}
    temporary = path.with_name(f".{path.name}.tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=TRAINING["epochs"])
    parser.add_argument("--batch-size", type=int, default=TRAINING["batch_size"],
                        help="samples per step over all processes (each of N processes takes 1/N)")
    parser.add_argument("--lr", type=float, default=TRAINING["learning_rate"])
    parser.add_argument("--seed", type=int, default=TRAINING["seed"])
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--data", default=DATASET["path"], help="the CSV or NPZ file (CSV / NPZ datasets)")
    parser.add_argument("--start-from", default=None, help="weights to start from (e.g. weights.pt)")
    parser.add_argument("--output", default="trained-weights.pt", help="where to save the trained weights")
    args = parser.parse_args(argv)

    rank, world, device = start_processes(args.device)
    torch.manual_seed(args.seed)
    x_train, y_train, x_val, y_val = (torch.from_numpy(np.ascontiguousarray(a)).to(device)
                                      for a in split(*load_source(args)))
    if tuple(x_train.shape[1:]) != INPUT_SHAPE:
        sys.exit(f"the data gives samples of shape {tuple(x_train.shape[1:])}, the model takes {INPUT_SHAPE}")

    model = MODEL_CLASS()
    initialize(model, TRAINING["init"])
    if args.start_from:
        model.load_state_dict(torch.load(args.start_from, map_location="cpu", weights_only=True), strict=True)
    model.to(device)
    net = model
    if world > 1:
        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    loss_fn = make_loss()
    optimizer = make_optimizer(model, args.lr)
    weights = regularised_weights(model)
    schedule = make_schedule(optimizer, args.epochs)
    batch = max(1, min(args.batch_size, len(y_train)) // world)
    shuffle = torch.Generator().manual_seed(args.seed)  # the same on every process, so the shards agree
    if rank == 0:
        print(f"{DESIGN_NAME}: {len(y_train)} training and {len(y_val)} validation samples, "
              f"{world} process(es) on {device}, batch {batch * world}")

    for epoch in range(1, args.epochs + 1):
        net.train()
        order = torch.randperm(len(y_train), generator=shuffle)
        if world > 1:  # like DistributedSampler: pad to a multiple of the world size, then deal round-robin
            order = torch.cat([order, order[:(-len(order)) % world]])[rank::world]
        totals = torch.zeros(3, device=device)  # loss sum, correct, samples: summed on the device, no syncs
        for start in range(0, len(order), batch):
            index = order[start:start + batch].to(device)
            NEEDS_TWO
            scores = net(x_train[index])
            loss = loss_fn(scores, y_train[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # under DDP the gradients are averaged over the processes here
            add_l1_gradient(weights)
            if TRAINING["grad_clip"] > 0:
                torch.nn.utils.clip_grad_norm_(net.parameters(), TRAINING["grad_clip"])
            optimizer.step()
            totals += torch.stack([loss.detach() * len(index), count_correct(scores.detach(), y_train[index]),
                                   torch.tensor(float(len(index)), device=device)])
        if schedule is not None:
            schedule.step()
        if world > 1:
            dist.all_reduce(totals)
        if rank == 0:
            loss_sum, correct, samples = totals.tolist()
            val_loss, val_accuracy = evaluate(model, x_val, y_val, loss_fn)
            line = f"epoch {epoch:>4}/{args.epochs}  loss {loss_sum / max(samples, 1):.4f}  val_loss {val_loss:.4f}"
            if TASK != "regression":
                line += f"  accuracy {correct / max(samples, 1):.3f}  val_accuracy {val_accuracy:.3f}"
            print(line, flush=True)

    if rank == 0:
        save_weights(model, args.output)
        print(f"saved the trained weights to {args.output}")
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
'''

_NEEDS_TWO = ("            if len(index) < 2:  # BatchNorm cannot normalise a batch of one sample\n"
              "                continue\n")


def generate_train_code(design: Design) -> str:
    """`train.py`: the design's dataset and training settings in plain PyTorch + numpy, for `python train.py`
    or `torchrun --nproc-per-node N train.py` (DistributedDataParallel on nccl or gloo)."""
    plan = plan_design(design)
    cls = class_name_for(design.name)
    spec: DatasetSpec = design.dataset
    training: TrainingConfig = design.training
    source = spec.source
    imports = ["argparse", "math", "os", "sys"]
    if source == "playground":
        if spec.name not in PLAYGROUND_DATASETS:
            raise ExportError(f"'{spec.name:.40}' is not a Playground dataset")
        if any(f not in PLAYGROUND_FEATURES for f in spec.features):
            raise ExportError("the dataset lists an unknown input feature")
        tail = _PLAYGROUND_VALUES if spec.name in PLAYGROUND_REGRESSION else _PLAYGROUND_CLASSES
        data_code = _PLAYGROUND_MAKERS[spec.name] + "\n" + _PLAYGROUND_SOURCE + tail
        dataset = {"source": source, "name": spec.name, "samples": spec.samples, "noise": spec.noise,
                   "features": list(spec.features)}
        uses = "numpy"
    elif source == "builtin" and spec.name in GENERATED_BUILTINS:
        data_code = _SHAPES_SOURCE
        dataset = {"source": source, "name": spec.name, "samples": spec.samples, "noise": spec.noise}
        uses = "numpy and NN Studio's shapes generator"
    elif source == "builtin":
        if spec.name not in _BUILTIN_LOADERS:
            raise ExportError(f"'{spec.name:.40}' is not a built-in dataset")
        data_code = _BUILTIN_SOURCE.replace("{loader}", _BUILTIN_LOADERS[spec.name])
        if spec.name == "digits":
            data_code += _BUILTIN_DIGITS + (_BUILTIN_DIGIT_IMAGES if spec.as_images else "")
        data_code += _BUILTIN_VALUES if spec.name in BUILTIN_REGRESSION else _BUILTIN_CLASSES
        dataset = {"source": source, "name": spec.name, "as_images": spec.as_images}
        uses = "numpy and scikit-learn's bundled datasets"
    elif source in ("csv", "npz"):
        data_code = _DATA_PATH + (_CSV_SOURCE if source == "csv" else _NPZ_SOURCE)
        if source == "csv":
            imports.insert(0, "csv")
        dataset = {"source": source, "path": spec.path, "target": spec.target}
        uses = "numpy"
    else:
        raise ExportError(f"unknown data source {source!r:.40}")
    dataset.update(train_percent=spec.train_percent, seed=spec.seed, standardize=spec.standardize)
    dataset.setdefault("path", "")
    settings = training.to_dict()
    settings.pop("device", None)  # chosen on the machine that runs train.py (--device)
    body = _TRAIN_BODY.replace("            NEEDS_TWO\n", _NEEDS_TWO if plan.has_batchnorm else "")
    header = [
        f"# Generated by NN Studio {__version__}. Plain PyTorch: edit it as you like.",
        f'"""Train the exported network on its dataset with plain PyTorch ({uses}).',
        "",
        "    python train.py                              # one process: the GPU if there is one, else the CPU",
        "    torchrun --nproc-per-node 4 train.py         # DistributedDataParallel, 4 processes on this machine",
        "    torchrun --nnodes 2 --node-rank 0 --nproc-per-node 8 \\\\",
        "        --master-addr HOST --master-port 29500 train.py   # several machines (node-rank 1 on the other)",
        "",
        "With several processes each takes its share of every batch (nccl on GPUs, gloo on CPUs); only the first",
        "prints and saves. Settings below come from the design; most can also be given on the command line.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        *(f"import {name}" for name in imports),
        "from pathlib import Path",
        "",
        "import numpy as np",
        "import torch",
        "import torch.distributed as dist",
        "from torch import nn",
        "from torch.nn.parallel import DistributedDataParallel",
        "",
        f"from model import DESIGN_NAME, INPUT_SHAPE, TASK, {cls} as MODEL_CLASS",
        "",
        "HERE = Path(__file__).resolve().parent",
        "",
        _dict_literal("DATASET", dataset),
        _dict_literal("TRAINING", settings),
        "assert TASK in ('regression', 'binary', 'multiclass')",
        "",
        "",
        "# ---- data ------------------------------------------------------------------------------------------------",
    ]
    source_text = "\n".join(header) + "\n" + data_code + body
    return check_generated(source_text, "train.py")
