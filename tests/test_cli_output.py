"""The command line's tables and colours (rich): plain text off a terminal, user text never read as markup."""

from __future__ import annotations

import io

from nnstudio.cli_output import console_for, table
from nnstudio.core import Design
from nnstudio.io import save_design


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_when_not_a_terminal_and_coloured_on_one():
    rows = [("fc1", "64"), ("[red]x", "3")]
    plain = io.StringIO()
    console_for(plain).print(table([("name", "left"), ("units", "right")], rows))
    assert "\x1b[" not in plain.getvalue()
    assert "[red]x" in plain.getvalue()  # printed as typed, not as markup
    tty = Terminal()
    console_for(tty).print(table([("name", "left"), ("units", "right")], rows))
    assert "\x1b[" in tty.getvalue() and "[red]x" in tty.getvalue()


def test_validate_prints_a_table_with_markup_in_names_kept(tmp_path, capsys):
    from nnstudio.validate_cli import validate

    design = Design("[bold]demo")
    a = design.add_layer("Input", params={"features": 2}, name="inp")
    b = design.add_layer("Dense", params={"units": 3}, name="hidden")
    c = design.add_layer("Output", name="out")
    design.connect(a.id, b.id)
    design.connect(b.id, c.id)
    path = tmp_path / "d.nnstudio"
    save_design(design, path)
    assert validate(str(path)) == 0
    out = capsys.readouterr().out
    assert "[bold]demo" in out and "\x1b[" not in out
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("name"))
    assert header.split() == ["name", "type", "output", "shape", "parameters"]
    assert any(line.split()[:1] == ["hidden"] and line.split()[-1] == "9" for line in lines)
    assert lines[-1] == "valid"
