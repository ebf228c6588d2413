"""The loader's fast builder accepts and refuses exactly what replaying the file through the edit operations does.

The builder checks each rule with the core's own code on small scratch documents; these tests replay
random, often invalid, layer and connection lists through a real Design and demand the same verdict and
the same words, so a rule added to the editor cannot be missed by the loader.
"""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from io_samples import TYPES, values_of

from nnstudio.core import LAYER_TYPES, Design
from nnstudio.core.document import Connection
from nnstudio.core.errors import DesignError, FormatError
from nnstudio.io import loads
from nnstudio.io.builder import first_cycle

IDS = ["a", "b", "c", "d", "e", "f"]


@st.composite
def raw_files(draw: st.DrawFn) -> tuple[list[dict], list[tuple[str, str]]]:
    """Layers (now and then a clashing id or name, or a bad value) and connections among them."""
    count = draw(st.integers(1, 6))
    layers = []
    for i in range(count):
        type_name = draw(st.sampled_from(TYPES))
        specs = LAYER_TYPES[type_name].params
        params = draw(st.fixed_dictionaries({}, optional={k: values_of(s) for k, s in specs.items()}))
        # Rare on purpose (hypothesis favours 0 and the bounds, so the rare case is a middle value).
        if specs and draw(st.integers(0, 30)) == 13:
            params[draw(st.sampled_from(sorted(specs)))] = draw(st.sampled_from([-1, 0, 10**7, "x", None]))
        odd = draw(st.integers(0, 30))
        layers.append({"id": IDS[i] if odd != 14 else draw(st.sampled_from(IDS)), "type": type_name,
                       "name": f"n{i}" if odd != 15 else draw(st.sampled_from(["n0", "class"])),
                       "params": params})
    connections = []
    for _ in range(draw(st.integers(0, 3 * count))):
        i, odd = draw(st.integers(0, count - 1)), draw(st.integers(0, 30))
        j = (i + draw(st.integers(1, max(1, count - 1)))) % count if odd != 12 else i  # 12: a self-loop
        if odd == 13:
            connections.append((IDS[i], "zz"))
        elif odd % 4 == 1:  # backwards now and then, so cycles happen too
            connections.append((IDS[max(i, j)], IDS[min(i, j)]))
        else:
            connections.append((IDS[min(i, j)], IDS[max(i, j)]))
    return layers, connections


def replay(layers: list[dict], connections: list[tuple[str, str]]) -> tuple[str, int, str] | Design:
    """What the editor says, one edit at a time: the design, or (section, index, message) of the first refusal."""
    d = Design("replayed")
    for i, layer in enumerate(layers):
        try:
            d.add_layer(layer["type"], layer["name"], layer["params"], (0.0, 0.0), layer["id"])
        except DesignError as exc:
            return ("layers", i, str(exc))
    for i, (source, target) in enumerate(connections):
        try:
            d.connect(source, target)
        except DesignError as exc:
            return ("connections", i, str(exc))
    return d


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_files())
def test_loading_agrees_with_replaying_the_edits(file):
    layers, connections = file
    text = json.dumps({"format": "nnstudio.design", "version": 1, "name": "replayed", "layers": layers,
                       "connections": [{"from": s, "to": t} for s, t in connections]})
    expected = replay(layers, connections)
    try:
        loaded = loads(text)
    except FormatError as exc:
        assert isinstance(expected, tuple), f"the loader refused what the editor accepts: {exc}"
        section, index, message = expected
        assert exc.path.startswith(f"{section}[{index}]"), (exc, expected)
        # The loader reports a parameter at its own path, without the editor's "name.key: " prefix.
        assert message.endswith(exc.reason), (exc, expected)
    else:
        assert isinstance(expected, Design), f"the loader accepted what the editor refuses: {expected}"
        assert loaded.same_content(expected)
        assert loaded.inputs_of("a") == expected.inputs_of("a")  # the document's indexes are built


@given(st.lists(st.tuples(st.sampled_from(IDS), st.sampled_from(IDS)), max_size=15))
def test_first_cycle_is_the_first_edge_the_editor_would_refuse_as_a_cycle(edges):
    nodes = dict.fromkeys(IDS)
    conns = [Connection(s, t) for s, t in dict.fromkeys(edges)]
    expected = None
    d = Design()
    for i in IDS:
        d.add_layer("Add", f"n_{i}", layer_id=i)
    for index, c in enumerate(conns):
        if d.would_cycle(c.source, c.target):
            expected = index
            break
        d.connect(c.source, c.target)
    assert first_cycle(nodes, conns) == expected
