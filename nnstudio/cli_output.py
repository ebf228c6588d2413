"""What the command line prints, drawn with rich: tables, a live progress bar, colour only on a terminal.

User text (design and layer names, messages) is never read as rich markup, so a name like "[red]x"
prints as itself. When the output is a file or a pipe there are no colours, no cursor codes and no live
redraws: plain lines that logs and scripts can read. Error lines (`prog: message` on stderr) stay plain
`print`s in the CLI modules, so their wording and exit codes do not depend on this module.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text


def is_terminal(stream: Any) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


def console_for(stream: TextIO) -> Console:
    """A console on `stream`: colour and live redraws on a terminal (unless NO_COLOR), plain text otherwise."""
    tty = is_terminal(stream)
    return Console(file=stream, force_terminal=tty, no_color=not tty or bool(os.environ.get("NO_COLOR")),
                   markup=False, emoji=False, highlight=False, soft_wrap=not tty,
                   width=None if tty else 200)


def table(columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[Any]], title: str | None = None,
          header: bool = True) -> Table:
    """A table of plain cells: `columns` are (heading, "left" | "right"); a cell may be a rich Text."""
    out = Table(title=Text(title) if title else None, box=None, pad_edge=False, header_style="bold",
                title_justify="left", title_style="bold", show_header=header)
    for heading, justify in columns:
        out.add_column(Text(heading), justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for row in rows:
        out.add_row(*[cell if isinstance(cell, Text) else Text(str(cell)) for cell in row])
    return out


def styled(text: str, style: str = "") -> Text:
    """Plain user text with a style (never parsed as markup)."""
    return Text(text, style=style)


def json_safe(value: Any) -> Any:
    """`value` with NaN and infinities (in nested dicts and lists) as None: JSON that strict readers accept."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
