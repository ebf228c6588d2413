"""Generated PyTorch code: reads like hand-written code, reproduces the app's model in a fresh interpreter,
trains in one process or several (torchrun, DDP on gloo), and never lets a design file inject code."""

from __future__ import annotations

import ast
import io
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import tokenize
from pathlib import Path

import numpy as np
import pytest
import torch

from nnstudio.core.errors import ExportError
from nnstudio.ml.builder import build_model
from nnstudio.ml.codegen import class_name_for, generate_model_code, generate_train_code
from nnstudio.ml.export import export_python

try:
    from test_export_designs import (
        CASES,
        HOSTILE,
        chain,
        circle,
        image_everything,
        inputs_for,
        load_case,
        trained_like,
        vector_everything,
    )
except ImportError:  # tests/ml became a package
    from .test_export_designs import (
        CASES,
        HOSTILE,
        chain,
        circle,
        image_everything,
        inputs_for,
        load_case,
        trained_like,
        vector_everything,
    )

from nnstudio.core.document import Design

TOLERANCE = 1e-5
ALLOWED_IMPORTS = {
    "model.py": {"__future__", "torch", "torch.nn.functional", "sys"},
    "train.py": {"__future__", "argparse", "csv", "math", "os", "sys", "pathlib", "numpy", "torch",
                 "torch.distributed", "torch.nn", "torch.nn.parallel", "model"},
}
# Child processes: one thread each (two cores here, shared with other test runs), no user site packages.
# PYTHONFAULTHANDLER: a child that aborts prints every thread's Python stack, so a failure says where.
CHILD_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
             "PYTHONFAULTHANDLER": "1"}


def _run(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in CHILD_ENV.items() if k != "PYTHONPATH"}  # a fresh interpreter, no nnstudio path
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _imports(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
    return names


# ---- model.py reads like a person wrote it -----------------------------------------------------------------

def test_a_chain_reads_like_hand_written_pytorch() -> None:
    code = generate_model_code(circle())
    assert "class PlaygroundCircle(nn.Module):" in code
    assert "self.fc1 = nn.Linear(2, 8)" in code
    assert "x = torch.tanh(self.fc1(x))" in code
    assert "x = torch.tanh(self.fc2(x))" in code
    assert "return self.out(x)" in code
    assert _imports(code) <= ALLOWED_IMPORTS["model.py"]


def test_merges_use_named_variables_in_connection_order() -> None:
    code = generate_model_code(vector_everything())
    assert "inp = x" in code  # the input feeds the first layer and the Concatenate
    assert "d_identity = self.d_identity(inp)" in code  # linear: no function around it
    assert "x = torch.relu(self.d_relu(d_identity))" in code
    assert "skip = bn + d_identity" in code  # Add: the BatchNorm output was connected first
    assert "x = torch.cat([skip, inp], dim=1)" in code
    assert "x = torch.sin(self.d_sine(x))" in code and "x = torch.sin(x)" in code
    assert "self.d_elu = nn.Linear(5, 5, bias=False)" in code
    assert "self.bn = nn.BatchNorm1d(5, momentum=0.2)" in code
    assert "unused" not in code  # it does not reach the Output, so the app never builds it

    images = generate_model_code(image_everything())
    assert "stack = torch.cat([conv_a, conv_b], dim=1)" in images
    assert "self.conv_b = nn.Conv2d(2, 3, kernel_size=1, bias=False)" in images
    assert "self.conv_c = nn.Conv2d(7, 2, kernel_size=3, stride=2)" in images
    assert "self.maxpool = nn.MaxPool2d(3, stride=1, padding=1)" in images
    assert "self.avgpool = nn.AvgPool2d(2, padding=1)" in images
    assert "x = maxpool + stack" in images  # the Add feeds only the next layer: it flows on in x
    assert "x = torch.flatten(x, 1)" in images
    assert "self.out = nn.Linear(8, 1, bias=False)" in images


@pytest.mark.parametrize(("name", "expected"), [
    ("playground circle", "PlaygroundCircle"),
    ("digits-cnn", "DigitsCnn"),
    ("MLP demo", "MLPDemo"),
    ("3 layers", "Model3Layers"),
    ("", "DesignModel"),
    ("数字", "DesignModel"),
    ("class", "Class"),
    ("TASK", "TASKModel"),
    ("int", "Int"),
    (HOSTILE, "ImportOsOsSystemTouchPwned"),
    ("a" * 500, "A" + "a" * 59),
])
def test_class_names_are_sanitised_identifiers(name: str, expected: str) -> None:
    assert class_name_for(name) == expected
    assert expected.isidentifier()


# ---- the generated model reproduces the app's model in a fresh interpreter ---------------------------------

_CHECK_MODELS = textwrap.dedent("""
    import importlib.util, sys
    import torch

    inputs = torch.load(sys.argv[1], weights_only=True)
    results = {}
    for i, folder in enumerate(sys.argv[2:]):
        spec = importlib.util.spec_from_file_location(f"generated_{i}", f"{folder}/model.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        model = module.load_model(f"{folder}/weights.pt")  # strict=True inside
        with torch.no_grad():
            for key, x in inputs.items():
                if key.startswith(folder + "|"):
                    results[key] = model(x)
    assert "nnstudio" not in sys.modules, "the generated code must not need NN Studio"
    torch.save(results, sys.argv[1] + ".out")
""")


def test_generated_models_match_the_app_in_a_fresh_interpreter(tmp_path: Path) -> None:
    folders, inputs, expected = [], {}, {}
    for case in CASES:
        try:
            design = load_case(case)
        except pytest.skip.Exception:
            continue
        model = trained_like(design, seed=2)
        folder = tmp_path / case.replace(":", "_")
        export_python(model, design, folder)
        folders.append(str(folder))
        for batch in (1, 6):
            key = f"{folder}|{batch}"
            inputs[key] = inputs_for(model, batch, seed=batch)
            with torch.no_grad():
                expected[key] = model(inputs[key])
    torch.save(inputs, tmp_path / "inputs.pt")
    (tmp_path / "check.py").write_text(_CHECK_MODELS)
    result = _run([sys.executable, "check.py", str(tmp_path / "inputs.pt"), *folders], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    got = torch.load(tmp_path / "inputs.pt.out", weights_only=True)
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert float((got[key] - value).abs().max()) <= TOLERANCE, key


# ---- nothing from a design file can become code ------------------------------------------------------------

def _code_tokens(source: str) -> list[str]:
    """Every token that is code: not a string literal."""
    literal = {tokenize.STRING, *(getattr(tokenize, n, -1) for n in ("FSTRING_START", "FSTRING_MIDDLE",
                                                                       "FSTRING_END"))}
    return [t.string for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type not in literal]


def test_a_hostile_name_description_and_path_stay_text(tmp_path: Path) -> None:
    design = circle(HOSTILE + "\x1b[2J\u202e")
    # Set directly: the edit operations refuse control characters, a document assembled by hand may hold them.
    design.description = HOSTILE + "\n'''\nimport os\nos.system('touch pwned')\n\u202e\x1b[2J"
    design.set_dataset(source="csv", path="data.csv'); import os; os.system('touch pwned') #",
                       target="y\"); os.system('touch pwned')")
    model = trained_like(design)
    export_python(model, design, tmp_path / "out")
    for name in ("model.py", "train.py"):
        source = (tmp_path / "out" / name).read_text()
        ast.parse(source)
        code = " ".join(_code_tokens(source))
        assert "system" not in code and "pwned" not in code, name
        assert _imports(source) <= ALLOWED_IMPORTS[name], name
    readme = (tmp_path / "out" / "README.txt").read_text()
    assert "\x1b" not in readme and "\u202e" not in readme
    result = _run([sys.executable, "model.py", "weights.pt"], cwd=tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "import os" not in result.stdout
    assert not list(tmp_path.rglob("pwned"))


def test_a_layer_name_that_is_not_an_identifier_is_refused(tmp_path: Path) -> None:
    design = circle()
    # Core refuses such names; a document assembled by hand could still hold one.
    design.layer_by_name("fc1").name = "fc1(x)); import os; os.system('touch pwned'); (x"
    with pytest.raises(ExportError, match="cannot be used in Python code"):
        generate_model_code(design)
    with pytest.raises(ExportError):
        export_python(build_model(circle()), design, tmp_path / "out")
    assert not (tmp_path / "out" / "model.py").exists()


def test_numbers_must_be_numbers() -> None:
    design = circle()
    design.layer_by_name("fc1").params["units"] = "8); import os; os.system('touch pwned'"
    with pytest.raises(ExportError):
        generate_model_code(design)


# ---- train.py: same data, one process or many ---------------------------------------------------------------

_FINAL = re.compile(r"epoch +(\d+)/(\d+) .*val_accuracy ([0-9.]+)")


def _final_accuracy(output: str) -> float:
    lines = [m for m in _FINAL.finditer(output)]
    assert lines, output
    last = lines[-1]
    assert last.group(1) == last.group(2)
    return float(last.group(3))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_two_processes(folder: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    """torchrun with two CPU processes on gloo; if this sandbox will not let torchrun rendezvous, start the
    two workers by hand with the environment torchrun would give them."""
    port = _free_port()
    result = _run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--nnodes", "1",
                   "--master-addr", "127.0.0.1", "--master-port", str(port), "train.py", *args], cwd=folder)
    blocked = ("EADDRINUSE", "address already in use", "Permission denied", "RendezvousConnectionError",
               "RendezvousTimeoutError", "DistNetworkError")
    if result.returncode == 0 or not any(b in result.stderr for b in blocked):
        return result
    port = _free_port()
    procs = [subprocess.Popen([sys.executable, "train.py", *args], cwd=folder, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**CHILD_ENV, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
                                   "WORLD_SIZE": "2", "RANK": str(rank), "LOCAL_RANK": str(rank),
                                   "LOCAL_WORLD_SIZE": "2"})
             for rank in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    code = max(p.returncode for p in procs)
    return subprocess.CompletedProcess(procs[0].args, code, outs[0][0], outs[0][1] + outs[1][1])


def test_train_py_learns_in_one_process_and_under_torchrun(tmp_path: Path) -> None:
    design = circle(HOSTILE)  # the hostile name travels through train.py's output too
    folder = tmp_path / "run"
    export_python(build_model(design), design, folder)
    single = _run([sys.executable, "train.py", "--output", "single.pt"], cwd=folder)
    assert single.returncode == 0, single.stderr
    ddp = _run_two_processes(folder, ["--output", "ddp.pt"])
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    assert "terminate called" not in ddp.stderr  # the teardown abort at exit (see stop_processes)
    assert "2 process(es)" in ddp.stdout
    one, two = _final_accuracy(single.stdout), _final_accuracy(ddp.stdout)
    assert one >= 0.9 and two >= 0.9 and abs(one - two) <= 0.05, (one, two)
    assert ddp.stdout.count("saved the trained weights") == 1  # only rank 0 prints and saves
    for weights in ("single.pt", "ddp.pt"):
        state = torch.load(folder / weights, weights_only=True)
        build_model(design).load_state_dict(state, strict=True)
    assert not list(tmp_path.rglob("pwned"))


_DUMP_DATA = textwrap.dedent("""
    import importlib.util, json, sys, types
    import numpy as np

    out = {}
    for folder in sys.argv[2:]:
        sys.path.insert(0, folder)
        sys.modules.pop("model", None)
        spec = importlib.util.spec_from_file_location("train_" + str(len(out)), folder + "/train.py")
        train = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(train)
        arrays = train.split(*train.load_source(types.SimpleNamespace(data=train.DATASET["path"])))
        np.savez(f"{folder}/split.npz", *arrays)
        sys.path.remove(folder)
        out[folder] = "ok"
    print(json.dumps(out))
""")


def _design_on(dataset: dict, input_params: dict, task: str, units: int) -> Design:
    design = Design(f"data {dataset.get('source')} {dataset.get('name', '')}")
    inp = design.add_layer("Input", "inp", input_params)
    layers = [inp]
    if input_params.get("mode") == "image":
        layers.append(design.add_layer("Flatten", "flat"))
    layers.append(design.add_layer("Output", "out", {"task": task, "units": units}))
    chain(design, *layers)
    design.set_dataset(**dataset)
    return design


def test_train_py_recreates_the_apps_datasets(tmp_path: Path) -> None:
    from nnstudio.data import load_dataset

    rng = np.random.default_rng(0)
    csv_path = tmp_path / "table.csv"
    rows = ["a,b,species"] + [f"{rng.normal():.6f},{rng.normal():.6f},{'cat' if i % 3 else 'dog'}"
                              for i in range(60)]
    csv_path.write_text("\n".join(rows) + "\n")
    npz_path = tmp_path / "images.npz"
    np.savez(npz_path, X=rng.random((40, 4, 4)).astype(np.float32), y=np.arange(40) % 3)
    cases = {
        "circle": _design_on({"source": "playground", "name": "circle", "samples": 600, "noise": 0.2,
                              "features": ["x1", "x2", "x1*x2", "sin(x1)"], "standardize": True},
                             {"features": 4}, "binary", 1),
        "spiral": _design_on({"source": "playground", "name": "spiral", "samples": 300, "noise": 0.1},
                             {"features": 2}, "binary", 1),
        "reg-gauss": _design_on({"source": "playground", "name": "reg-gauss", "samples": 500, "seed": 5},
                                {"features": 2}, "regression", 1),
        "iris": _design_on({"source": "builtin", "name": "iris", "train_percent": 70, "standardize": True},
                           {"features": 4}, "multiclass", 3),
        "digits": _design_on({"source": "builtin", "name": "digits", "as_images": True},
                             {"mode": "image", "channels": 1, "height": 8, "width": 8}, "multiclass", 10),
        "csv": _design_on({"source": "csv", "path": str(csv_path), "target": "Species"},
                          {"features": 2}, "binary", 1),
        "npz": _design_on({"source": "npz", "path": str(npz_path), "train_percent": 60},
                          {"mode": "image", "channels": 1, "height": 4, "width": 4}, "multiclass", 3),
    }
    folders = {}
    for name, design in cases.items():
        folders[name] = tmp_path / name
        export_python(build_model(design), design, folders[name])
    (tmp_path / "dump.py").write_text(_DUMP_DATA)
    result = _run([sys.executable, "dump.py", "-", *map(str, folders.values())], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == len(cases)
    for name, design in cases.items():
        app = load_dataset(design.dataset)
        with np.load(folders[name] / "split.npz") as split:
            x_train, y_train, x_val, y_val = (split[f"arr_{i}"] for i in range(4))
        assert x_train.shape == app.x_train.shape and x_val.shape == app.x_val.shape, name
        assert y_train.shape == app.y_train.shape and y_train.dtype == app.y_train.dtype, name
        if design.dataset.source == "playground":  # the same recipe: the same distribution
            both = np.concatenate([x_train, x_val])
            app_both = np.concatenate([app.x_train, app.x_val])
            assert np.allclose(both.mean(axis=0), app_both.mean(axis=0), atol=0.15), name
            assert np.allclose(both.std(axis=0), app_both.std(axis=0), rtol=0.1, atol=0.05), name
            assert abs(float(np.mean(y_train)) - float(np.mean(app.y_train))) < 0.1, name
        else:  # the same file: the same samples and labels (compared as sets: the shuffle may differ)
            def rows(x, y):
                return sorted(map(tuple, np.column_stack([x.reshape(len(x), -1), y.reshape(len(y), -1)])))
            assert np.allclose(rows(np.concatenate([x_train, x_val]), np.concatenate([y_train, y_val])),
                               rows(np.concatenate([app.x_train, app.x_val]), np.concatenate([app.y_train,
                                                                                              app.y_val])),
                               atol=1e-5), name
        if design.dataset.standardize:
            assert np.allclose(x_train.mean(axis=0), 0, atol=1e-4) and np.allclose(x_train.std(axis=0), 1, atol=1e-3)


def test_train_code_is_valid_for_every_source_and_setting() -> None:
    from nnstudio.core.settings import OPTIMIZERS, PLAYGROUND_DATASETS, REGULARIZATIONS, SCHEDULES

    design = vector_everything()
    for dataset in PLAYGROUND_DATASETS:
        design.set_dataset(source="playground", name=dataset)
        ast.parse(generate_train_code(design))
    for optimizer in OPTIMIZERS:
        for schedule in SCHEDULES:
            for regularization in REGULARIZATIONS:
                design.set_training(optimizer=optimizer, schedule=schedule, regularization=regularization)
                source = generate_train_code(design)
                assert f"'optimizer': {optimizer!r}" in source and f"'schedule': {schedule!r}" in source
    assert "BatchNorm cannot normalise a batch of one sample" in source
    assert "BatchNorm cannot" not in generate_train_code(circle())
