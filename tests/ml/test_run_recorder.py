"""RunRecorder: outcomes (finished / stopped / failed with its message), checkpoints, and empty runs dropped."""

from __future__ import annotations

from pathlib import Path

import pytest
from training_helpers import one_cpu_thread, playground  # noqa: F401 - autouse fixture

from nnstudio.core.errors import TrainingError
from nnstudio.ml.callbacks import CancelTraining, LambdaCallback
from nnstudio.ml.control import TrainingControl
from nnstudio.ml.run_recorder import RunRecorder, file_sha256
from nnstudio.ml.trainer import Trainer
from nnstudio.runs import RunStore


@pytest.fixture
def store(tmp_path: Path):
    with RunStore(tmp_path / "runs.sqlite") as s:
        yield s


def test_finished_run_keeps_settings_history_and_its_checkpoint(store: RunStore, tmp_path: Path) -> None:
    design = playground(epochs=3, seed=7, learning_rate=0.1)
    recorder = RunRecorder(store, design_file="p.nnstudio", name="baseline", checkpoint_dir=tmp_path / "ck")
    trainer = Trainer(design, callbacks=[recorder], publish_hz=0, publish_epoch_end=True)
    trainer.fit()
    run = store.run(recorder.uid)
    assert (run.status, run.name, run.seed, run.epochs, run.steps) == ("finished", "baseline", 7, 3, trainer.step)
    assert run.settings["training"]["learning_rate"] == 0.1 and run.device == "cpu" and run.task == "binary"
    assert file_sha256(recorder.checkpoint) == run.checkpoint_sha256
    assert [round(h.learning_rate, 9) for h in store.history(run.uid)] == [0.1] * 3
    final = trainer.last_telemetry
    assert (run.val_loss, run.val_accuracy) == (pytest.approx(final.val_loss), pytest.approx(final.val_accuracy))
    norms = store.history(run.uid)[-1].grad_norms
    assert norms == pytest.approx(final.grad_norms)


def test_stopped_and_failed_runs_say_so(store: RunStore) -> None:
    def stop(epoch: int) -> None:
        if epoch == 2:
            raise CancelTraining("enough")

    stopped = RunRecorder(store)
    Trainer(playground(epochs=5), callbacks=[stopped, LambdaCallback(on_epoch_end=stop)], publish_hz=0,
            publish_epoch_end=True).fit()
    assert store.run(stopped.uid).status == "stopped" and store.run(stopped.uid).epochs == 2

    def explode(epoch: int) -> None:
        raise ValueError("sensor unplugged")

    failed = RunRecorder(store)
    with pytest.raises(TrainingError):
        Trainer(playground(epochs=5), callbacks=[failed, LambdaCallback(on_epoch_end=explode)], publish_hz=0).fit()
    run = store.run(failed.uid)
    assert run.status == "failed" and "sensor unplugged" in run.message and run.checkpoint == ""


def test_run_stopped_before_its_first_step_is_not_kept(store: RunStore) -> None:
    control = TrainingControl()
    control.stop()
    recorder = RunRecorder(store)
    Trainer(playground(epochs=5), callbacks=[recorder], control=control, publish_hz=0).fit()
    assert recorder.status == "empty" and store.runs() == []
