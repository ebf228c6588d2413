"""docs/file-format.md stays true: its tables of layer types and settings are generated from the catalogue.

Run `python tests/io/test_io_format_doc.py` to rewrite the generated parts after changing the catalogue.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from nnstudio.core import LAYER_TYPES
from nnstudio.core.catalogue import MANY
from nnstudio.core.schema import ParamSpec
from nnstudio.core.settings import DATASET_FIELDS, PLAYGROUND_FEATURES, TRAINING_FIELDS, VIEW_FIELDS
from nnstudio.io import FORMAT, VERSION, Limits

DOC = Path(__file__).resolve().parents[2] / "docs" / "file-format.md"
BLOCK = re.compile(r"(<!-- generated: (?P<name>[a-z ]+) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.DOTALL)


def _num(x: float | None) -> str:
    if x is None:
        return "…"
    if float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:g}"


def _value(spec: ParamSpec) -> str:
    if spec.kind == "int":
        return f"whole number, {_num(spec.minimum)} to {_num(spec.maximum)}"
    if spec.kind == "float":
        return f"number, {_num(spec.minimum)} to {_num(spec.maximum)}"
    if spec.kind == "bool":
        return "`true` or `false`"
    if spec.kind == "choice":
        return "one of " + ", ".join(f"`{c}`" for c in spec.choices)
    return f"text, at most {spec.max_length:,} characters"


def _rows(specs: dict[str, ParamSpec]) -> list[str]:
    rows = ["| key | value | default | meaning |", "|---|---|---|---|"]
    for key, spec in specs.items():
        rows.append(f"| `{key}` | {_value(spec)} | `{json.dumps(spec.default)}` | {spec.help.replace('|', '/')} |")
    return rows


def _inputs(min_inputs: int, max_inputs: int) -> str:
    if max_inputs == 0:
        return "none (data enters here)"
    if max_inputs == MANY:
        return f"{min_inputs} or more, joined in the order of `connections`"
    return "exactly 1"


def layer_types_section() -> str:
    out = []
    for name, ltype in LAYER_TYPES.items():
        out += [f"### `{name}`", "", f"{ltype.description} Group: {ltype.group}. "
                f"Inputs: {_inputs(ltype.min_inputs, ltype.max_inputs)}. "
                f"Default name: `{ltype.prefix}1`, `{ltype.prefix}2`, …", ""]
        out += _rows(ltype.params) if ltype.params else ["No parameters: `\"params\": {}`."]
        out.append("")
    return "\n".join(out)


def settings_section() -> str:
    features = ", ".join(f"`{f}`" for f in PLAYGROUND_FEATURES)
    out = ["### `dataset`", "", *_rows(DATASET_FIELDS),
           f"| `features` | list of distinct names from {features}; at least one, kept in that order | "
           '`["x1", "x2"]` | Playground input features. |', "",
           "### `training`", "", *_rows(TRAINING_FIELDS), "",
           "### `view`", "", *_rows(VIEW_FIELDS), ""]
    return "\n".join(out)


def limits_section() -> str:
    lim = Limits()
    return "\n".join([
        "| limit | default | refused with |", "|---|---|---|",
        f"| file size | {lim.max_file_bytes:,} bytes ({lim.max_file_bytes / 2**20:g} MiB) | "
        "the file's size and the limit |",
        f"| nesting of lists and objects | {lim.max_depth} levels | how deep the file nests |",
        f"| layers | {lim.max_layers:,} | `layers`: how many the file has, and the limit |",
        f"| connections | {lim.max_connections:,} | `connections`: how many, and the limit |",
        f"| weights (float32) | {lim.max_params_gb:g} GB | the largest layer: the gigabytes the weights would need |",
        "| digits in a whole number | 30 | the number's JSON path |",
        "| characters in a decimal number | 100 | the number's JSON path |",
        "",
    ])


SECTIONS = {"layer types": layer_types_section, "settings": settings_section, "limits": limits_section}


def regenerate(text: str) -> str:
    return BLOCK.sub(lambda m: m.group(1) + SECTIONS[m.group("name")]() + m.group(4), text)


def test_the_doc_has_every_generated_section():
    names = [m.group("name") for m in BLOCK.finditer(DOC.read_text(encoding="utf-8"))]
    assert sorted(names) == sorted(SECTIONS)


def test_the_generated_parts_of_the_doc_are_up_to_date():
    text = DOC.read_text(encoding="utf-8")
    assert regenerate(text) == text, "run: python tests/io/test_io_format_doc.py"


def test_the_doc_states_the_current_format_and_version():
    text = DOC.read_text(encoding="utf-8")
    assert f'"format": "{FORMAT}"' in text and f'"version": {VERSION}' in text
    for key in ("format", "version", "name", "description", "layers", "connections", "dataset", "training",
                "view", "id", "type", "params", "position", "from", "to"):
        assert f"`{key}`" in text, key


if __name__ == "__main__":
    DOC.write_text(regenerate(DOC.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"rewrote {DOC}", file=sys.stderr)
