"""Colours of a loss surface: log-scaled loss → RGB (a viridis-like ramp), shared by the dock and the PNG."""

from __future__ import annotations

import numpy as np

# Anchors of matplotlib's viridis (low loss dark blue-violet, high loss yellow).
_ANCHORS = np.array([
    [68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142],
    [31, 158, 137], [53, 183, 121], [109, 205, 89], [180, 222, 44], [253, 231, 37],
], dtype=np.float64)
# One colour for each racer / seed, readable on the ramp above.
RUN_COLOURS = ("#ffffff", "#ff5a5f", "#00c2ff", "#ffb000", "#c77dff", "#7cff6b", "#ff7ac8", "#b0b0b0")


def lookup_table(size: int = 256) -> np.ndarray:
    """(size, 3) uint8 ramp for pyqtgraph's ImageItem."""
    t = np.linspace(0, len(_ANCHORS) - 1, size)
    lo = np.floor(t).astype(int)
    hi = np.minimum(lo + 1, len(_ANCHORS) - 1)
    frac = (t - lo)[:, None]
    return np.round(_ANCHORS[lo] * (1 - frac) + _ANCHORS[hi] * frac).astype(np.uint8)


def log_levels(losses: np.ndarray) -> tuple[np.ndarray, float, float]:
    """log10 of the losses (non-finite → the top), and the (low, high) range the colours span.

    The top is clipped at the 98th percentile, so a few exploding corners of the plane do not wash
    the interesting basin out into one colour.
    """
    values = np.asarray(losses, dtype=np.float64)
    finite = np.isfinite(values) & (values > 0)
    logs = np.full(values.shape, np.nan)
    logs[finite] = np.log10(values[finite])
    if not finite.any():
        return np.zeros(values.shape), 0.0, 1.0
    low = float(np.nanmin(logs))
    high = float(np.nanpercentile(logs, 98))
    if high <= low:
        high = low + 1e-3
    logs = np.where(np.isfinite(logs), np.clip(logs, low, high), high)
    return logs, low, high


def contour_levels(low: float, high: float, count: int = 12) -> np.ndarray:
    """Levels (in log10 loss) between low and high, denser near the minimum where the basin is."""
    t = np.linspace(0, 1, count + 2)[1:-1]
    return low + (high - low) * t ** 1.5


def rgb_image(logs: np.ndarray, low: float, high: float) -> np.ndarray:
    """(rows, cols, 3) uint8 picture of the log-losses."""
    table = lookup_table()
    index = np.clip(np.round((logs - low) / (high - low) * (len(table) - 1)), 0, len(table) - 1).astype(int)
    return table[index]
