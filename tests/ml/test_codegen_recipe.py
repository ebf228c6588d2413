"""Generated code follows the design's training recipe: a Playground-recipe train.py trains exactly as NN Studio's
trainer does (same start and data order → the same weights and losses), from the trainer's own functions, and
the generated files pass ruff with the project's rules."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch
from training_helpers import one_cpu_thread, playground  # noqa: F401 - the fixture is autouse

from nnstudio.core.errors import ExportError
from nnstudio.ml import playground_recipe
from nnstudio.ml.builder import build_model
from nnstudio.ml.codegen import class_name_for, function_source, generate_model_code, generate_train_code
from nnstudio.ml.export import export_python
from nnstudio.ml.trainer import Trainer

ROOT = Path(__file__).resolve().parents[2]
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {
    "OMP_NUM_THREADS": "1", "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1"}

# Runs the exported train.py on the arrays NN Studio trained on (its split replaced), from given weights.
_DRIVER = textwrap.dedent("""
    import importlib.util, sys
    import numpy as np
    import torch

    sys.path.insert(0, ".")
    spec = importlib.util.spec_from_file_location("train", "train.py")
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    with np.load("data.npz") as data:
        arrays = [data[k] for k in ("x_train", "y_train", "x_val", "y_val")]
    train.load_source = lambda args: (None, None)
    train.split = lambda x, y: arrays
    train.main(sys.argv[1:])
""")


def _design(dataset: str, **training):
    task = "regression" if dataset.startswith("reg-") else "binary"
    training.setdefault("recipe", "playground")
    design = playground(dataset=dataset, task=task, device="cpu", learning_rate=0.03, **training)
    design.set_dataset(samples=250, noise=0.1)
    return design


def _last_losses(output: str) -> tuple[float, float]:
    line = [row for row in output.splitlines() if row.startswith("epoch")][-1].split()
    return float(line[line.index("loss") + 1]), float(line[line.index("val_loss") + 1])


@pytest.mark.parametrize("dataset, regularization, rate, batch", [
    ("circle", "l1", 0.01, 30),  # 250 points: 10 carried into every next epoch; L1's clamp kills links
    ("reg-plane", "l2", 0.01, 7),
])
def test_playground_train_py_trains_as_nnstudio(tmp_path: Path, dataset, regularization, rate, batch) -> None:
    epochs = 12
    design = _design(dataset, regularization=regularization, regularization_rate=rate, batch_size=batch)
    trainer = Trainer(design, publish_hz=0)
    torch.save({k: v.clone() for k, v in trainer.model.state_dict().items()}, tmp_path / "start.pt")
    ds = trainer.dataset
    np.savez(tmp_path / "data.npz", x_train=ds.x_train, y_train=ds.y_train, x_val=ds.x_val, y_val=ds.y_val)
    trainer.fit(epochs)
    export_python(build_model(design), design, tmp_path)
    (tmp_path / "driver.py").write_text(_DRIVER)
    run = subprocess.run([sys.executable, "driver.py", "--epochs", str(epochs), "--start-from", "start.pt",
                          "--output", "end.pt", "--device", "cpu"], cwd=tmp_path, env=CHILD_ENV,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    theirs = torch.load(tmp_path / "end.pt", weights_only=True)
    ours = trainer.model.state_dict()
    start = torch.load(tmp_path / "start.pt", weights_only=True)
    for name, value in ours.items():
        assert not torch.equal(value, start[name]), name  # it trained
        torch.testing.assert_close(theirs[name], value, rtol=0, atol=2e-5, msg=name)
    if regularization == "l1":  # the same links died: Playground's clamp at zero, copied, not rewritten
        dead = sum(int((v == 0).sum()) for k, v in ours.items() if k.endswith("weight"))
        assert dead > 0 and dead == sum(int((v == 0).sum()) for k, v in theirs.items() if k.endswith("weight"))
    # The losses train.py prints are Playground's, as NN Studio reports them.
    train_loss, val_loss = _last_losses(run.stdout)
    final = trainer.last_telemetry
    assert train_loss == pytest.approx(final.train_loss, abs=1.5e-4)
    assert val_loss == pytest.approx(final.val_loss, abs=1.5e-4)
    x = torch.as_tensor(ds.x_val, dtype=torch.float64)
    y = torch.as_tensor(np.asarray(ds.y_val), dtype=torch.float64).reshape(len(x), -1)
    model = build_model(design).double()
    model.load_state_dict({k: v.double() for k, v in theirs.items()})
    with torch.no_grad():
        out = model(x)
    t = 2.0 * y - 1.0
    independent = float((0.5 * ((torch.tanh(out) - t) if trainer.task == "binary" else (out - y)) ** 2).mean())
    assert val_loss == pytest.approx(independent, abs=1.5e-4)


def test_playground_train_py_holds_the_trainers_own_recipe_functions() -> None:
    source = generate_train_code(_design("circle"))
    for function in (playground_recipe.squared_losses, playground_recipe.batch_bounds,
                     playground_recipe.PlaygroundL1):
        assert function_source(function) in source
    assert "BCEWithLogitsLoss" not in source and "randperm" not in source  # no cross-entropy, one shuffle
    assert "make_loss = make_playground_loss" in source
    pytorch = _design("circle", recipe="pytorch")
    plain = generate_train_code(pytorch)
    assert "BCEWithLogitsLoss" in plain and "randperm" in plain and "PlaygroundL1" not in plain


def test_playground_model_py_predicts_the_apps_boundary_probability(tmp_path: Path) -> None:
    design = _design("circle")
    model = build_model(design)
    code = generate_model_code(design)
    assert "torch.sigmoid" not in code and "torch.tanh(self(x))" in code
    namespace: dict = {"__name__": "generated_model"}
    exec(compile(code, "model.py", "exec"), namespace)  # model.py imports only torch
    generated = namespace[class_name_for(design.name)]()
    generated.load_state_dict(model.state_dict())
    x = torch.randn(16, 2)
    torch.testing.assert_close(generated.predict(x), playground_recipe.playground_probability(model(x)))


def test_a_multiclass_playground_design_is_refused_with_words() -> None:
    design = playground(task="multiclass", recipe="pytorch")
    design.set_training(recipe="playground")
    with pytest.raises(ExportError, match="multi-class"):
        generate_train_code(design)


def _ruff_rules() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["ruff"]
    lint = config["lint"]
    return ["--line-length", str(config["line-length"]), "--target-version", config["target-version"],
            "--select", ",".join(lint["select"]), "--ignore", ",".join(lint.get("ignore", [])),
            "--config", "lint.isort.known-first-party = ['model']"]


def test_the_generated_files_pass_ruff_with_the_projects_rules(tmp_path: Path) -> None:
    long_text = "A description a person wrote about this design, long enough to need several lines. " * 4
    designs = {"playground": _design("circle"), "regression": _design("reg-gauss"),
               "pytorch": _design("circle", recipe="pytorch")}
    designs["pytorch"].set_meta(description=long_text)
    files = []
    for name, design in designs.items():
        folder = tmp_path / name
        export_python(build_model(design), design, folder)
        files += [folder / "model.py", folder / "train.py"]
    run = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", *_ruff_rules(),
                          "--output-format", "concise", *map(str, files)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
