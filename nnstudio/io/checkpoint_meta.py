"""The schema of a checkpoint's metadata (training state, optimizer listing, random-state listing), checked
with the same machinery as design files: strict pydantic records, the core's `ParamSpec`s, JSON paths.

Nothing in a checkpoint is trusted: a wrong type, an out-of-range counter, a learning rate no editor
would allow or an oversized history is refused with the JSON path of the first problem, before the trainer
sees any of it. The live hyper-parameters are re-validated against `TRAINING_FIELDS`, so a checkpoint
can hold no value the training panel or a design file would refuse. No torch here: the tensors that go
with these listings are checked in `nnstudio.ml.checkpoint`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nnstudio.core.errors import FormatError, ParameterError
from nnstudio.core.settings import TRAINING_FIELDS
from nnstudio.core.text import shown, text_problem

from .paths import json_path
from .records import _plain_words
from .safe_json import parse_json

MAX_METADATA_JSON_BYTES = 16 * 2**20
MAX_DEPTH = 16
MAX_HISTORY = 10_000  # entries; the trainer keeps the last 200 in a checkpoint
MAX_COUNTER = 10**15
MAX_GROUPS = 64
MAX_LIST = 1_000_000
# ASCII only: str.isdigit() also takes '²' and '١', which int() then refuses (or reads as another number).
INDEX_RE = re.compile(r"[0-9]{1,9}\Z")
KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")
TENSOR = "tensor"  # the optimizer listing's marker for "this value is the tensor optim.<i>.<key>"

Scalar = bool | int | float | str | None
Counter = Annotated[int, Field(ge=0, le=MAX_COUNTER)]


class _Record(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class TrainingStateRecord(_Record):
    epoch: Counter = 0
    batch: Counter = 0
    step: Counter = 0
    samples_seen: Counter = 0
    optimizer: str | None = None  # None: unknown, so saved moments are not reused
    seed: int = 0
    device: Annotated[str, Field(max_length=64)] = "cpu"
    graph_mode: Literal["eager", "cuda_graph"] = "eager"
    hyperparameters: dict[str, float] = Field(default_factory=dict)
    history: Annotated[list[dict[str, Scalar]], Field(max_length=MAX_HISTORY)] = Field(default_factory=list)
    # The model file an imported design came from (nnstudio import), shown to the user, never opened again.
    imported_from: Annotated[str, Field(max_length=1000)] | None = None


class OptimizerListingRecord(_Record):
    state: dict[str, dict[str, Scalar]]
    param_groups: Annotated[list[dict[str, Scalar | list[Scalar]]], Field(max_length=MAX_GROUPS)]


def _parse(text: str, what: str) -> Any:
    try:
        return parse_json(text, max_bytes=MAX_METADATA_JSON_BYTES, max_depth=MAX_DEPTH)
    except FormatError as exc:
        raise FormatError(f"its {what} is not valid: {exc}") from None


def _validated(model: type[BaseModel], data: Any, what: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = json_path(first["loc"])
        if first["type"] == "extra_forbidden" and len(first["loc"]) == 1:
            words = f"unknown key (known keys: {', '.join(model.model_fields)})"
        else:
            words = _plain_words(first)
        raise FormatError(f"its {what} is not valid: {where + ': ' if where else ''}{words}") from None


def _refuse(what: str, where: tuple[str | int, ...], reason: str) -> FormatError:
    return FormatError(f"its {what} is not valid: {json_path(where)}: {reason}")


def read_training_state(text: str) -> dict[str, Any]:
    """The training state's JSON as a plain dict in which every value has the type and range it should."""
    what = "training state"
    record: TrainingStateRecord = _validated(TrainingStateRecord, _parse(text, what), what)
    for key in ("optimizer", "seed"):
        if getattr(record, key) is None:
            continue
        try:
            TRAINING_FIELDS[key].check(getattr(record, key), None)
        except ParameterError as exc:
            raise _refuse(what, (key,), str(exc)) from None
    for key in ("device", "imported_from"):
        problem = text_problem(getattr(record, key) or "")
        if problem:
            raise _refuse(what, (key,), problem)
    for key, value in record.hyperparameters.items():
        spec = TRAINING_FIELDS.get(key)
        if spec is None or spec.kind != "float":
            raise _refuse(what, ("hyperparameters", key), "is not a live hyper-parameter (known: "
                          + ", ".join(k for k, s in TRAINING_FIELDS.items() if s.kind == "float") + ")")
        try:
            spec.check(value, None)  # the same range the training panel and design files allow
        except ParameterError as exc:
            raise _refuse(what, ("hyperparameters", key), str(exc)) from None
    for index, entry in enumerate(record.history):
        for key, value in entry.items():
            if not KEY_RE.match(key) or (isinstance(value, str) and (len(value) > 64 or text_problem(value))):
                raise _refuse(what, ("history", index, key), "is not a metric name and value")
    return record.model_dump()


def read_optimizer_listing(text: str) -> dict[str, Any] | None:
    """The optimizer listing (None: none saved), with state indices as ints and tensor keys checked."""
    what = "optimizer state"
    data = _parse(text, what)
    if data is None:
        return None
    record: OptimizerListingRecord = _validated(OptimizerListingRecord, data, what)
    state: dict[int, dict[str, Scalar]] = {}
    for index, keys in record.state.items():
        if not INDEX_RE.match(index):
            raise _refuse(what, ("state", index), "a parameter index must be a whole number written in 0-9")
        for key in keys:
            if not KEY_RE.match(key):
                raise _refuse(what, ("state", index, key), "is not a valid state name")
        state[int(index)] = dict(keys)
    for g, group in enumerate(record.param_groups):
        for key, value in group.items():
            if not KEY_RE.match(key):
                raise _refuse(what, ("param_groups", g, key), "is not a valid setting name")
            if isinstance(value, list) and len(value) > MAX_LIST:
                raise _refuse(what, ("param_groups", g, key), f"lists more than {MAX_LIST:,} values")
    return {"state": state, "param_groups": [dict(g) for g in record.param_groups]}


def read_rng_listing(text: str) -> list[str]:
    what = "random state listing"
    names = _parse(text, what)
    if not isinstance(names, list) or len(names) > 16:
        raise FormatError(f"its {what} is not valid: it must be a list of at most 16 names")
    for i, name in enumerate(names):
        if not isinstance(name, str) or not KEY_RE.match(name) or names.index(name) != i:
            raise _refuse(what, (i,), f"{shown(repr(name), 40)} is not a name, or is listed twice")
    return names
