"""Checkpoints: round trip, exact resuming, atomic saves, and refusing hostile or broken files without
running anything from them."""

from __future__ import annotations

import errno
import json
import os
import pickle
import struct
import threading
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from nnstudio.core.errors import FormatError, SaveError, TrainingError
from nnstudio.ml.callbacks import LambdaCallback
from nnstudio.ml.checkpoint import FORMAT, Checkpoint, load_checkpoint, save_checkpoint
from nnstudio.ml.control import TrainingControl
from nnstudio.ml.trainer import Trainer

try:
    from training_helpers import chain, one_cpu_thread, vector_dataset, vector_design  # noqa: F401 - autouse
except ImportError:  # tests/ml became a package
    from .training_helpers import chain, one_cpu_thread, vector_dataset, vector_design  # noqa: F401


def weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, Trainer]:
    design = vector_design(optimizer="adam", learning_rate=0.01, epochs=2)
    trainer = Trainer(design, dataset=vector_dataset(), device="cpu", publish_epoch_end=True)
    trainer.fit()
    path = tmp_path / "run.safetensors"
    trainer.save_checkpoint(path)
    return path, trainer


def test_round_trip(saved) -> None:
    path, trainer = saved
    checkpoint = load_checkpoint(path)
    assert isinstance(checkpoint, Checkpoint) and checkpoint.path == str(path)
    assert checkpoint.design.same_content(trainer.design)
    assert_same_weights(checkpoint.state_dict, weights(trainer))
    state = checkpoint.training_state
    assert state["epoch"] == 2 and state["step"] == 12 and state["optimizer"] == "adam"
    assert state["history"] and state["history"][-1]["reason"] == "end"
    assert set(checkpoint.optimizer_state["state"]) == set(range(len(list(trainer.model.parameters()))))
    assert set(checkpoint.optimizer_state["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert set(checkpoint.rng_state) == {"generator", "dropout"}
    with open(path, "rb") as handle:
        (size,) = struct.unpack("<Q", handle.read(8))
        metadata = json.loads(handle.read(size))["__metadata__"]
    assert metadata["format"] == FORMAT and metadata["version"] == "2"
    assert json.loads(metadata["design"])["format"] == "nnstudio.design"
    assert json.loads(metadata["training"])["step"] == 12


@pytest.mark.parametrize("optimizer", ["momentum", "adam", "rmsprop"])
def test_resuming_continues_exactly_where_the_checkpoint_was(tmp_path: Path, optimizer: str) -> None:
    design = vector_design(optimizer=optimizer, learning_rate=0.01, epochs=4, batch_size=10, schedule="step",
                           step_size=1, gamma=0.7)
    whole = Trainer(design, dataset=vector_dataset(), device="cpu", publish_hz=0)
    whole.fit()
    first = Trainer(design, dataset=vector_dataset(), device="cpu", publish_hz=0)
    first.fit(2)
    first.save_checkpoint(tmp_path / "half.safetensors")
    checkpoint = load_checkpoint(tmp_path / "half.safetensors")
    resumed = Trainer(checkpoint.design, dataset=vector_dataset(), device="cpu", publish_hz=0,
                      initial_state=checkpoint)
    assert resumed.epoch == 2 and resumed.step == first.step
    assert_same_weights(weights(resumed), weights(first))
    resumed.fit()
    assert resumed.step == whole.step
    assert_same_weights(weights(resumed), weights(whole))


def test_resuming_from_the_middle_of_an_epoch(tmp_path: Path) -> None:
    design = vector_design(optimizer="momentum", epochs=3, batch_size=10)
    whole = Trainer(design, dataset=vector_dataset(), device="cpu", publish_hz=0)
    whole.fit()
    control = TrainingControl()
    first = Trainer(design, dataset=vector_dataset(), device="cpu", publish_hz=0, control=control,
                    callbacks=[LambdaCallback(on_batch_end=lambda step: step == 14 and control.stop())])
    assert first.fit().stopped and first.step == 14 and first.batch == 4
    first.save_checkpoint(tmp_path / "mid.safetensors")
    checkpoint = load_checkpoint(tmp_path / "mid.safetensors")
    assert "epoch" in checkpoint.rng_state
    resumed = Trainer(design, dataset=vector_dataset(), device="cpu", publish_hz=0, initial_state=checkpoint)
    resumed.fit()
    assert_same_weights(weights(resumed), weights(whole))


def test_a_plain_state_dict_can_start_a_fit(saved) -> None:
    path, trainer = saved
    fresh = Trainer(trainer.design, dataset=vector_dataset(), device="cpu", initial_state=weights(trainer))
    assert_same_weights(weights(fresh), weights(trainer))
    assert fresh.step == 0


def test_weights_that_do_not_fit_the_design_are_refused(saved) -> None:
    path, trainer = saved
    other = vector_design(hidden=(5,))
    with pytest.raises(TrainingError, match="do not fit"):
        Trainer(other, dataset=vector_dataset(), device="cpu", initial_state=load_checkpoint(path))


def test_a_layer_named_like_the_prefixes_round_trips(tmp_path: Path) -> None:
    design = chain([("Input", {"features": 3}), ("Dense", {"units": 4}), ("Output", {"task": "binary"})])
    dense = next(layer for layer in design.layers.values() if layer.type == "Dense")
    design.rename(dense.id, "optim")
    output = next(layer for layer in design.layers.values() if layer.type == "Output")
    design.rename(output.id, "rng")
    design.set_training(optimizer="momentum", epochs=1, batch_size=16)
    trainer = Trainer(design, dataset=vector_dataset(), device="cpu", publish_hz=0)
    trainer.fit()
    trainer.save_checkpoint(tmp_path / "names.safetensors")
    checkpoint = load_checkpoint(tmp_path / "names.safetensors")
    assert set(checkpoint.state_dict) == {"optim.weight", "optim.bias", "rng.weight", "rng.bias"}
    assert set(checkpoint.rng_state) == {"generator", "dropout"}


# ---- atomic saving ---------------------------------------------------------------------------------------

def test_save_replaces_atomically_and_a_failed_save_keeps_the_old_file(saved, tmp_path: Path, monkeypatch) -> None:
    path, trainer = saved
    trainer.save_checkpoint(path)  # overwrite: a whole new file
    assert load_checkpoint(path).training_state["step"] == 12
    intact = path.read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    trainer.fit(3)
    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(SaveError, match="disk is full"):
        trainer.save_checkpoint(path)
    monkeypatch.undo()
    assert path.read_bytes() == intact
    assert load_checkpoint(path).training_state["step"] == 12  # the old checkpoint, whole
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_save_to_a_missing_folder_is_a_save_error(saved, tmp_path: Path) -> None:
    _, trainer = saved
    with pytest.raises(SaveError):
        save_checkpoint(tmp_path / "missing" / "x.safetensors", trainer.model, trainer.design, {})


# ---- hostile and broken files ----------------------------------------------------------------------------

class _MakesAFile:
    """Unpickling this creates the marker file: proof that a loader ran code from the file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_payload_is_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payloads = {
        "pickle.safetensors": pickle.dumps({"weights": _MakesAFile(str(marker))}, protocol=4),
        "pickle0.safetensors": pickle.dumps(_MakesAFile(str(marker)), protocol=0),
    }
    torch.save({"x": torch.zeros(2), "evil": _MakesAFile(str(marker))}, tmp_path / "torch.pt")
    payloads["torch.safetensors"] = (tmp_path / "torch.pt").read_bytes()
    for name, data in payloads.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(FormatError, match="is not an NN Studio checkpoint") as info:
            load_checkpoint(path)
        assert str(path) in str(info.value)
    assert not marker.exists()


def _variants(good: Path, folder: Path) -> dict[str, Path]:
    data = good.read_bytes()
    (header_size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_size])
    files: dict[str, bytes] = {
        "empty": b"",
        "tiny": data[:5],
        "truncated header": data[: 8 + header_size // 2],
        "truncated tensors": data[:-16],
        "extended": data + b"\x00" * 8,
        "huge header length": struct.pack("<Q", 2**62) + data[8:],
        "header not json": data[:8] + b"{" + b"\xff" * (header_size - 1) + data[8 + header_size:],
        "header zeroed": data[:8] + b"{" + b"\x00" * (header_size - 2) + b"}" + data[8 + header_size:],
        "text file": b"just some text, not a checkpoint at all",
    }
    flipped = bytearray(data)
    flipped[-3] ^= 0xFF  # a bit rot in the last tensor's data
    files["corrupted data"] = bytes(flipped)

    def rewrite(mutate) -> bytes:
        h = json.loads(json.dumps(header))
        mutate(h)
        text = json.dumps(h).encode()
        text += b" " * (-len(text) % 8)
        return struct.pack("<Q", len(text)) + text + data[8 + header_size:]

    files["newer version"] = rewrite(lambda h: h["__metadata__"].update(version="3"))
    files["other format"] = rewrite(lambda h: h["__metadata__"].update(format="someone.else"))
    files["no metadata"] = rewrite(lambda h: h.pop("__metadata__"))
    files["bad design"] = rewrite(lambda h: h["__metadata__"].update(design="{\"format\": 1"))
    first = next(k for k in header if k != "__metadata__")
    files["offsets outside"] = rewrite(lambda h: h[first].update(data_offsets=[0, 10**12]))
    files["unknown dtype"] = rewrite(lambda h: h[first].update(dtype="X99"))
    out = {}
    for name, blob in files.items():
        path = folder / (name.replace(" ", "_") + ".safetensors")
        path.write_bytes(blob)
        out[name] = path
    return out


def test_truncated_and_corrupted_files_are_refused(saved, tmp_path: Path) -> None:
    path, _ = saved
    for name, variant in _variants(path, tmp_path).items():
        with pytest.raises(FormatError, match="is not an NN Studio checkpoint") as info:
            load_checkpoint(variant)
        assert str(variant) in str(info.value), name
    with pytest.raises(FormatError, match="version 3"):
        load_checkpoint(tmp_path / "newer_version.safetensors")
    with pytest.raises(FormatError, match="checksum"):
        load_checkpoint(tmp_path / "corrupted_data.safetensors")


def test_a_missing_file_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="could not read"):
        load_checkpoint(tmp_path / "nope.safetensors")


def test_tensors_that_do_not_match_the_design_are_refused(saved, tmp_path: Path) -> None:
    path, trainer = saved
    checkpoint = load_checkpoint(path)
    from nnstudio.io import dumps
    from nnstudio.ml.checkpoint import tensor_digest

    def write(tensors: dict[str, torch.Tensor], name: str) -> Path:
        target = tmp_path / name
        metadata = {"format": FORMAT, "version": "1", "design": dumps(checkpoint.design), "training": "{}",
                    "optimizer": "null", "rng": "[]", "sha256": tensor_digest(tensors)}
        save_file(tensors, str(target), metadata=metadata)
        return target

    wrong_shape = dict(checkpoint.state_dict)
    wrong_shape["dense1.weight"] = torch.zeros(2, 2)
    with pytest.raises(FormatError, match="dense1.weight is 2×2"):
        load_checkpoint(write(wrong_shape, "shape.safetensors"))
    missing = {k: v for k, v in checkpoint.state_dict.items() if k != "output1.bias"}
    with pytest.raises(FormatError, match="output1.bias"):
        load_checkpoint(write(missing, "missing.safetensors"))
    extra = dict(checkpoint.state_dict, stowaway=torch.zeros(3))
    with pytest.raises(FormatError, match="stowaway"):
        load_checkpoint(write(extra, "extra.safetensors"))
    wrong_type = dict(checkpoint.state_dict)
    wrong_type["dense1.weight"] = wrong_type["dense1.weight"].double()
    with pytest.raises(FormatError, match="F64"):
        load_checkpoint(write(wrong_type, "dtype.safetensors"))


@pytest.mark.parametrize("units", [100_000, 500])
def test_a_hostile_design_in_a_checkpoint_allocates_nothing(tmp_path: Path, units: int) -> None:
    # 1e6 x 1e5 output weights would be 400 GB (the design reader refuses it); 1e6 x 500 is 2 GB, which
    # the checkpoint check builds on the "meta" device only, to compare names and shapes.
    design = chain([("Input", {"features": 2}), ("Dense", {"units": 1_000_000}),
                    ("Output", {"task": "regression", "units": units})])
    from nnstudio.io import dumps
    from nnstudio.ml.checkpoint import tensor_digest

    tensors = {"dense1.weight": torch.zeros(1, 1)}
    target = tmp_path / "hostile.safetensors"
    save_file(tensors, str(target), metadata={"format": FORMAT, "version": "1", "design": dumps(design),
                                               "training": "{}", "optimizer": "null", "rng": "[]",
                                               "sha256": tensor_digest(tensors)})
    done = threading.Event()
    errors: list[BaseException] = []

    def load() -> None:
        try:
            load_checkpoint(target)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        done.set()

    threading.Thread(target=load, daemon=True).start()
    assert done.wait(30)
    assert isinstance(errors[0], FormatError) and "is not an NN Studio checkpoint" in str(errors[0])
    if units == 500:
        assert "are missing" in str(errors[0])


@pytest.mark.parametrize("first_byte", [0x80, ord("(")])  # safetensors pads headers to 8 bytes
def test_a_header_length_that_starts_like_a_pickle_still_loads(tmp_path: Path, first_byte: int) -> None:
    """The first byte of a safetensors file is the low byte of its header length: it can be anything."""
    trainer = Trainer(vector_design(epochs=1), dataset=vector_dataset(), device="cpu", publish_hz=0)
    trainer.fit()
    path = tmp_path / "x.safetensors"
    state = trainer.training_state()
    for pad in range(300):
        # The training state's keys are fixed: pad its history (whole entries and a 0–63 character text).
        state["history"] = [{"epoch": 1}] * (pad // 8) + [{"reason": "x" * (8 * (pad % 8))}]
        save_checkpoint(path, trainer.model, trainer.design, state)
        if path.read_bytes()[0] == first_byte:
            break
    else:
        pytest.fail("no padding gave the wanted first byte")
    assert load_checkpoint(path).training_state["history"] == state["history"]
