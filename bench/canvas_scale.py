"""Canvas scale: open, shape-infer and render a 300-layer design; re-infer after an edit; drag frames/s.

Runs offscreen by default (set QT_QPA_PLATFORM to use a real display). Prints its figures; asserts
nothing about time. Drag frames are measured with blocks cached as pixmaps (what the app does) and
without, side by side, in one run.

    python bench/canvas_scale.py [--layers 300] [--moves 120]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("NNSTUDIO_DATA_DIR", tempfile.mkdtemp(prefix="nnstudio-bench-data-"))
os.environ.setdefault("NNSTUDIO_CONFIG_DIR", tempfile.mkdtemp(prefix="nnstudio-bench-config-"))

from PySide6.QtCore import QPointF, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from nnstudio.core import Design, infer  # noqa: E402
from nnstudio.gui.canvas.layout import layered_layout  # noqa: E402
from nnstudio.gui.canvas.render import render_design  # noqa: E402
from nnstudio.gui.editor.commands import SetParamCommand  # noqa: E402
from nnstudio.gui.shell.app import create_application  # noqa: E402
from nnstudio.gui.shell.mainwindow import MainWindow  # noqa: E402


def residual_design(n_layers: int) -> Design:
    """Input → residual blocks (Dense, Dense, Add with a skip) … → Output: `n_layers` layers in all."""
    design = Design(f"{n_layers}-layer residual MLP")
    prev = design.add_layer("Input", params={"features": 32}).id
    while len(design.layers) + 3 < n_layers:
        a = design.add_layer("Dense", params={"units": 32, "activation": "relu"}).id
        b = design.add_layer("Dense", params={"units": 32, "activation": "identity"}).id
        add = design.add_layer("Add").id
        design.connect(prev, a)
        design.connect(a, b)
        design.connect(b, add)
        design.connect(prev, add)
        prev = add
    while len(design.layers) < n_layers - 1:
        nxt = design.add_layer("Dropout", params={"rate": 0.1}).id
        design.connect(prev, nxt)
        prev = nxt
    out = design.add_layer("Output", params={"task": "multiclass", "units": 10}).id
    design.connect(prev, out)
    for lid, pos in layered_layout(design, 240, 110).items():
        design.move(lid, pos)
    return design


def timed(fn, repeat: int = 1) -> float:
    """Median seconds of `repeat` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def send(viewport, kind, pos: QPointF, buttons) -> None:
    button = Qt.MouseButton.LeftButton if kind != QMouseEvent.Type.MouseMove else Qt.MouseButton.NoButton
    event = QMouseEvent(kind, pos, viewport.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, event)


def drag_fps(window: MainWindow, layer_id: str, moves: int) -> tuple[float, int]:
    """Press on a block, move it `moves` times with a synchronous repaint each time, release.

    Returns (frames per second, undo steps the drag produced)."""
    view = window.canvas
    viewport = view.viewport()
    block = window.scene.blocks[layer_id]
    window.scene.clearSelection()
    start = QPointF(view.mapFromScene(block.sceneBoundingRect().center()))
    steps_before = window.undo_stack.count()
    send(viewport, QMouseEvent.Type.MouseButtonPress, start, Qt.MouseButton.LeftButton)
    began = time.perf_counter()
    for i in range(1, moves + 1):
        dx = 60 * ((i % 20) / 20) - 30
        send(viewport, QMouseEvent.Type.MouseMove, start + QPointF(dx, i % 7), Qt.MouseButton.LeftButton)
        viewport.repaint()
    elapsed = time.perf_counter() - began
    send(viewport, QMouseEvent.Type.MouseButtonRelease, start + QPointF(10, 0), Qt.MouseButton.NoButton)
    return moves / elapsed, window.undo_stack.count() - steps_before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=300)
    parser.add_argument("--moves", type=int, default=120)
    args = parser.parse_args()

    app = create_application([sys.argv[0]])
    design = residual_design(args.layers)
    print(f"design: {len(design.layers)} layers, {len(design.connections)} connections "
          f"(platform {app.platformName()})")

    t_infer = timed(lambda: infer(design), repeat=20)
    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    t_open = timed(lambda: window.set_design(design, None))
    t_layout = timed(lambda: window.auto_layout(fit=True))
    viewport = window.canvas.viewport()
    t_paint_all = timed(viewport.repaint, repeat=5)
    middle = list(window.design.layers)[len(window.design.layers) // 2]
    dense = next(lid for lid, layer in window.design.layers.items() if layer.type == "Dense")

    def edit() -> None:
        units = window.design.layers[dense].params["units"]
        window.session.push(SetParamCommand(window.design, dense, "units", 48 if units == 32 else 32))

    t_edit = timed(edit, repeat=10)

    with tempfile.TemporaryDirectory() as tmp:
        t_png = timed(lambda: render_design(window.design, Path(tmp) / "big.png"))
        t_svg = timed(lambda: render_design(window.design, Path(tmp) / "big.svg"))
        png_kb = (Path(tmp) / "big.png").stat().st_size / 1024
        svg_kb = (Path(tmp) / "big.svg").stat().st_size / 1024

    print(f"shape inference (infer)            {t_infer * 1e3:8.2f} ms")
    print(f"open in window (scene + infer)     {t_open * 1e3:8.2f} ms")
    print(f"auto layout + fit                  {t_layout * 1e3:8.2f} ms")
    print(f"repaint, whole design visible      {t_paint_all * 1e3:8.2f} ms   zoom {window.canvas.zoom:.2f}")
    print(f"edit a parameter → re-infer, views {t_edit * 1e3:8.2f} ms")
    print(f"render PNG                         {t_png * 1e3:8.2f} ms   {png_kb:,.0f} KiB")
    print(f"render SVG                         {t_svg * 1e3:8.2f} ms   {svg_kb:,.0f} KiB")

    print("drag one block, frames/s (synchronous repaint per mouse move):")
    print(f"  {'view':<28}{'cached blocks':>14}{'no cache':>10}{'ratio':>8}")
    for label, fit in (("100 % zoom, around the block", False), ("whole design visible", True)):
        results = []
        for cached in (True, False):
            window.scene.set_item_caching(cached)
            if fit:
                window.canvas.fit_all()
            else:
                window.canvas.set_zoom(1.0)
                window.canvas.centre_on_layer(middle)
            app.processEvents()
            fps, steps = drag_fps(window, middle, args.moves)
            results.append(fps)
            if steps != 1:
                print(f"  warning: the drag made {steps} undo steps, expected 1")
        print(f"  {label:<28}{results[0]:>14.1f}{results[1]:>10.1f}{results[0] / results[1]:>8.2f}")
    window.scene.set_item_caching(True)
    window.undo_stack.setClean()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
