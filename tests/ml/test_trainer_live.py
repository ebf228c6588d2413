"""The trainer holds the live hyper-parameters as one value: changed between steps through the control,
read back by the optimizer and the checkpoint, and checked again when a checkpoint brings them back."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnstudio.core.errors import TrainingError
from nnstudio.core.live import LiveHyperparameters
from nnstudio.ml.callbacks import LambdaCallback
from nnstudio.ml.checkpoint import load_checkpoint
from nnstudio.ml.control import TrainingControl
from nnstudio.ml.trainer import Trainer

try:
    from training_helpers import one_cpu_thread, vector_dataset, vector_design  # noqa: F401 - autouse
except ImportError:  # tests/ml became a package
    from .training_helpers import one_cpu_thread, vector_dataset, vector_design  # noqa: F401


def test_live_changes_reach_the_optimizer_and_the_checkpoint(tmp_path: Path) -> None:
    design = vector_design(optimizer="momentum", learning_rate=0.01, momentum=0.5, epochs=2, batch_size=10)
    control = TrainingControl()
    changes = {"learning_rate": 0.2, "momentum": 0.8, "grad_clip": 1.5}
    trainer = Trainer(design, dataset=vector_dataset(), device="cpu", publish_hz=0, control=control,
                      callbacks=[LambdaCallback(on_batch_end=lambda step: step == 3
                                                and control.set_hyperparameters(**changes))])
    assert trainer.live == LiveHyperparameters.from_config(design.training)
    trainer.fit()
    assert trainer.live.to_dict() == {**changes, "regularization_rate": 0.0}
    group = trainer.optimizer.param_groups[0]
    assert float(group["lr"]) == pytest.approx(0.2) and group["momentum"] == pytest.approx(0.8)
    assert trainer.training_state()["hyperparameters"] == trainer.live.to_dict()
    trainer.save_checkpoint(tmp_path / "run.safetensors")
    resumed = Trainer(design, dataset=vector_dataset(), device="cpu", publish_hz=0,
                      initial_state=load_checkpoint(tmp_path / "run.safetensors"))
    assert resumed.live == trainer.live and resumed.learning_rate == pytest.approx(0.2)


def test_a_checkpoint_with_out_of_range_hyperparameters_is_refused(tmp_path: Path) -> None:
    design = vector_design(optimizer="adam", learning_rate=0.01, epochs=1)
    trainer = Trainer(design, dataset=vector_dataset(), device="cpu", publish_hz=0)
    trainer.fit()
    trainer.save_checkpoint(tmp_path / "run.safetensors")
    checkpoint = load_checkpoint(tmp_path / "run.safetensors")
    checkpoint.training_state["hyperparameters"]["learning_rate"] = 1e9
    with pytest.raises(TrainingError, match=r"hyperparameters\.learning_rate: must be at most 10"):
        Trainer(design, dataset=vector_dataset(), device="cpu", publish_hz=0, initial_state=checkpoint)
