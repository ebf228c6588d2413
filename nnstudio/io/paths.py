"""JSON paths and values written the way a user reads them in an error: `layers[3].params.units`, `"4"`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from nnstudio.core.text import shown as _escaped

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")


def json_path(parts: Iterable[str | int]) -> str:
    """('layers', 3, 'params', 'units') → 'layers[3].params.units'; odd keys are quoted, long ones cut."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            # A hostile file may use a megabyte-long key or control characters: keep the message readable.
            shown = part if len(part) <= 40 else part[:40] + "…"
            out += f"[{_escaped(json.dumps(shown, ensure_ascii=False), None)}]"
    return out


def describe(value: Any) -> str:
    """A short JSON-flavoured picture of a value for 'must be a number, not …' messages."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = json.dumps(value[:40] + ("…" if len(value) > 40 else ""), ensure_ascii=False)
        return f"the text {_escaped(text, None)}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
