"""Playground's colours: orange for −1, a light grey for 0, blue for +1, as lookup tables and images.

Heatmaps always use fixed levels (−1 … +1), so a colour means the same value in every frame and every
neuron; values outside the range are clipped. Images come out as QImages in screen orientation (the
grid's first row is its lowest y, so rows are flipped to put +y at the top).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage

NEGATIVE = QColor("#f59322")  # Playground's orange: class −1
NEUTRAL = QColor("#e8eaeb")
POSITIVE = QColor("#0877bd")  # Playground's blue: class +1
# Other classes of multi-class sets (after orange and blue), readable on the light background.
CLASS_COLOURS = ("#f59322", "#0877bd", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf")
CURVE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                 "#bcbd22", "#7f7f7f")

LUT_SIZE = 256


def diverging_lut(size: int = LUT_SIZE) -> np.ndarray:
    """(size, 4) uint8 RGBA from orange (index 0 = −1) through grey to blue (index size−1 = +1)."""
    t = np.linspace(-1.0, 1.0, size)[:, None]
    neg = np.array(NEGATIVE.getRgb(), dtype=np.float64)
    mid = np.array(NEUTRAL.getRgb(), dtype=np.float64)
    pos = np.array(POSITIVE.getRgb(), dtype=np.float64)
    rgba = np.where(t < 0, mid + (neg - mid) * (-t), mid + (pos - mid) * t)
    return np.clip(np.round(rgba), 0, 255).astype(np.uint8)


_LUT = diverging_lut()


def signed_map(values: np.ndarray, discretize: bool = False) -> np.ndarray:
    """Values to show on the −1 … +1 scale; `discretize` snaps them to the sign (Playground's checkbox)."""
    values = np.asarray(values, dtype=np.float32)
    if discretize:
        return np.where(values >= 0, 1.0, -1.0).astype(np.float32)
    values = np.clip(values, -1.0, 1.0)  # ±inf clip to ±1
    if np.isnan(values).any():
        values = np.where(np.isnan(values), 0.0, values).astype(np.float32)
    return values


def boundary_values(boundary: np.ndarray, task: str) -> np.ndarray:
    """The model's output on the grid as a −1 … +1 map: 2p − 1 for a probability, the value for regression.

    `boundary` is (R, R) for one output, or (k, R, R): two classes give p(+1) − p(−1); more classes give
    the winning class's confidence (the colouring by class is `class_image`'s job).
    """
    if boundary.ndim == 3:
        if boundary.shape[0] == 2 and task != "regression":
            return boundary[1] - boundary[0]
        if task == "regression":
            return boundary[0]
        return boundary.max(axis=0) * 2.0 - 1.0
    if task == "regression":
        return boundary
    return boundary * 2.0 - 1.0


def rgba_from_signed(values: np.ndarray, alpha: int = 255) -> np.ndarray:
    """(…, 4) uint8 colours of values already on the −1 … +1 scale."""
    index = np.clip(((values + 1.0) * 0.5 * (LUT_SIZE - 1) + 0.5).astype(np.int32), 0, LUT_SIZE - 1)
    rgba = _LUT[index]
    if alpha != 255:
        rgba = rgba.copy()
        rgba[..., 3] = alpha
    return rgba


def class_image(boundary: np.ndarray) -> np.ndarray:
    """(R, R, 4) uint8: each cell in its winning class's colour, fading to grey where the model is unsure."""
    k = boundary.shape[0]
    colours = np.array([QColor(CLASS_COLOURS[i % len(CLASS_COLOURS)]).getRgb() for i in range(k)], dtype=np.float32)
    winner = boundary.argmax(axis=0)
    confidence = boundary.max(axis=0)
    # 1/k is a coin toss; 1 is certain.
    strength = np.clip((confidence - 1.0 / k) / (1.0 - 1.0 / k), 0.0, 1.0)[..., None]
    mid = np.array(NEUTRAL.getRgb(), dtype=np.float32)
    rgba = mid + (colours[winner] - mid) * strength
    return np.clip(rgba, 0, 255).astype(np.uint8)


def qimage_from_rgba(rgba: np.ndarray, flip_rows: bool = True) -> QImage:
    """A QImage owning its pixels; `flip_rows` puts the array's last row (highest y) at the top."""
    if flip_rows:
        rgba = rgba[::-1]
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    height, width = rgba.shape[:2]
    image = QImage(rgba.data, width, height, 4 * width, QImage.Format.Format_RGBA8888)
    return image.copy()  # detach from the numpy buffer


def class_colour(index: int) -> QColor:
    """Colour of class `index`: orange, blue, then other distinct hues."""
    return QColor(CLASS_COLOURS[index % len(CLASS_COLOURS)])

