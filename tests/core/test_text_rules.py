"""Names and text at the boundary: what the loader and the edit operations refuse, and how text is shown."""

import json

import pytest

from nnstudio.core import Design
from nnstudio.core.errors import DesignError, FormatError, LayerNameError
from nnstudio.core.text import excerpt, shown, text_problem
from nnstudio.io import dumps, loads


def _file(name: str = "ok", layer_name: str = "fc", **dataset: str) -> str:
    d = Design("x")
    d.add_layer("Input", "inp", {"features": 2})
    text = json.loads(dumps(d))
    text["name"] = name
    text["layers"][0]["name"] = layer_name
    text["dataset"].update(dataset)
    return json.dumps(text)  # ensure_ascii: a lone surrogate travels as the escape "\ud800"


@pytest.mark.parametrize("name", ["__h", "__init__", "_parameters", "_modules", "register_buffer", "x",
                                  "fc1\n", "fc\u00b2", "ﬁ"])
def test_layer_names_no_later_stage_could_use_are_refused_by_the_loader_and_by_rename(name):
    with pytest.raises(FormatError, match=r"^layers\[0\]\.name: "):
        loads(_file(layer_name=name))
    d = Design()
    layer = d.add_layer("Dense", "fc")
    with pytest.raises(LayerNameError):
        d.rename(layer.id, name)
    assert d.layer(layer.id).name == "fc"


@pytest.mark.parametrize("name", ["\ud800", "title\x1b]0;pwned\x07", "clear\x1b[2J", "nul\x00", "csi\x9b2J",
                                  "bidi\u202eevil", "two\nlines"])
def test_design_names_with_unencodable_or_control_characters_are_refused(name):
    with pytest.raises(FormatError, match="^name: the design's name holds"):
        loads(_file(name=name))
    with pytest.raises(DesignError):
        Design().set_meta(name=name)


def test_text_settings_follow_the_same_rule():
    with pytest.raises(FormatError, match=r"^dataset\.path: holds a control character"):
        loads(_file(path="data\x1b[2J.csv"))
    with pytest.raises(FormatError, match=r"^dataset\.target: holds a character that cannot be written"):
        loads(_file(target="\udfff"))


def test_a_description_may_hold_line_breaks_and_tabs_but_no_escapes():
    d = Design()
    d.set_meta(description="one\ntwo\r\n\tthree")
    with pytest.raises(DesignError, match="U\\+001B"):
        d.set_meta(description="red \x1b[31m")


def test_shown_escapes_everything_a_terminal_acts_on_and_cuts_long_text():
    assert shown("a\x1b[2Jb\x07\x00\ud800\u202e\x9b") == "a\\x1b[2Jb\\x07\\x00\\ud800\\u202e\\x9b"
    assert shown("é ✓ 🧠 tab") == "é ✓ 🧠 tab"
    assert shown("x" * 500, 10) == "x" * 10 + "…"
    assert excerpt("root:x:0:0:root:/root:/bin/bash" * 10) == "root:x:0:0:root:/root:/bin/bashroot:x:0:…"
    assert shown(text_problem("a\x1b") or "").encode("ascii")
    assert text_problem("é ✓ 🧠") is None


def test_validate_prints_hostile_text_escaped_and_never_a_traceback(tmp_path, capsys):
    from nnstudio.cli import main

    text = json.loads(_file())
    text["layers"][0]["params"] = {"\ud800\x1b[2J": 1}
    path = tmp_path / "hostile.nnstudio"
    path.write_text(json.dumps(text), encoding="ascii")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\\u001b[2J" in err and "\\ud800" in err
    err.encode("utf-8")
    path.write_text(_file(name="\x1b]0;title\x07"), encoding="ascii")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "name: the design's name holds a control character" in err
