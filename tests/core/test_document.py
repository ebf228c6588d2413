import pytest

from nnstudio.core import (
    CycleError,
    Design,
    InvalidConnectionError,
    LayerNameError,
    ParameterError,
    UnknownLayerError,
    UnknownLayerTypeError,
)
from nnstudio.core.errors import DesignError


def chain(design: Design, *specs):
    layers = [design.add_layer(t, params=p) for t, p in specs]
    for a, b in zip(layers, layers[1:], strict=False):
        design.connect(a.id, b.id)
    return layers


def test_add_layer_gives_stable_ids_unique_names_and_defaults():
    d = Design()
    a = d.add_layer("Dense")
    b = d.add_layer("Dense")
    assert a.id != b.id
    assert (a.name, b.name) == ("dense1", "dense2")
    assert a.params == {"units": 4, "bias": True, "activation": "tanh"}
    d.remove_layer(a.id)
    c = d.add_layer("Dense")
    assert c.id not in (a.id, b.id) or c.id == a.id  # ids may be reused only after removal
    assert c.name == "dense1"


def test_unknown_type_and_bad_params_are_refused():
    d = Design()
    with pytest.raises(UnknownLayerTypeError, match="Bogus"):
        d.add_layer("Bogus")
    with pytest.raises(ParameterError, match="units: must be at least 1, not 0"):
        d.add_layer("Dense", params={"units": 0})
    with pytest.raises(ParameterError, match="must be a whole number"):
        d.add_layer("Dense", params={"units": "4"})
    with pytest.raises(ParameterError, match="must be one of"):
        d.add_layer("Dense", params={"activation": "softmax"})
    with pytest.raises(ParameterError, match="unknown parameter"):
        d.add_layer("Dense", params={"unit": 3})
    assert d.layers == {}


def test_set_param_validates_and_reports_old_value():
    d = Design()
    events = []
    d.subscribe(events.append)
    a = d.add_layer("Dense")
    assert d.set_param(a.id, "units", 8) == 4
    assert a.params["units"] == 8
    with pytest.raises(ParameterError) as err:
        d.set_param(a.id, "units", -1)
    assert err.value.layer_id == a.id
    with pytest.raises(ParameterError, match="no parameter"):
        d.set_param(a.id, "filters", 3)
    assert [e.kind for e in events] == ["layer_added", "param_changed"]
    assert events[1].old == 4 and events[1].value == 8


def test_names_must_be_identifiers_unique_and_not_reserved():
    d = Design()
    a = d.add_layer("Dense", name="fc1")
    d.add_layer("Dense", name="fc2")
    for bad in ["", "1fc", "fc 1", "fc-1", "a" * 65, "class", "forward", "x\nimport os"]:
        with pytest.raises(LayerNameError):
            d.rename(a.id, bad)
    with pytest.raises(LayerNameError, match="already called 'fc2'"):
        d.rename(a.id, "fc2")
    assert d.rename(a.id, "hidden") == "fc1"
    assert d.layer_by_name("hidden") is a


def test_connections_refuse_cycles_duplicates_and_occupied_ports():
    d = Design()
    i, h1, h2, o = chain(d, ("Input", {}), ("Dense", {}), ("Dense", {}), ("Output", {}))
    with pytest.raises(CycleError):
        d.connect(h1.id, h1.id)
    merge = d.add_layer("Add")
    d.connect(i.id, merge.id)
    d.connect(merge.id, d.add_layer("Dense").id)
    with pytest.raises(CycleError, match="would make a cycle"):
        d.connect(d.outputs_of(merge.id)[0], merge.id)
    with pytest.raises(InvalidConnectionError, match="already connected"):
        d.connect(i.id, h1.id)
    with pytest.raises(InvalidConnectionError, match="already takes its input"):
        d.connect(i.id, h2.id)
    with pytest.raises(InvalidConnectionError, match="takes no inputs"):
        d.connect(h1.id, i.id)
    with pytest.raises(InvalidConnectionError, match="end of the network"):
        d.connect(o.id, h1.id)
    with pytest.raises(InvalidConnectionError, match="no connection"):
        d.disconnect(i.id, o.id)
    with pytest.raises(UnknownLayerError):
        d.connect("nope", o.id)


def test_merge_layers_take_several_inputs_in_connection_order():
    d = Design()
    i = d.add_layer("Input")
    a = d.add_layer("Dense")
    b = d.add_layer("Dense")
    c = d.add_layer("Concatenate")
    for src, dst in [(i, a), (i, b), (b, c), (a, c)]:
        d.connect(src.id, dst.id)
    assert d.inputs_of(c.id) == [b.id, a.id]


def test_remove_layer_returns_what_undo_needs():
    d = Design()
    i, h, o = chain(d, ("Input", {}), ("Dense", {}), ("Output", {}))
    before = d.copy()
    layer, index, removed = d.remove_layer(h.id)
    assert h.id not in d.layers and d.connections == []
    d.add_layer(layer.type, layer.name, layer.params, layer.position, layer_id=layer.id, index=index)
    for pos, conn in removed:
        d.connect(conn.source, conn.target, index=pos)
    assert d.same_content(before)


def test_move_and_meta_and_settings_emit_events():
    d = Design()
    events = []
    d.subscribe(events.append)
    a = d.add_layer("Dense")
    d.move(a.id, (10, 20))
    d.set_meta(name="Mine", description="about")
    d.set_dataset(name="spiral", noise=0.1)
    d.set_training(learning_rate=0.1)
    d.set_view(zoom=2.0)
    assert [e.kind for e in events] == [
        "layer_added", "moved", "meta_changed", "dataset_changed", "training_changed", "view_changed"]
    with pytest.raises(DesignError):
        d.move(a.id, (float("nan"), 0))
    with pytest.raises(ParameterError):
        d.set_training(learning_rate=100.0)
    with pytest.raises(ParameterError):
        d.set_training(device="gpu")
    with pytest.raises(ParameterError):
        d.set_dataset(features=["x3"])


def test_unsubscribe_and_copy_has_no_observers():
    d = Design()
    seen = []
    d.subscribe(seen.append)
    twin = d.copy()
    twin.add_layer("Dense")
    assert seen == []
    d.unsubscribe(seen.append)
    d.add_layer("Dense")
    assert seen == []
