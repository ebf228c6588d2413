"""Parameter schemas: the type, default, range or choices and help of every editable value.

The same `ParamSpec` describes layer parameters, dataset settings and training settings, so the
inspector builds its editors, the file loader validates and the edit operations check from one source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import ParameterError
from .text import text_problem

ParamKind = Literal["int", "float", "bool", "choice", "str"]


@dataclass(frozen=True)
class ParamSpec:
    name: str
    kind: ParamKind
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    label: str = ""
    log_scale: bool = False  # a hint for editors: learning rates are edited on a log scale
    max_length: int = 4096
    live: bool = False  # a training setting that reaches a running trainer at once (core.live)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def check(self, value: Any, where: str = "") -> Any:
        """Return `value` coerced to this parameter's type, or raise ParameterError saying why not."""
        prefix = f"{where}{self.name}: " if where is not None else ""
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            raise ParameterError(f"{prefix}must be true or false, not {_show(value)}")
        if self.kind == "int":
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**18:
                raise ParameterError(f"{prefix}is far too large a number")
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
                    value = int(value)
                else:
                    raise ParameterError(f"{prefix}must be a whole number, not {_show(value)}")
            self._check_range(value, prefix)
            return value
        if self.kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ParameterError(f"{prefix}must be a number, not {_show(value)}")
            try:
                value = float(value)
            except OverflowError:
                raise ParameterError(f"{prefix}is far too large a number") from None
            if not math.isfinite(value):
                raise ParameterError(f"{prefix}must be a finite number, not {value}")
            self._check_range(value, prefix)
            return value
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise ParameterError(f"{prefix}must be one of {', '.join(self.choices)}; got {_show(value)}")
            return value
        if self.kind == "str":
            if not isinstance(value, str):
                raise ParameterError(f"{prefix}must be text, not {_show(value)}")
            if len(value) > self.max_length:
                raise ParameterError(f"{prefix}is longer than {self.max_length} characters")
            problem = text_problem(value)
            if problem:
                raise ParameterError(f"{prefix}{problem}")
            return value
        raise ParameterError(f"{prefix}has an unknown kind {self.kind!r}")  # pragma: no cover

    def _check_range(self, value: float, prefix: str) -> None:
        if self.minimum is not None and value < self.minimum:
            raise ParameterError(f"{prefix}must be at least {_num(self.minimum)}, not {_num(value)}")
        if self.maximum is not None and value > self.maximum:
            raise ParameterError(f"{prefix}must be at most {_num(self.maximum)}, not {_num(value)}")


def _num(x: float) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:g}" if isinstance(x, float) else str(x)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_params(specs: dict[str, ParamSpec], values: dict[str, Any], where: str = "") -> dict[str, Any]:
    """Validate a whole parameter dictionary: unknown keys are refused, missing keys take defaults."""
    out: dict[str, Any] = {}
    for key in values:
        if key not in specs:
            known = ", ".join(specs) or "none"
            raise ParameterError(f"{where}{key}: unknown parameter (known: {known})")
    for key, spec in specs.items():
        out[key] = spec.check(values[key], where) if key in values else spec.default
    return out
