"""docs/architecture.md stays true: every file it names exists, and its registry table names each table."""

from __future__ import annotations

import re
from pathlib import Path

from nnstudio.gui.canvas.layer_summaries import SUMMARIES
from nnstudio.ml.builder import BUILDERS
from nnstudio.ml.codegen_layers import CODE_WRITERS
from nnstudio.ml.import_map import IMPORT_OPS

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"


def test_every_named_file_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:nnstudio|tests|docs)/[\w/.-]+\.(?:py|md))", text))
    short = set(re.findall(r"`((?:core|ml|gui|data|io)/[\w/.-]+\.py)", text))
    assert named and short
    missing = [p for p in named if not (ROOT / p).exists()]
    missing += [p for p in short if not (ROOT / "nnstudio" / p).exists()]
    assert not missing, missing


def test_the_registry_table_names_every_concern_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name, table in (("BUILDERS", BUILDERS), ("CODE_WRITERS", CODE_WRITERS), ("IMPORT_OPS", IMPORT_OPS),
                        ("SUMMARIES", SUMMARIES)):
        assert f"`{name}`" in text, name
        assert table.missing() == [], name
