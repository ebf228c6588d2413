"""The activation budget of exports that trace the model: one sample's layer outputs, counted, never allocated.

ONNX and `.pt2` exports run the model on an example batch. A design can pass every limit of the file
loader (its weights are small) and still have an input so large that the example alone needs terabytes —
4096×8192×8192 floats are 1.1 TB. So before any tensor is made, the float32 outputs of every layer for
one sample are summed from shape inference and refused above `ACTIVATION_BUDGET_BYTES`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from nnstudio.core.errors import ExportError

FLOAT32_BYTES = 4
ACTIVATION_BUDGET_BYTES = 2**30  # 1 GiB per sample: far above any design a person trains in NN Studio


def _size(nbytes: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if nbytes >= scale:
            return f"{nbytes / scale:,.1f} {unit}"
    return f"{nbytes / 1e3:,.1f} kB"


def activation_bytes(shapes: Iterable[tuple[int, ...]]) -> int:
    """Bytes of float32 values in the given per-sample shapes (an input shape and every layer's output)."""
    return sum(math.prod(int(d) for d in shape) for shape in shapes) * FLOAT32_BYTES


def check_activation_budget(input_shape: tuple[int, ...], output_shapes: Iterable[tuple[int, ...]],
                            budget: int = ACTIVATION_BUDGET_BYTES) -> int:
    """Bytes one sample's activations take; ExportError if more than `budget`."""
    shapes = [tuple(input_shape), *(tuple(s) for s in output_shapes)]
    total = activation_bytes(shapes)
    if total > budget:
        dims = "×".join(str(int(d)) for d in input_shape)
        raise ExportError(
            f"one sample's activations would take {_size(total)} (float32; the input alone is {dims}, "
            f"{_size(activation_bytes([tuple(input_shape)]))}), and exports that trace the model (ONNX, "
            f"PT2) allow at most {_size(budget)} per sample: make the input smaller, or export the weights "
            "(safetensors, pt) or the Python code instead")
    return total
