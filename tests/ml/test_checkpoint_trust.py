"""Nothing trusted from a checkpoint: its metadata is schema-checked, checksummed, and re-validated on resume."""

from __future__ import annotations

import argparse
import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from nnstudio.core.errors import FormatError
from nnstudio.io import save_design
from nnstudio.ml.checkpoint import checkpoint_digest, load_checkpoint
from nnstudio.train_cli import add_arguments, main

try:
    from training_helpers import one_cpu_thread, playground  # noqa: F401 - autouse
except ImportError:  # tests/ml became a package
    from .training_helpers import one_cpu_thread, playground  # noqa: F401


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("trust")
    design_file = folder / "circle.nnstudio"
    save_design(playground(init="playground", epochs=1, seed=3, optimizer="adam"), design_file)
    out = folder / "good.safetensors"
    assert _train(str(design_file), "--out", str(out)) == 0
    return design_file, out


def _train(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="nnstudio train")
    add_arguments(parser)
    return main(parser.parse_args(list(argv)))


def _parts(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    data = path.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    return st_load(data), json.loads(data[8:8 + size])["__metadata__"]


def _resigned(good: Path, target: Path, change: Callable[[dict[str, torch.Tensor], dict[str, Any]], None]) -> Path:
    """A copy with `change` applied to its tensors and parsed metadata, signed again with a valid checksum:
    only the schema can refuse it."""
    tensors, metadata = _parts(good)
    parsed = {k: json.loads(v) if k in ("training", "optimizer", "rng") else v for k, v in metadata.items()}
    change(tensors, parsed)
    metadata = {k: json.dumps(v) if k in ("training", "optimizer", "rng") else v for k, v in parsed.items()}
    metadata["sha256"] = checkpoint_digest(tensors, metadata)
    target.write_bytes(st_save(tensors, metadata=metadata))
    return target


def _set(section: str, *path_and_value: Any) -> Callable[[dict, dict], None]:
    *path, value = path_and_value

    def change(tensors: dict, meta: dict) -> None:
        node = meta[section]
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


CASES = {
    "epoch as text": (_set("training", "epoch", "3"), r"training state is not valid: epoch: must be a whole"),
    "negative step": (_set("training", "step", -1), r"step: input should be greater than or equal to 0"),
    "history not a list": (_set("training", "history", "x"), r"history: must be a list"),
    "hyperparameters a list": (_set("training", "hyperparameters", []), r"hyperparameters: must be an object"),
    "learning rate 1e6": (_set("training", "hyperparameters", "learning_rate", 1e6),
                          r"hyperparameters\.learning_rate: must be at most 10, not 1000000"),
    "unknown hyperparameter": (_set("training", "hyperparameters", "epochs", 5.0), r"not a live hyper-parameter"),
    "unknown optimizer": (_set("training", "optimizer", "lbfgs"), r"optimizer: must be one of"),
    "unicode digit index": (lambda t, m: m["optimizer"]["state"].update({"²": {"step": 1.0}}),
                            r"a parameter index must be a whole number written in 0-9"),
    "rng listing a dict": (lambda t, m: m.update(rng=[{"a": 1}]), r"random state listing is not valid"),
    "short generator state": (lambda t, m: t.update({"rng.generator": torch.zeros(10, dtype=torch.uint8)}),
                              r"random state generator is not a valid generator state"),
    "float generator state": (lambda t, m: t.update({"rng.generator": torch.zeros(5056)}),
                              r"random state generator is 5056 \(F32\), not a generator state"),
    "unknown metadata entry": (lambda t, m: m.update(note="hi"), r"unknown entry 'note'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_metadata_with_a_valid_checksum_is_refused_by_the_schema(good, tmp_path: Path, case: str):
    change, message = CASES[case]
    path = _resigned(good[1], tmp_path / "bad.safetensors", change)
    with pytest.raises(FormatError, match=message):
        load_checkpoint(path)


def test_resume_with_a_malformed_checkpoint_is_a_one_line_error(good, tmp_path: Path, capsys) -> None:
    path = _resigned(good[1], tmp_path / "bad.safetensors", CASES["learning rate 1e6"][0])
    assert _train(str(good[0]), "--resume", str(path)) == 2
    err = capsys.readouterr().err
    assert "must be at most 10" in err and "Traceback" not in err and err.count("\n") == 1


def test_the_checksum_covers_every_metadata_key_and_value(good, tmp_path: Path) -> None:
    data = good[1].read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = data[8:8 + size]
    flips = {"key name": header.index(b'"training"') + 3, "value": header.index(b'"hyperparameters') + 3}
    for what, at in flips.items():
        for bit in range(8):
            mutated = bytearray(data)
            mutated[8 + at] ^= 1 << bit
            path = tmp_path / f"flip-{what.replace(' ', '-')}-{bit}.safetensors"
            path.write_bytes(bytes(mutated))
            with pytest.raises(FormatError, match="is not an NN Studio checkpoint"):
                load_checkpoint(path)


def test_a_good_checkpoint_still_loads_and_resumes(good, tmp_path: Path) -> None:
    checkpoint = load_checkpoint(good[1])
    assert checkpoint.training_state["epoch"] == 1 and checkpoint.optimizer_state is not None
    assert set(checkpoint.rng_state) >= {"generator", "dropout"}
    assert _train(str(good[0]), "--epochs", "2", "--resume", str(good[1])) == 0
