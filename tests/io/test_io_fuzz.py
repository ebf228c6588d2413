"""Fuzzing: mutated design files either load or fail with a FormatError — never any other exception."""

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from io_samples import designs, every_layer_type

from nnstudio.core.errors import FormatError, NNStudioError
from nnstudio.io import dumps, loads

# Values a mutation may put anywhere: of every JSON kind, including hostile numbers and odd text.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(-(10**40), 10**40)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12)
    | st.sampled_from(["Dense", "Input", "Output", "L1", "L2", "relu", "image", "multiclass", ""]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
special_bytes = st.sampled_from([b"[", b"]", b"{", b"}", b'"', b"\\", b",", b":", b"\xff", b"\xef\xbb\xbf",
                                 b"NaN", b"-Infinity", b"1e999", b"9" * 40, b"\x00", b"\\ud800",
                                 b"\xed\xa0\x80"])


def _paths(value: Any, here: tuple = ()) -> list[tuple]:
    out = [here]
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(_paths(item, here + (key,)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.extend(_paths(item, here + (i,)))
    return out


def _replace(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: (_replace(v, rest, new) if k == head else v) for k, v in value.items()}
    return [(_replace(v, rest, new) if i == head else v) for i, v in enumerate(value)]


def _delete(value: Any, path: tuple) -> Any:
    head, rest = path[0], path[1:]
    if rest:
        if isinstance(value, dict):
            return {k: (_delete(v, rest) if k == head else v) for k, v in value.items()}
        return [(_delete(v, rest) if i == head else v) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k != head}
    return [v for i, v in enumerate(value) if i != head]


def _pick_path(draw: st.DrawFn, paths: list[tuple]) -> tuple:
    """A path chosen by depth first, so the few top-level keys are hit as often as the many params."""
    depths = sorted({len(p) for p in paths})
    depth = draw(st.sampled_from(depths))
    return draw(st.sampled_from([p for p in paths if len(p) == depth]))


@st.composite
def byte_mutations(draw: st.DrawFn, raw: bytes) -> bytes:
    """One to three byte flips, deletions, truncations or insertions."""
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "delete", "truncate", "insert"]))
        n = len(raw)
        if kind == "flip" and n:
            i = draw(st.integers(0, n - 1))
            raw = raw[:i] + bytes([draw(st.integers(0, 255))]) + raw[i + 1:]
        elif kind == "delete" and n:
            i = draw(st.integers(0, n - 1))
            raw = raw[:i] + raw[i + draw(st.integers(1, 40)):]
        elif kind == "truncate":
            raw = raw[:draw(st.integers(0, n))]
        elif kind == "insert":
            i = draw(st.integers(0, n))
            raw = raw[:i] + draw(special_bytes | st.binary(min_size=1, max_size=8)) + raw[i:]
    return raw


@st.composite
def json_mutations(draw: st.DrawFn, raw: bytes) -> bytes:
    """One to four replacements, deletions, renames or duplications at random JSON paths; still JSON."""
    data = json.loads(raw)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["replace", "drop", "rename", "duplicate"]))
        inner = [p for p in _paths(data) if p]  # the whole file replaced is the arbitrary-bytes test's job
        if not inner:
            break
        path = _pick_path(draw, inner)
        if kind == "replace":
            data = _replace(data, path, draw(json_values))
            continue
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        if kind == "drop":
            data = _delete(data, path)
        elif kind == "rename" and isinstance(parent, dict):
            new_key = draw(st.text(max_size=8) | st.sampled_from(sorted(parent)))
            parent[new_key] = parent.pop(path[-1])
        elif kind == "duplicate" and isinstance(parent, list):
            parent.insert(draw(st.integers(0, len(parent))), json.loads(json.dumps(parent[path[-1]])))
    return json.dumps(data).encode("utf-8")


def _check(raw: bytes) -> None:
    try:
        design = loads(raw)
    except FormatError as exc:
        assert exc.reason.strip(), "a FormatError must say what is wrong"
        # The loader's last-resort net converts unexpected exceptions and keeps them as the cause: it must
        # never be needed.
        assert exc.__cause__ is None or isinstance(exc.__cause__, NNStudioError), repr(exc.__cause__)
    else:
        again = loads(dumps(design))  # whatever loads must also save and load back
        assert again.same_content(design)


SMALL = dumps(every_layer_type()).encode("utf-8")


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_json_mutations_of_a_known_file_fail_only_with_format_errors(data):
    _check(data.draw(json_mutations(SMALL)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_byte_mutations_of_a_known_file_fail_only_with_format_errors(data):
    _check(data.draw(byte_mutations(SMALL)))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(st.data())
def test_mutations_of_random_designs_fail_only_with_format_errors(data):
    raw = dumps(data.draw(designs(max_layers=6))).encode("utf-8")
    _check(data.draw(json_mutations(raw) | byte_mutations(raw)))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes_fail_only_with_format_errors(raw):
    _check(raw)
