"""Plots at scale: time per `setData` + repaint of a loss curve of 10⁵ and 10⁶ points, in the same plot
widget the training window uses (peak downsampling, clip-to-view), and what the window actually draws
after a long run: the history keeps at most 10⁴ points per curve, whatever the number of publications.

    python bench/plots_scale.py [--repeats 15]

Offscreen unless QT_QPA_PLATFORM says otherwise. Each repeat appends one point (as training does) and
times setData plus the paint it causes; the figures are medians. Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _loss_like(n: int) -> tuple:
    import numpy as np

    x = np.linspace(0.0, 1000.0, n)
    rng = np.random.default_rng(0)
    y = 0.7 * np.exp(-x / 150.0) + 0.01 + 0.02 * rng.random(n)
    return x, y


def _time_updates(app, plot, curve, x, y, repeats: int) -> float:
    """Median ms of setData + the paint it causes (events processed until the widget is drawn)."""
    import numpy as np

    times = []
    for i in range(repeats):
        xs = np.append(x, x[-1] + 1e-3 * (i + 1))
        ys = np.append(y, y[-1])
        started = time.perf_counter()
        curve.setData(xs, ys)
        plot.repaint()
        app.processEvents()  # the scene's queued update and the viewport's paint
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication, QWidget

    from nnstudio.gui.training.history import DecimatingSeries
    from nnstudio.gui.training.plot_base import add_curve, make_plot

    app = QApplication.instance() or QApplication(["bench"])
    host = QWidget()
    plot = make_plot(host, "lossPlot", y_label="loss")
    plot.resize(1000, 400)
    plot.show()
    app.processEvents()
    print(f"Loss curve in NN Studio's plot widget ({plot.width()}x{plot.height()} px, Qt platform "
          f"'{app.platformName()}'), median of {args.repeats} updates of one appended point:")
    for n in (100_000, 1_000_000):
        x, y = _loss_like(n)
        for label, smart in (("peak downsampling + clip-to-view", True), ("plain (no downsampling)", False)):
            plot.clear()
            curve = add_curve(plot, "training", "#1f77b4")
            if not smart:
                curve.setDownsampling(ds=1, auto=False)
                curve.setClipToView(False)
            plot.getPlotItem().getViewBox().setRange(xRange=(0, 1000), yRange=(0, 0.8), padding=0)
            ms = _time_updates(app, plot, curve, x, y, args.repeats)
            print(f"  {n:>9,} points, {label:34s} {ms:8.1f} ms per setData + repaint")

    # What the window draws after a very long run: every publication goes through the history.
    series = DecimatingSeries()
    x, y = _loss_like(1_000_000)
    started = time.perf_counter()
    for xi, yi in zip(x.tolist(), y.tolist(), strict=True):
        series.append(xi, yi)
    append_us = (time.perf_counter() - started) / len(x) * 1e6
    hx, hy = series.data()
    plot.clear()
    curve = add_curve(plot, "training", "#1f77b4")
    ms = _time_updates(app, plot, curve, hx, hy, args.repeats)
    print(f"History after 1,000,000 publications: {len(hx):,} points kept (stride {series.stride}), "
          f"{append_us:.2f} µs per append, {2 * series.capacity * 8 / 1e3:.0f} kB of arrays; "
          f"setData + repaint {ms:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
