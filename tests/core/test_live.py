"""Live hyper-parameters are declared once (`live=True` in TRAINING_FIELDS) and checked once."""

from __future__ import annotations

import dataclasses

import pytest

from nnstudio.core.errors import ParameterError
from nnstudio.core.live import LIVE_FIELDS, LiveHyperparameters, check_live_changes
from nnstudio.core.settings import TRAINING_FIELDS, TrainingConfig


def test_the_live_set_is_what_training_fields_mark() -> None:
    assert LIVE_FIELDS == ("learning_rate", "momentum", "regularization_rate", "grad_clip")
    assert [f.name for f in dataclasses.fields(LiveHyperparameters)] == list(LIVE_FIELDS)
    assert all(TRAINING_FIELDS[k].kind == "float" for k in LIVE_FIELDS)


def test_one_value_from_the_config_changes_only_through_the_check() -> None:
    config = TrainingConfig(learning_rate=0.1, momentum=0.5, regularization_rate=0.01, grad_clip=2.0)
    live = LiveHyperparameters.from_config(config)
    assert live.to_dict() == {"learning_rate": 0.1, "momentum": 0.5, "regularization_rate": 0.01, "grad_clip": 2.0}
    changed = live.with_changes({"learning_rate": 0.2})
    assert changed.learning_rate == 0.2 and changed.momentum == 0.5 and live.learning_rate == 0.1
    with pytest.raises(dataclasses.FrozenInstanceError):
        live.learning_rate = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(("changes", "words"), [({"learning_rate": 100.0}, "learning_rate: must be at most 10"),
                                                ({"momentum": "fast"}, "momentum: must be a number"),
                                                ({"batch_size": 4}, "batch_size: cannot be changed while training")])
def test_bad_live_changes_are_refused_with_the_setting_named(changes, words) -> None:
    with pytest.raises(ParameterError, match=words):
        check_live_changes(changes)
    with pytest.raises(ParameterError, match=words):
        LiveHyperparameters.from_config(TrainingConfig()).with_changes(changes)
