"""Untrusted bytes to plain JSON values: size, encoding, nesting and number caps — a FormatError, never a crash."""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from nnstudio.core.errors import FormatError

from .paths import json_path

UTF8_BOM = b"\xef\xbb\xbf"
# Python's int() refuses more than 4300 digits with a ValueError; no design value needs more than a few.
MAX_INT_DIGITS = 30
# Python writes any float in at most 24 characters; a longer literal was not written by NN Studio.
MAX_FLOAT_CHARS = 100

# A JSON string, or an unterminated one running to the end (its brackets must not count as nesting).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
# Keep only brackets, as signed bytes: opening +1, closing -1, so a running sum is the nesting depth.
_BRACKET_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class Refused:
    """Left in the parsed tree where a value had to be refused, so the error can name its JSON path."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def nesting_depth(raw: bytes) -> int:
    """The deepest nesting of lists and objects, counted outside strings, in C-speed passes over the bytes.

    json.loads recurses once per level, so 100 000 opening brackets would raise RecursionError (or worse)
    before it could say anything useful; this runs first and needs no recursion at all.
    """
    structure = _STRING.sub(b"", raw).translate(_BRACKET_STEPS, _NOT_BRACKETS)
    if not structure:
        return 0
    return max(0, max(accumulate(memoryview(structure).cast("b"))))


class _Hooks:
    """json.loads hooks for one parse; `refused` counts placeholders so clean files skip the search."""

    def __init__(self) -> None:
        self.refused = 0

    def _refuse(self, reason: str) -> Refused:
        self.refused += 1
        return Refused(reason)

    def parse_int(self, text: str) -> int | Refused:
        digits = len(text) - text.startswith("-")
        if digits > MAX_INT_DIGITS:
            return self._refuse(f"this number has {digits:,} digits; a number may have at most {MAX_INT_DIGITS}")
        return int(text)

    def parse_float(self, text: str) -> float | Refused:
        if len(text) > MAX_FLOAT_CHARS:
            return self._refuse(f"this number is written with {len(text):,} characters; at most "
                                f"{MAX_FLOAT_CHARS} are allowed")
        value = float(text)
        if not math.isfinite(value):
            return self._refuse(f"the number {text} is too large")
        return value

    def parse_constant(self, name: str) -> Refused:
        return self._refuse(f"{name} is not allowed: numbers must be finite")

    def make_object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any] | Refused:
        obj = dict(pairs)
        if len(obj) != len(pairs):  # a repeated key would silently lose one of its values
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    return self._refuse(f"the key {json.dumps(key[:40])} appears more than once")
                seen.add(key)
        return obj


def first_refused(value: Any) -> tuple[str, str] | None:
    """(JSON path, reason) of the first refused value in document order, or None."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, Refused):
            return json_path(path), item.reason
        if isinstance(item, dict):
            stack.extend(reversed([(path + (k,), v) for k, v in item.items()]))
        elif isinstance(item, list):
            stack.extend(reversed([(path + (i,), v) for i, v in enumerate(item)]))
    return None


def to_bytes(data: str | bytes | bytearray | memoryview, max_bytes: int) -> bytes:
    """The raw UTF-8 bytes of `data`, refusing oversized input before copying it."""
    if isinstance(data, str):
        # Every character takes at least one UTF-8 byte, so this refuses before encoding a huge text.
        if len(data) > max_bytes:
            raise FormatError(too_big(len(data), max_bytes))
        try:
            raw = data.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise FormatError(f"the text holds a character that is not valid Unicode (a lone surrogate "
                              f"at character {exc.start:,})") from None
    elif isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
    else:
        raise TypeError(f"expected the file's text or bytes, not {type(data).__name__}")
    if len(raw) > max_bytes:
        raise FormatError(too_big(len(raw), max_bytes))
    return raw


def too_big(size: int, max_bytes: int) -> str:
    return (f"the file is {size:,} bytes; a design file may be at most {max_bytes:,} bytes "
            f"({max_bytes / 2**20:g} MiB)")


def parse_json(data: str | bytes | bytearray | memoryview, *, max_bytes: int, max_depth: int) -> Any:
    """Parse untrusted JSON text; every problem is a FormatError naming the byte, line or JSON path."""
    raw = to_bytes(data, max_bytes)
    offset = 0
    head = raw[:4]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(head) == 4 and b"\x00\x00" in (head[0::2], head[1::2])):
        # UTF-16 is valid UTF-8 byte by byte (NUL is a character), so without this the parser would say
        # "not valid JSON at line 1, column 1", which names no cause.
        raise FormatError("the file is UTF-16 text; save it as UTF-8 (NN Studio design files are UTF-8)")
    if raw.startswith(UTF8_BOM):  # Windows editors like to add one; it carries no meaning
        raw, offset = raw[len(UTF8_BOM):], len(UTF8_BOM)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start]
        raise FormatError("this is not an NN Studio design (it is not text): open a .nnstudio file saved by "
                          "NN Studio, or save the file again as UTF-8 text "
                          f"(byte 0x{bad:02x} at offset {exc.start + offset:,} is not UTF-8)") from None
    if not text.strip():
        raise FormatError("the file is empty")
    depth = nesting_depth(raw)
    if depth > max_depth:
        raise FormatError(f"lists and objects are nested {depth:,} levels deep; at most {max_depth} are allowed")
    hooks = _Hooks()
    try:
        value = json.loads(text, object_pairs_hook=hooks.make_object, parse_int=hooks.parse_int,
                           parse_float=hooks.parse_float, parse_constant=hooks.parse_constant)
    except json.JSONDecodeError as exc:
        raise FormatError(f"this is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:  # the depth scan should make this impossible; kept as a backstop
        raise FormatError("lists and objects are nested too deeply") from None
    refused = first_refused(value) if hooks.refused else None
    if refused is not None:
        path, reason = refused
        raise FormatError(reason, path=path)
    return value
