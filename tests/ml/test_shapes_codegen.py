"""Generated train.py for the shapes example loads the same images the studio trains on."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnstudio.data.shapes import make_shapes
from nnstudio.io import load_design
from nnstudio.ml.codegen import generate_train_code

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "shapes-cnn.nnstudio"


def test_train_code_for_shapes_regenerates_the_images() -> None:
    design = load_design(EXAMPLE)
    design.set_dataset(samples=40)
    code = generate_train_code(design)
    compile(code, "train.py", "exec")
    # What model.py would provide, so that the data part runs on its own.
    namespace: dict = {"__file__": "train.py", "__name__": "generated_train", "TASK": "multiclass"}
    data_part = code.split("\ndef main")[0].replace("from model import", "# from model import")
    exec(data_part, namespace)  # the module's data part, without model.py and without running training
    x, y = namespace["load_source"](None)
    rng = np.random.default_rng(np.random.SeedSequence(design.dataset.seed, spawn_key=(0,)))
    expected_x, expected_y, _ = make_shapes(40, design.dataset.noise, rng)
    assert np.array_equal(x, expected_x) and np.array_equal(y, expected_y)
