import pytest

from nnstudio.core import LAYER_TYPES, Design, infer
from nnstudio.core.catalogue import ACTIVATIONS, layer_activation


def build(*specs, edges=None):
    d = Design()
    layers = [d.add_layer(t, params=p) for t, p in specs]
    if edges is None:
        edges = [(k, k + 1) for k in range(len(layers) - 1)]
    for a, b in edges:
        d.connect(layers[a].id, layers[b].id)
    return d, layers


IMG = {"mode": "image", "channels": 1, "height": 28, "width": 28}


def messages(result):
    return [d.message for d in result.diagnostics]


def test_playground_mlp_shapes_and_counts():
    d, (i, h1, h2, o) = build(("Input", {"features": 2}), ("Dense", {"units": 4}), ("Dense", {"units": 2}),
                              ("Output", {"task": "binary", "units": 1}))
    r = infer(d)
    assert r.ok and r.diagnostics == []
    assert [r.shapes[x.id] for x in (i, h1, h2, o)] == [(2,), (4,), (2,), (1,)]
    assert r.params == {i.id: 0, h1.id: 12, h2.id: 10, o.id: 3}
    assert r.total_params == 25


def test_cnn_shapes():
    d, ls = build(("Input", IMG), ("Conv2d", {"filters": 16, "kernel": 5, "padding": 2}), ("MaxPool2d", {}),
                  ("Conv2d", {"filters": 32, "kernel": 3, "stride": 2}), ("AvgPool2d", {"kernel": 2, "stride": 1}),
                  ("BatchNorm", {}), ("Flatten", {}), ("Dropout", {}), ("Output", {"task": "multiclass", "units": 10}))
    r = infer(d)
    assert r.ok, messages(r)
    shapes = [r.shapes[x.id] for x in ls]
    assert shapes[1] == (16, 28, 28) and shapes[2] == (16, 14, 14) and shapes[3] == (32, 6, 6)
    assert shapes[4] == (32, 5, 5) and shapes[6] == (800,)
    assert r.params[ls[1].id] == 1 * 16 * 25 + 16
    assert r.params[ls[5].id] == 64
    assert r.params[ls[8].id] == 8010


def test_dense_after_image_names_the_fix():
    d, ls = build(("Input", IMG), ("Conv2d", {"filters": 16}), ("MaxPool2d", {}), ("Dense", {}), ("Output", {}))
    d.rename(ls[3].id, "fc1")
    r = infer(d)
    assert not r.ok
    diag = r.for_layer(ls[3].id)[0]
    assert diag.message == "Dense 'fc1' receives a 16×13×13 image: add a Flatten before it"
    assert r.shapes[ls[4].id] is None and r.for_layer(ls[4].id) == []  # reported once, upstream


def test_add_mismatch_is_reported_on_the_merge():
    d, ls = build(("Input", {"features": 8}), ("Dense", {"units": 64}), ("Dense", {"units": 32}), ("Add", {}),
                  ("Output", {}), edges=[(0, 1), (0, 2), (1, 3), (2, 3), (3, 4)])
    d.rename(ls[3].id, "skip")
    r = infer(d)
    assert "Add 'skip' joins shapes 64 and 32" in r.for_layer(ls[3].id)[0].message


def test_concatenate_vectors_and_images():
    d, ls = build(("Input", {"features": 8}), ("Dense", {"units": 5}), ("Concatenate", {}), ("Output", {}),
                  edges=[(0, 1), (0, 2), (1, 2), (2, 3)])
    assert infer(d).shapes[ls[2].id] == (13,)
    d, ls = build(("Input", IMG), ("Conv2d", {"filters": 4, "padding": 1}), ("Concatenate", {}),
                  edges=[(0, 1), (0, 2), (1, 2)])
    assert infer(d).shapes[ls[2].id] == (5, 28, 28)
    d, ls = build(("Input", IMG), ("Conv2d", {"filters": 4}), ("Concatenate", {}), edges=[(0, 1), (0, 2), (1, 2)])
    assert "different sizes" in infer(d).for_layer(ls[2].id)[0].message


def test_missing_pieces_are_all_reported():
    r = infer(Design())
    assert any("no Input" in m for m in messages(r)) and any("no Output" in m for m in messages(r))
    d, ls = build(("Input", {}), ("Dense", {}), ("Output", {}), edges=[(0, 1)])
    r = infer(d)
    assert "has no input: connect a layer" in r.for_layer(ls[2].id)[0].message
    assert r.for_layer(ls[1].id)[0].severity == "warning"  # dangling: not connected to the Output
    d, ls = build(("Input", {}), ("Add", {}), ("Output", {}))
    assert "joins only 1 input" in r.__class__.__name__ + infer(d).for_layer(ls[1].id)[0].message


def test_kernel_larger_than_input():
    small = {"mode": "image", "channels": 3, "height": 4, "width": 4}
    d, ls = build(("Input", small), ("Conv2d", {"kernel": 5}), ("Flatten", {}), ("Output", {}))
    msg = infer(d).for_layer(ls[1].id)[0].message
    assert "5×5 kernel is larger than its 4×4 input" in msg


def test_output_task_rules():
    d, ls = build(("Input", {}), ("Output", {"task": "binary", "units": 3}))
    assert "must have 1 unit" in infer(d).for_layer(ls[1].id)[0].message
    d, ls = build(("Input", {}), ("Output", {"task": "multiclass", "units": 1}))
    assert "one unit per class" in infer(d).for_layer(ls[1].id)[0].message


def test_two_inputs_and_two_outputs_are_errors():
    d, ls = build(("Input", {}), ("Input", {}), ("Output", {}), ("Output", {}), edges=[(0, 2), (1, 3)])
    r = infer(d)
    assert "exactly one Input" in r.for_layer(ls[1].id)[0].message
    assert "exactly one Output" in r.for_layer(ls[3].id)[0].message


def test_cycle_in_a_hand_built_document_is_reported_not_raised():
    from nnstudio.core.document import Connection

    d, ls = build(("Input", {}), ("Dense", {}), ("Dense", {}), ("Output", {}))
    d.connections.append(Connection(ls[2].id, ls[1].id))  # bypasses the edit operation on purpose
    d._reindex()
    r = infer(d)
    assert any("cycle" in m for m in messages(r))
    assert r.shapes[ls[3].id] is None


def test_hostile_sizes_are_counted_without_allocating():
    d, ls = build(("Input", {"features": 1_000_000}), ("Dense", {"units": 1_000_000}), ("Output", {}))
    assert infer(d).total_params == 10**12 + 10**6 + 10**6 + 1


@pytest.mark.parametrize("type_name", sorted(LAYER_TYPES))
def test_every_type_has_complete_schema(type_name):
    t = LAYER_TYPES[type_name]
    assert t.description and t.group and t.prefix
    for spec in t.params.values():
        assert spec.help
        assert spec.check(spec.default, "") == spec.default


def test_activations_shown_on_blocks():
    assert layer_activation("Output", {"task": "multiclass"}) == "softmax"
    assert layer_activation("Dense", {"activation": "relu"}) == "relu"
    assert layer_activation("Flatten", {}) is None
    assert "softmax" not in ACTIVATIONS


# ---- the registry's newer types and the refused-input diagnostic ----------------------------------------

def test_sequence_layers_infer_and_explain_their_shapes():
    d, ls = build(("Input", {"features": 12}), ("Reshape", {"shape": "3,-1"}),
                  ("Conv1d", {"filters": 5, "kernel": 3, "stride": 2, "padding": 1}), ("Flatten", {}),
                  ("Output", {}))
    r = infer(d)
    assert r.ok, messages(r)
    assert r.shapes[ls[1].id] == (3, 4) and r.shapes[ls[2].id] == (5, 2)
    assert r.params[ls[2].id] == 3 * 5 * 3 + 5


def test_global_average_pooling_keeps_one_value_per_channel():
    d, ls = build(("Input", {"mode": "image", "channels": 3, "height": 5, "width": 4}), ("GlobalAvgPool2d", {}),
                  ("Output", {}))
    r = infer(d)
    assert r.shapes[ls[1].id] == (3,) and r.params[ls[1].id] == 0


def test_a_layer_that_refuses_its_input_says_so_in_its_diagnostic():
    d, ls = build(("Input", {"features": 12}), ("Conv1d", {}), ("Output", {}))
    r = infer(d)
    (diag,) = r.for_layer(ls[1].id)
    assert "needs a sequence" in diag.message and "add a Reshape before it" in diag.message
    assert diag.refused_input and r.refuses_inputs(ls[1].id)


@pytest.mark.parametrize(("shape", "words"), [("5,-1", "not a multiple of 5"), ("2,2", "holds 4"),
                                              ("a,b", "whole numbers"), ("1,-1,-1", "positive"),
                                              ("1,2,3,4", "1 to 3")])
def test_a_reshape_that_cannot_fit_blames_its_own_settings(shape, words):
    d, ls = build(("Input", {"features": 12}), ("Reshape", {"shape": shape}), ("Output", {}))
    r = infer(d)
    (diag,) = r.for_layer(ls[1].id)
    assert words in diag.message and diag.message.startswith("Reshape '")
    assert not diag.refused_input and not r.refuses_inputs(ls[1].id)


def test_a_kernel_too_large_for_the_settings_is_not_an_input_refusal():
    d, ls = build(("Input", {"mode": "image", "channels": 1, "height": 4, "width": 4}), ("Conv2d", {"kernel": 9}),
                  ("Flatten", {}), ("Output", {}))
    (diag,) = infer(d).for_layer(ls[1].id)
    assert "larger than" in diag.message and not diag.refused_input
