"""The live hyper-parameters — the training settings marked `live` in TRAINING_FIELDS — as one checked value.

They are the settings that may change while training runs (the training panel keeps their editors
enabled; `TrainingControl.set_hyperparameters` hands them to the trainer between two steps). They are
declared once, by `live=True` on their `ParamSpec`, and checked once, by `check_live_changes`.
"""

from __future__ import annotations

from dataclasses import asdict, make_dataclass, replace
from typing import Any

from .errors import ParameterError
from .settings import TRAINING_FIELDS, TrainingConfig

LIVE_FIELDS: tuple[str, ...] = tuple(key for key, spec in TRAINING_FIELDS.items() if spec.live)


def check_live_changes(values: dict[str, Any]) -> dict[str, float]:
    """Checked values for live settings (ParameterError naming the setting for anything else or out of range)."""
    checked: dict[str, float] = {}
    for key, value in values.items():
        if key not in LIVE_FIELDS:
            raise ParameterError(f"{key}: cannot be changed while training (live settings: {', '.join(LIVE_FIELDS)})")
        checked[key] = TRAINING_FIELDS[key].check(value, "")
    return checked


def _from_config(cls, config: TrainingConfig):
    return cls(**{key: getattr(config, key) for key in LIVE_FIELDS})


def _with_changes(self, changes: dict[str, Any]):
    return replace(self, **check_live_changes(changes))


def _to_dict(self) -> dict[str, float]:
    return asdict(self)


# A frozen dataclass whose fields are exactly LIVE_FIELDS (learning_rate, momentum, ...), so a new live
# setting needs only its `live=True`.
LiveHyperparameters = make_dataclass(
    "LiveHyperparameters", [(key, float) for key in LIVE_FIELDS], frozen=True,
    namespace={"__doc__": "The live training settings of a run, as one immutable value.",
               "__module__": __name__, "from_config": classmethod(_from_config), "with_changes": _with_changes,
               "to_dict": _to_dict})
