"""Design → readable PyTorch source: a `model.py` a person could have written and a `train.py` that runs anywhere.

Text from a design (its name, description, dataset path) enters the generated code only as `repr()`
literals; identifiers are checked or rebuilt from ASCII letters and digits; numbers are formatted from
checked ints and floats. Every generated file is parsed with `ast.parse` before it is handed out, so a
hostile design file can change what the code *says*, never what it *does*.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import keyword
import math
import re
from dataclasses import dataclass
from types import ModuleType
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
    GENERATED_BUILTINS,
    PLAYGROUND_DATASETS,
    PLAYGROUND_FEATURES,
    DatasetSpec,
    TrainingConfig,
)
from nnstudio.data import playground, shapes
from nnstudio.ml.builder import WEIGHTED_MODULES, contributing_layers, init_weights
from nnstudio.ml.codegen_layers import CODE_WRITERS, Node, code_float, code_int
from nnstudio.ml.codegen_recipe import RECIPE_FUNCTIONS, function_source, recipe_code, train_usage  # noqa: F401
from nnstudio.ml.templates import model_template, train_template

# Names `forward` itself uses: a layer (and so a local variable) may never be called one of these.
_FORWARD_NAMES = frozenset({"x", "self", "torch", "nn", "F"})
# Module-level names of model.py that the class must not shadow.
_MODULE_NAMES = frozenset({"DESIGN_NAME", "DESCRIPTION", "TASK", "INPUT_SHAPE", "load_model", "annotations"})
_MAX_CLASS_NAME = 60

_OUTPUT_NOTES = {
    "binary": "logits: torch.sigmoid gives the probability of class 1",
    "multiclass": "logits: torch.softmax(..., dim=1) gives class probabilities",
    "regression": "the predicted values",
}
# Under the Playground recipe the binary output neuron is tanh(z), trained with ½(tanh z − t)² on t = ±1.
_PLAYGROUND_BINARY_NOTE = "z: Playground's output is tanh(z); (1 + tanh z) / 2 is the probability of class 1"


# ---- checked pieces of code ------------------------------------------------------------------------------

_int, _float = code_int, code_float


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


def _text_literal(text: str, indent: str = "", width: int = 96) -> str:
    """A string literal that keeps generated lines short: one `repr`, or an implicit concatenation of reprs of
    at most `width` characters each inside parentheses (a long description stays within the line limit)."""
    whole = repr(text)
    if len(whole) <= width:
        return whole
    pieces, current = [], ""
    for word in re.findall(r"\S+\s*|\s+", text):  # break after spaces; a word too long breaks anywhere
        for char in word if len(repr(word)) > width else [word]:
            if current and len(repr(current + char)) > width:
                pieces.append(current)
                current = ""
            current += char
    pieces.append(current)
    inner = "".join(f"\n{indent}    {piece!r}" for piece in pieces)
    return f"({inner}\n{indent})"


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
        if shape is None:  # cannot happen without an error above; refuse rather than write broken code
            raise ExportError(f"the design cannot be exported: layer '{layer.name}' has no shape")
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
    """The constructor of a layer's module; None for layers written as plain expressions in `forward`."""
    writer = CODE_WRITERS.get(node.type)
    if writer is None:
        raise ExportError(f"layer '{node.name}' has type {node.type!r:.40}, which the code generator does not know")
    return writer.module(node)


def _forward_lines(plan: Plan, recipe: str = "pytorch") -> list[str]:
    """`forward`'s body: a chain runs through `x`; a value used twice or joined by a merge gets its layer's
    name as a variable, so branches and skip connections read like a person wrote them."""
    nodes = plan.nodes
    position = {n.name: i for i, n in enumerate(nodes)}
    merges = {n.name: CODE_WRITERS[n.type].merges for n in nodes}
    consumers: dict[str, list[str]] = {n.name: [] for n in nodes}
    for n in nodes:
        for source in n.inputs:
            consumers[source].append(n.name)

    def flows_in_x(name: str) -> bool:
        users = consumers[name]
        return (len(users) == 1 and position[users[0]] == position[name] + 1
                and not merges[users[0]])

    variable = {n.name: ("x" if flows_in_x(n.name) else n.name) for n in nodes}
    lines = []
    first = nodes[0]
    if variable[first.name] != "x":
        lines.append(f"{first.name} = x")
    for node in nodes[1:]:
        args = [variable[s] for s in node.inputs]
        expr = CODE_WRITERS[node.type].forward(node, args)
        if node.type == "Output":
            note = _PLAYGROUND_BINARY_NOTE if recipe == "playground" and plan.task == "binary" else \
                _OUTPUT_NOTES[plan.task]
            lines.append(f"return {expr}  # {note}")
        elif expr != variable[node.name]:  # a linear Activation on x would read `x = x`
            lines.append(f"{variable[node.name]} = {expr}")
    return lines


def _predict_lines(task: str, recipe: str = "pytorch") -> list[str]:
    if task == "binary" and recipe == "playground":
        return ['"""Probability of class 1, shape (batch, 1): the tanh output mapped to 0..1."""',
                "return (1.0 + torch.tanh(self(x))) / 2.0"]
    if task == "binary":
        return ['"""Probability of class 1 for each sample, shape (batch, 1)."""',
                "return torch.sigmoid(self(x))"]
    if task == "multiclass":
        return ['"""Class probabilities, shape (batch, classes); argmax(dim=1) gives the class."""',
                "return torch.softmax(self(x), dim=1)"]
    return ['"""The predicted values (the same as calling the model)."""', "return self(x)"]


def _load_model_source(cls: str) -> str:
    """model_template.load_model, its stand-in class renamed to the design's (a checked identifier)."""
    return re.sub(r"\bDesignModel\b", cls, function_source(model_template.load_model))


def generate_model_code(design: Design) -> str:
    """`model.py`: one `nn.Module` whose `state_dict` keys equal NN Studio's (`fc1.weight`, ...); imports torch."""
    plan = plan_design(design)
    cls = class_name_for(design.name)
    init = []
    for node in plan.nodes:
        code = _module_code(node)
        if code is not None:
            init.append(f"self.{node.name} = {code}")
    recipe = design.training.recipe
    forward = _forward_lines(plan, recipe)
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
        f"DESIGN_NAME = {_text_literal(str(design.name))}",
        f"DESCRIPTION = {_text_literal(str(design.description))}",
        f"TASK = {_literal(plan.task)}  # regression, binary or multiclass",
        f"INPUT_SHAPE = {input_shape}  # one sample, without the batch dimension",
        "",
        "",
        f"class {cls}(nn.Module):",
        f"    {_text_literal(f'The network of the NN Studio design {design.name!s}.', '    ')}",
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
        *(f"        {line}" for line in _predict_lines(plan.task, recipe)),
        "",
        "",
        *_load_model_source(cls).splitlines(),
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

# Template functions every train.py holds, in this order (nnstudio/ml/templates/train_template.py).
TRAIN_FUNCTIONS = ("split", "count_correct", "regularised_weights", "make_optimizer", "make_schedule", "evaluate",
                   "start_processes", "save_weights", "main", "stop_processes")

# The loader each data source needs, and the template functions it calls.
SOURCE_FUNCTIONS = {"playground": ("load_playground",), "builtin": ("load_builtin",), "shapes": ("load_shapes",),
                    "csv": ("data_path", "encode_targets", "load_csv"),
                    "npz": ("data_path", "encode_targets", "load_npz")}
_BATCHNORM_GUARD = ("            if len(index) < 2:  # BatchNorm cannot normalise a batch of one sample\n"
                    "                continue\n")


def assignment_source(module: ModuleType, name: str) -> str:
    """`name = <value>` with the value's source as it stands in `module` (its annotation left out)."""
    source = inspect.getsource(module)
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == name for t in targets) and node.value is not None:
            return f"{name} = {ast.get_source_segment(source, node.value)}\n"
    raise ExportError(f"the code generator cannot find {name} in {module.__name__}")  # pragma: no cover


def _playground_code(name: str) -> str:
    """Playground's generator for `name`, copied from nnstudio.data.playground with the helpers it uses."""
    generator = playground.GENERATORS[name]
    source = function_source(generator)
    parts = []
    if "_halves(" in source:
        parts.append(function_source(playground._halves))
    for constant in ("_REG_GAUSS_CENTRES", "_REG_GAUSS_SIGNS"):
        if constant in source:
            parts.append(assignment_source(playground, constant))
    parts += [source, f"make_points = {generator.__name__}\n", assignment_source(playground, "_FEATURES")]
    return "\n\n".join(parts)


def _shapes_code() -> str:
    """The shapes generator, copied from nnstudio.data.shapes: its constants and drawing functions, without
    the module's docstring, imports and preview helper (train.py imports numpy and math itself)."""
    source = inspect.getsource(shapes)
    parts = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the module docstring
        if isinstance(node, ast.FunctionDef) and node.name in _SHAPES_LEFT_OUT:
            continue
        parts.append(ast.get_source_segment(source, node, padded=True))
    return "\n\n".join(parts) + "\n"


_SHAPES_LEFT_OUT = frozenset({"preview_grid"})


def _weighted_modules() -> str:
    names = ", ".join(f"nn.{cls.__name__}" for cls in WEIGHTED_MODULES)
    return f"WEIGHTED_MODULES = ({names})  # what init_weights initialises and L1 / L2 act on\n"


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
        data_parts = [_playground_code(spec.name)]
        dataset = {"source": source, "name": spec.name, "samples": spec.samples, "noise": spec.noise,
                   "features": list(spec.features)}
        uses = "numpy"
    elif source == "builtin" and spec.name in GENERATED_BUILTINS:
        data_parts = [_shapes_code()]
        dataset = {"source": source, "name": spec.name, "samples": spec.samples, "noise": spec.noise}
        uses = "numpy"
    elif source == "builtin":
        if spec.name not in BUILTIN_DATASETS:
            raise ExportError(f"'{spec.name:.40}' is not a built-in dataset")
        data_parts = []
        dataset = {"source": source, "name": spec.name, "as_images": spec.as_images}
        uses = "numpy and scikit-learn's bundled datasets"
    elif source in ("csv", "npz"):
        data_parts = []
        if source == "csv":
            imports.insert(0, "csv")
        dataset = {"source": source, "path": spec.path, "target": spec.target}
        uses = "numpy"
    else:
        raise ExportError(f"unknown data source {source!r:.40}")
    generated = source == "builtin" and spec.name in GENERATED_BUILTINS  # drawn by NN Studio, not loaded
    loaders = SOURCE_FUNCTIONS[spec.name if generated else source]
    data_parts += [function_source(getattr(train_template, f)) for f in loaders]
    data_parts.append(f"load_source = {loaders[-1]}  # the loader of this design's data source\n")
    code_parts = [_weighted_modules(), function_source(init_weights)]
    before_main = TRAIN_FUNCTIONS.index("main")
    code_parts += [function_source(getattr(train_template, f)) for f in TRAIN_FUNCTIONS[:before_main]]
    code_parts += recipe_code(training, plan.task)
    code_parts += [function_source(getattr(train_template, f)) for f in TRAIN_FUNCTIONS[before_main:]]
    body = "\n\n".join(code_parts)
    if not plan.has_batchnorm:
        body = body.replace(_BATCHNORM_GUARD, "")
    body += '\n\nif __name__ == "__main__":\n    main()\n'
    dataset.update(train_percent=spec.train_percent, seed=spec.seed, standardize=spec.standardize)
    dataset.setdefault("path", "")
    settings = training.to_dict()
    settings.pop("device", None)  # chosen on the machine that runs train.py (--device)
    usage = train_usage(training)
    header = [
        f"# Generated by NN Studio {__version__}. Plain PyTorch: edit it as you like.",
        f'"""Train the exported network on its dataset with plain PyTorch ({uses}).',
        "",
        *usage,
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
        "from model import DESIGN_NAME, INPUT_SHAPE, TASK",
        f"from model import {cls} as MODEL_CLASS",
        "",
        "HERE = Path(__file__).resolve().parent",
        "",
        _dict_literal("DATASET", dataset),
        _dict_literal("TRAINING", settings),
        "",
        "",
        "# ---- data ------------------------------------------------------------------------------------------------",
        "",
    ]
    middle = "\n# ---- model, loss and optimiser, one process or many under torchrun " + "-" * 40 + "\n\n"
    source_text = "\n".join(header) + "\n" + "\n\n".join(data_parts) + "\n" + middle + body
    return check_generated(source_text, "train.py")
