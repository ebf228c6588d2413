"""Every layer type's block has a registered summary, and the registry's newer types read as a learner expects."""

from __future__ import annotations

import pytest

from nnstudio.core import LAYER_TYPES, Design
from nnstudio.gui.canvas.blockstyle import layer_summary
from nnstudio.gui.canvas.layer_summaries import SUMMARIES


def test_every_layer_type_has_a_block_summary() -> None:
    assert SUMMARIES.missing() == []
    design = Design("summaries")
    for type_name in LAYER_TYPES:  # the defaults of every type summarise without falling back
        layer = design.add_layer(type_name)
        assert layer_summary(layer) == SUMMARIES[type_name](layer.params)


@pytest.mark.parametrize(("type_name", "params", "expected"), [
    ("Conv1d", {"filters": 6, "kernel": 5, "stride": 2, "padding": 1}, "6 filters of 5 /2 pad 1"),
    ("Conv1d", {}, "8 filters of 3"),
    ("GlobalAvgPool2d", {}, "mean per channel"),
    ("Reshape", {"shape": "1, 8, 8"}, "to 1×8×8"),
    ("Reshape", {}, "to 1×…"),
    ("Reshape", {"shape": "eight"}, "to eight"),
    ("Conv2d", {"filters": 4, "kernel": 3, "stride": 2}, "4 filters 3×3 /2"),
    ("MaxPool2d", {}, "window 2×2 /2"),
])
def test_block_summaries(type_name: str, params: dict, expected: str) -> None:
    layer = Design("s").add_layer(type_name, params=params)
    assert layer_summary(layer) == expected
