"""Reading and writing `.nnstudio` design files: the loader pipeline, the stable writer and the atomic save.

Loading goes one way, each step refusing what the next could not survive:
raw bytes (size cap) → UTF-8 → nesting-depth scan → JSON (number caps) → format and version → migrations
→ counts of layers and connections → typed records (pydantic) → Design → parameter budget.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from nnstudio.core.catalogue import LAYER_TYPES
from nnstudio.core.document import Design, Layer
from nnstudio.core.errors import FormatError, NNStudioError, SaveError

from . import versions
from .atomic import write_atomic
from .builder import build_design
from .limits import DEFAULT_LIMITS, Limits
from .records import read_record
from .regular_file import open_regular
from .safe_json import parse_json, too_big

# Lone surrogates (possible in a str, never in UTF-8) are written as \\uXXXX escapes so the file stays UTF-8.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


# ---- writing ---------------------------------------------------------------------------------------------

def design_to_dict(design: Design) -> dict[str, Any]:
    """The file's JSON object; key order is part of the format (stable, diff-friendly files)."""
    return {
        "format": versions.FORMAT,
        "version": versions.VERSION,
        "name": design.name,
        "description": design.description,
        "layers": [_layer_to_dict(layer) for layer in design.layers.values()],
        "connections": [{"from": c.source, "to": c.target} for c in design.connections],
        "dataset": design.dataset.to_dict(),
        "training": design.training.to_dict(),
        "view": design.view.to_dict(),
    }


def _layer_to_dict(layer: Layer) -> dict[str, Any]:
    ltype = LAYER_TYPES.get(layer.type)
    order = list(ltype.params) if ltype else []
    # Catalogue order first, so a parameter added to the catalogue lands in the same place in every file.
    params = {key: layer.params[key] for key in order if key in layer.params}
    params.update((key, value) for key, value in layer.params.items() if key not in params)
    x, y = layer.position
    return {"id": layer.id, "type": layer.type, "name": layer.name, "params": params, "position": [x, y]}


def dumps(design: Design) -> str:
    """The file's text: UTF-8 JSON, 2-space indent, stable key order, trailing newline.

    Short lists of numbers or names (a position, the input features) and each connection sit on one line,
    so moving a layer or adding a connection changes one line of a diff.
    """
    text = _format(design_to_dict(design), 0)
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


def _inline(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))


def _format(value: Any, level: int, inline_items: bool = False) -> str:
    if not isinstance(value, (dict, list)) or not value:
        return _inline(value)
    if isinstance(value, list) and not any(isinstance(item, (dict, list)) for item in value):
        return _inline(value)
    pad, end = "  " * (level + 1), "  " * level
    if isinstance(value, dict):
        lines = [f"{pad}{_inline(key)}: {_format(item, level + 1, level == 0 and key == 'connections')}"
                 for key, item in value.items()]
        return "{\n" + ",\n".join(lines) + "\n" + end + "}"
    lines = [pad + (_inline(item) if inline_items else _format(item, level + 1)) for item in value]
    return "[\n" + ",\n".join(lines) + "\n" + end + "]"


def save_design(design: Design, path: str | os.PathLike[str]) -> None:
    """Write `design` to `path` atomically; on failure the old file is untouched and SaveError says why."""
    try:
        data = dumps(design).encode("utf-8")
    except (ValueError, TypeError, AttributeError) as exc:
        raise SaveError(f"could not save {os.fspath(path)}: the design holds a value a file cannot store "
                        f"({exc})") from None
    write_atomic(path, data)


# ---- reading ---------------------------------------------------------------------------------------------

def loads(text: str | bytes, *, limits: Limits = DEFAULT_LIMITS, source: str | None = None) -> Design:
    """Read a design from the file's text or bytes; every problem is a FormatError with its JSON path."""
    if not isinstance(text, (str, bytes, bytearray, memoryview)):
        raise TypeError(f"loads() takes the file's text or bytes, not {type(text).__name__}")
    try:
        return _load(text, limits)
    except FormatError as exc:
        raise FormatError(exc.reason, path=exc.path, file=source) from None
    except NNStudioError as exc:
        raise FormatError(str(exc), file=source) from None
    except Exception as exc:  # the last line: no input may crash the app; `from exc` keeps the cause
        raise FormatError(f"could not read the design (internal error: {type(exc).__name__}: {exc})",
                          file=source) from exc


def _load(text: str | bytes, limits: Limits) -> Design:
    data = parse_json(text, max_bytes=limits.max_file_bytes, max_depth=limits.max_depth)
    version = versions.check_header(data)
    data = versions.migrate(data, version)
    _check_counts(data, limits)
    record = read_record(data)
    return build_design(record, limits)


def _check_counts(data: dict[str, Any], limits: Limits) -> None:
    """Refuse oversized designs on the raw lists, before validating or building anything from them."""
    for key, cap in (("layers", limits.max_layers), ("connections", limits.max_connections)):
        items = data.get(key)
        if isinstance(items, list) and len(items) > cap:
            raise FormatError(f"the file has {len(items):,} {key}; the limit is {cap:,} {key}", path=key)


def load_design(path: str | os.PathLike[str], *, limits: Limits = DEFAULT_LIMITS) -> Design:
    """Read a design file; a missing, unreadable or invalid file is a FormatError naming it."""
    shown = os.fspath(path)
    cap = limits.max_file_bytes
    try:
        with open_regular(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > cap:
                raise FormatError(too_big(size, cap), file=shown)
            # One byte past the cap at most: a growing file or a device like /dev/zero cannot make us read more.
            data = handle.read(cap + 1)
    except OSError as exc:
        raise FormatError(f"could not read {shown}: {exc.strerror or exc}", file=shown) from None
    return loads(data, limits=limits, source=shown)
