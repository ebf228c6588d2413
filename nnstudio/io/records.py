"""Typed records of a version-1 design file (pydantic, strict), and their errors turned into JSON paths and words.

The records check the file's *structure*: which keys exist and what kind of JSON value each holds. The
*values* of layer parameters and settings are checked afterwards by the core's own schemas, so a file and
the editor refuse exactly the same things with the same words.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nnstudio.core.errors import FormatError

from .paths import describe, json_path


class _Record(BaseModel):
    # strict: "4" is not a number and 1 is not text; forbid: a misspelt key is an error, not silently ignored.
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class LayerRecord(_Record):
    id: str
    type: str
    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    position: Annotated[list[float], Field(min_length=2, max_length=2)] = Field(default_factory=lambda: [0.0, 0.0])


class ConnectionRecord(_Record):
    source: str = Field(alias="from")
    target: str = Field(alias="to")


class DesignRecord(_Record):
    format: str
    version: int
    name: str
    description: str = ""
    layers: list[LayerRecord]
    connections: list[ConnectionRecord]
    dataset: dict[str, Any] = Field(default_factory=dict)
    training: dict[str, Any] = Field(default_factory=dict)
    view: dict[str, Any] = Field(default_factory=dict)


def _keys(model: type[BaseModel]) -> str:
    return ", ".join(f.alias or name for name, f in model.model_fields.items())


def _record_at(loc: tuple[str | int, ...]) -> type[BaseModel]:
    """Which record the object at `loc` is (for listing the keys it may have)."""
    if len(loc) == 2 and loc[0] == "layers":
        return LayerRecord
    if len(loc) == 2 and loc[0] == "connections":
        return ConnectionRecord
    return DesignRecord


_KIND_WORDS = {
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "finite_number": "must be a finite number",
}


def _plain_words(error: dict[str, Any]) -> str:
    kind, loc, value = error["type"], tuple(error["loc"]), error.get("input")
    if kind == "missing":
        return "is missing"
    if kind == "extra_forbidden":
        return f"unknown key (known keys: {_keys(_record_at(loc[:-1]))})"
    if loc and loc[-1] == "position" and kind in ("too_short", "too_long"):
        return f"must be two numbers [x, y], not a list of {len(value)}"
    if kind in _KIND_WORDS:
        return f"{_KIND_WORDS[kind]}, not {describe(value)}"
    return str(error.get("msg", "is not valid")).rstrip(".").lower()


def read_record(data: dict[str, Any]) -> DesignRecord:
    """Validate the parsed file's structure; the first problem becomes a FormatError at its JSON path."""
    try:
        return DesignRecord.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        raise FormatError(_plain_words(first), path=json_path(first["loc"])) from None
