"""Shape inference at scale: a 300-layer design, inferred from scratch and after one parameter edit.

The editor re-infers on every keystroke, so the second figure is the one a user feels (aim: well under
10 ms). Prints medians of repeated runs; asserts nothing about time.
"""

from __future__ import annotations

import statistics
import time

from nnstudio.core import Design, infer


def residual_design(blocks: int) -> Design:
    """Input, then `blocks` × (Dense, Dense, Add with a skip), then Output: 3·blocks + 2 layers."""
    d = Design()
    prev = d.add_layer("Input", params={"features": 64}, position=(0, 0))
    for b in range(blocks):
        h1 = d.add_layer("Dense", params={"units": 64, "activation": "relu"}, position=(200 * b, 0))
        h2 = d.add_layer("Dense", params={"units": 64, "activation": "identity"}, position=(200 * b, 100))
        add = d.add_layer("Add", position=(200 * b + 100, 50))
        d.connect(prev.id, h1.id)
        d.connect(h1.id, h2.id)
        d.connect(h2.id, add.id)
        d.connect(prev.id, add.id)
        prev = add
    out = d.add_layer("Output", params={"task": "multiclass", "units": 10})
    d.connect(prev.id, out.id)
    return d


def median_ms(fn, repeat: int = 30) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    design = residual_design(100)
    n = len(design.layers)
    build_ms = median_ms(lambda: residual_design(100), repeat=5)
    full_ms = median_ms(lambda: infer(design))
    some_dense = next(lid for lid, layer in design.layers.items() if layer.type == "Dense")
    units = iter(range(10**6))

    def edit_and_reinfer() -> None:
        design.set_param(some_dense, "units", 64 + next(units) % 2)  # keeps the Add valid half the time
        infer(design)

    edit_ms = median_ms(edit_and_reinfer)
    print(f"design: {n} layers, {len(design.connections)} connections")
    print(f"build through edit operations: {build_ms:8.2f} ms")
    print(f"shape inference, whole design: {full_ms:8.2f} ms")
    print(f"one parameter edit + re-infer: {edit_ms:8.2f} ms  (aim: well under 10 ms)")


if __name__ == "__main__":
    main()
