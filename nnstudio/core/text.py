"""Safe text: which strings a design may hold, and how any text is shown on a terminal or in a message.

Two rules, used at the file boundary and by the edit operations, so every later stage can rely on them:
stored text is encodable as UTF-8 (no lone surrogates) and holds no control characters beyond the line
breaks and tabs a description may use (no terminal escapes, no NUL, no bidirectional overrides); and any
text shown to a person — a file's name, an excerpt of its contents, a value from a hostile file — goes
through `shown()`, which escapes what a terminal would act on and cuts it short.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, line/paragraph separators and the bidirectional overrides ("Trojan
# Source"): characters that move the cursor, recolour or retitle a terminal, or reorder what a reader sees.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
MULTILINE_OK = frozenset("\n\r\t")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` may not be stored in a design (words for an error message), or None if it may."""
    bad = _SURROGATE.search(value)
    if bad is not None:
        return (f"holds a character that cannot be written as UTF-8 (a lone surrogate, "
                f"U+{ord(bad.group()):04X}, at character {bad.start() + 1:,})")
    for match in _CONTROL.finditer(value):
        if multiline and match.group() in MULTILINE_OK:
            continue
        return (f"holds a control character (U+{ord(match.group()):04X}) at character {match.start() + 1:,}; "
                + ("only line breaks and tabs are allowed" if multiline else "it must be one line of plain text"))
    return None


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(text: object, limit: int | None = 200) -> str:
    """`text` as it may appear in a message: unsafe characters escaped (\\x1b, \\ud800), cut at `limit`."""
    value = text if isinstance(text, str) else str(text)
    if limit is not None and len(value) > limit:
        value = value[:limit] + "…"
    return _UNSAFE.sub(_escape, value)


def excerpt(text: object, limit: int = 40) -> str:
    """A short, escaped excerpt of a file's contents for an error message (never more than `limit` chars)."""
    return shown(text, limit)
