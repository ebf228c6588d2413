"""The core's layer-name rule, checked against torch itself: no accepted name can clash in any later stage."""

import re

from nnstudio.core import Design
from nnstudio.core.document import RESERVED_NAMES
from nnstudio.core.errors import LayerNameError
from nnstudio.ml.builder import build_model

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")


def _refused(name: str) -> bool:
    d = Design()
    try:
        d.add_layer("Dense", name)
    except LayerNameError:
        return True
    return False


def test_every_attribute_of_the_built_module_is_a_refused_layer_name():
    # Also catches a torch upgrade that adds an attribute to nn.Module: extend RESERVED_NAMES then.
    d = Design()
    a = d.add_layer("Input", "inp", {"features": 2})
    b = d.add_layer("Output", "out", {"task": "binary", "units": 1})
    d.connect(a.id, b.id)
    model = build_model(d)
    attributes = {n for n in dir(model) if IDENTIFIER.match(n)} - {"inp", "out"}
    accepted = sorted(n for n in attributes if not _refused(n))
    assert accepted == []
    assert "_parameters" in RESERVED_NAMES and "register_buffer" in RESERVED_NAMES
