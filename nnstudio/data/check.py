"""Whether a design's Input and Output fit a dataset, told in words a learner can act on.

Pure: it returns messages and the caller attaches them to layers. A binary Output with other than one
unit is the shape rule's business (nnstudio.core.catalogue), so it is not repeated here.
"""

from __future__ import annotations

from collections.abc import Sequence

from .dataset import Dataset

_TASK_TITLES = {"regression": "a regression output", "binary": "a binary classifier",
                "multiclass": "a multi-class classifier"}
_MAX_LISTED = 8


def check_fit(
    dataset: Dataset,
    input_shape: tuple[int, ...],
    output_task: str,
    output_units: int,
    *,
    input_name: str | None = None,
    output_name: str | None = None,
) -> list[str]:
    """Messages saying where the Input's shape or the Output's task and units do not fit `dataset`."""
    problems = []
    message = _input_problem(dataset, tuple(input_shape), _layer("Input", input_name))
    if message:
        problems.append(message)
    message = _output_problem(dataset, output_task, output_units, _layer("Output", output_name))
    if message:
        problems.append(message)
    return problems


def _layer(kind: str, name: str | None) -> str:
    return f"{kind} '{name}'" if name else f"The {kind} layer"


def _count(number: int, word: str) -> str:
    return f"{number} {word}" if number == 1 else f"{number} {word}s"


def _listed(names: Sequence[str]) -> str:
    if not names:
        return ""
    shown = ", ".join(names[:_MAX_LISTED]) + (", ..." if len(names) > _MAX_LISTED else "")
    return f" ({shown})"


def _image(shape: tuple[int, ...]) -> str:
    return "×".join(str(d) for d in shape)


def _is_digits(dataset: Dataset) -> bool:
    return dataset.source == "builtin" and dataset.name == "digits"


def _input_problem(dataset: Dataset, have: tuple[int, ...], layer: str) -> str | None:
    want = dataset.input_shape
    if have == want:
        return None
    data = dataset.title
    if len(want) == 1:
        k = want[0]
        gives = f"{data} gives {k}{_listed(dataset.feature_names)}"
        if len(have) == 1:
            return f"{layer} takes {_count(have[0], 'feature')} but {gives}: set features to {k}"
        fix = f"switch the Input to vector mode with {_count(k, 'feature')}"
        if _is_digits(dataset):
            fix = f"turn on 'As images' in the dataset settings, or {fix}"
        return f"{layer} takes {_image(have)} images but {data} gives {_count(k, 'feature')}" \
               f"{_listed(dataset.feature_names)}: {fix}"
    channels, height, width = want
    fix = f"set channels to {channels}, height to {height} and width to {width}"
    if len(have) == 1:
        message = f"{layer} takes {_count(have[0], 'feature')} but {data} gives {_image(want)} images: switch " \
                  f"the Input to image mode and {fix}"
        if _is_digits(dataset):
            message += ", or turn off 'As images' to get 64 features"
        return message
    return f"{layer} takes {_image(have)} images but {data} gives {_image(want)} images: {fix}"


def _output_problem(dataset: Dataset, task: str, units: int, layer: str) -> str | None:
    data = dataset.title
    if task not in _TASK_TITLES:
        return f"{layer} has an unknown task '{task}'; use regression, binary or multiclass"
    if dataset.task == "regression":
        k = dataset.target_dim
        if task != "regression":
            return f"{layer} is {_TASK_TITLES[task]} but {data} is a regression dataset (it predicts " \
                   f"{_count(k, 'number')} per sample): set task to regression with {_count(k, 'unit')}"
        if units != k:
            return f"{layer} has {_count(units, 'unit')} but {data} has {_count(k, 'target value')} per " \
                   f"sample: set units to {k}"
        return None
    n = dataset.num_classes
    classes = f"{n} classes{_listed(dataset.class_names)}"
    fits = "binary with 1 unit" if n == 2 else f"multiclass with {n} units"
    if task == "regression":
        return f"{layer} does regression but {data} is a classification dataset with {classes}: set task to {fits}"
    if task == "binary":
        if n > 2:
            return f"{layer} is a binary classifier but {data} has {classes}: set task to multiclass with {n} units"
        return None
    if units != n:
        also = " (or task to binary with 1 unit)" if n == 2 else ""
        return f"{layer} has {_count(units, 'unit')} but {data} has {classes}: set units to {n}{also}"
    return None


def dataset_diagnostics(design, base_dir=None) -> list:
    """Diagnostics for `design` against its own dataset: on the Input and Output layers where they do not fit,
    or one design-level error if the dataset itself cannot be loaded (the DataError's message, which names
    the file, row and column)."""
    from nnstudio.core.catalogue import LAYER_TYPES
    from nnstudio.core.errors import DataError
    from nnstudio.core.inference import Diagnostic

    from .dataset import load_dataset

    try:
        dataset = load_dataset(design.dataset, base_dir)
    except DataError as exc:
        return [Diagnostic(None, "error", f"the dataset cannot be loaded: {exc}")]
    out = []
    for layer in design.layers.values():
        if layer.type == "Input":
            shape = LAYER_TYPES["Input"].shape_rule("Input", [], layer.params)
            message = _input_problem(dataset, shape, _layer("Input", layer.name))
        elif layer.type == "Output":
            message = _output_problem(dataset, layer.params["task"], layer.params["units"],
                                      _layer("Output", layer.name))
        else:
            continue
        if message:
            out.append(Diagnostic(layer.id, "error", message))
    return out
