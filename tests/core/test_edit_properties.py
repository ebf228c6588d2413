"""Random edit sequences: only DesignErrors, and the document always keeps its invariants."""

from hypothesis import given, settings
from hypothesis import strategies as st

from nnstudio.core import LAYER_TYPES, Design, infer
from nnstudio.core.errors import DesignError
from nnstudio.core.inference import topological_order

TYPES = sorted(LAYER_TYPES)
values = st.one_of(st.integers(-5, 300), st.floats(allow_nan=True), st.booleans(), st.text(max_size=5),
                   st.sampled_from(["relu", "tanh", "image", "vector", "binary", "multiclass"]))
ops = st.lists(st.tuples(st.sampled_from(["add", "remove", "connect", "disconnect", "param", "rename"]),
                         st.integers(0, 30), st.integers(0, 30), st.sampled_from(TYPES),
                         st.sampled_from(["units", "filters", "kernel", "activation", "mode", "rate", "task"]),
                         values), max_size=40)


def check_invariants(d: Design) -> None:
    order, stuck = topological_order(d)
    assert not stuck
    names = [layer.name for layer in d.layers.values()]
    assert len(names) == len(set(names))
    assert len(d.connections) == len(set(d.connections))
    for c in d.connections:
        assert c.source in d.layers and c.target in d.layers
    for lid, layer in d.layers.items():
        t = LAYER_TYPES[layer.type]
        n = len(d.inputs_of(lid))
        assert t.max_inputs == -1 or n <= t.max_inputs
        assert set(layer.params) == set(t.params)
        for key, spec in t.params.items():
            assert spec.check(layer.params[key], "") == layer.params[key]
    infer(d)  # never raises


@settings(max_examples=150, deadline=None)
@given(ops)
def test_random_edits_keep_the_document_valid(sequence):
    d = Design()
    for op, a, b, type_name, key, value in sequence:
        ids = list(d.layers)

        def pick(k: int, ids: list[str] = ids) -> str:
            return ids[k % len(ids)] if ids else "missing"

        try:
            if op == "add":
                d.add_layer(type_name)
            elif op == "remove":
                d.remove_layer(pick(a))
            elif op == "connect":
                d.connect(pick(a), pick(b))
            elif op == "disconnect":
                d.disconnect(pick(a), pick(b))
            elif op == "param":
                d.set_param(pick(a), key, value)
            elif op == "rename":
                d.rename(pick(a), str(value))
        except DesignError:
            pass
        check_invariants(d)
