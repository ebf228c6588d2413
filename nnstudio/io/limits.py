"""The caps a design file must stay under, so a hostile or broken file is refused before it costs anything."""

from __future__ import annotations

from dataclasses import dataclass

FLOAT32_BYTES = 4


@dataclass(frozen=True)
class Limits:
    """Generous for any design a person builds; each refuses one way a file could exhaust memory or time."""

    max_file_bytes: int = 16 * 2**20
    max_depth: int = 64  # nesting of JSON lists and objects; a valid design needs 4
    max_layers: int = 10_000
    max_connections: int = 50_000
    max_params_gb: float = 8.0  # float32 weights, in 10⁹ bytes

    def params_over_budget(self, total_params: int) -> bool:
        # Integer arithmetic on the left: parameter counts of hostile designs exceed a float's precision.
        return total_params * FLOAT32_BYTES > self.max_params_gb * 1e9


DEFAULT_LIMITS = Limits()
