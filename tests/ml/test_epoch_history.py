"""History points recorded on the device: one per epoch however fast the run, shipped with publications."""

from __future__ import annotations

import math

import torch
from training_helpers import one_cpu_thread, playground, vector_dataset, vector_design  # noqa: F401

from nnstudio.ml.callbacks import Callback
from nnstudio.ml.epoch_history import POINT_STEPS
from nnstudio.ml.trainer import Trainer


class Collect(Callback):
    def __init__(self) -> None:
        self.publications = []

    def on_publish(self, telemetry) -> None:
        self.publications.append(telemetry)

    @property
    def points(self):
        return [p for t in self.publications for p in t.points]


def _always_validate(trainer: Trainer) -> None:
    trainer.collector.points.validation_budget = 1e9  # the budget never skips a point's validation


def test_a_fast_ten_epoch_run_has_ten_points_whatever_the_publication_rate():
    design = playground(epochs=10, batch_size=10, learning_rate=0.03, device="cpu")
    log = Collect()
    trainer = Trainer(design, callbacks=[log], publish_hz=2.0)  # far fewer publications than epochs
    _always_validate(trainer)
    trainer.fit()
    points = log.points
    assert len(log.publications) < 10
    assert [p.epoch_position for p in points] == [float(e) for e in range(1, 11)]
    assert [p.epoch for p in points] == list(range(1, 11))
    assert all(p.val_loss is not None and p.train_accuracy is not None for p in points)
    layers = {layer.name for layer in trainer.collector.layers}
    assert len(layers) == 3 and all(set(p.grad_norms) == layers for p in points)
    assert points[-1].step == trainer.step


def test_points_agree_with_epoch_publications_and_an_independent_validation():
    design = vector_design(features=3, hidden=(8,), task="binary", epochs=6, batch_size=16)
    log = Collect()
    trainer = Trainer(design, dataset=vector_dataset(n_train=96, n_val=32), callbacks=[log], publish_hz=0,
                      publish_epoch_end=True)
    _always_validate(trainer)
    trainer.fit()
    per_epoch = [t for t in log.publications if t.reason in ("epoch_end", "end")]
    assert [len(t.points) for t in per_epoch] == [1] * 6
    for telemetry in per_epoch:  # a publication's window is exactly one epoch here
        point = telemetry.points[0]
        assert math.isclose(point.train_loss, telemetry.train_loss, rel_tol=1e-6)
        assert math.isclose(point.train_accuracy, telemetry.train_accuracy, rel_tol=1e-6)
        assert math.isclose(point.val_loss, telemetry.val_loss, rel_tol=1e-6)
    # The last point's validation loss, recomputed by hand from the final weights.
    model = trainer.model.eval()
    with torch.no_grad():
        out = model(trainer.x_val)
        expected = torch.nn.functional.binary_cross_entropy_with_logits(
            out.reshape(-1), trainer.y_val.reshape(-1).float()).item()
    assert math.isclose(log.points[-1].val_loss, expected, rel_tol=1e-5)
    # The gradient norms are the last step's: recompute them from the gradients the model still holds.
    by_hand = {name: math.sqrt(sum(float(p.grad.norm()) ** 2 for p in getattr(model, name).parameters()))
               for name in log.points[-1].grad_norms}
    for name, norm in log.points[-1].grad_norms.items():
        assert math.isclose(norm, by_hand[name], rel_tol=1e-5)


def test_long_epochs_get_a_point_every_point_steps():
    n_train = POINT_STEPS * 2 + 40  # batch 1: 240 steps in the epoch
    design = vector_design(features=3, hidden=(4,), task="binary", epochs=1, batch_size=1)
    log = Collect()
    trainer = Trainer(design, dataset=vector_dataset(n_train=n_train, n_val=8), callbacks=[log], publish_hz=0)
    trainer.fit()
    assert [p.step for p in log.points] == [POINT_STEPS, 2 * POINT_STEPS, n_train]
    assert [p.epoch_position for p in log.points] == [POINT_STEPS / n_train, 2 * POINT_STEPS / n_train, 1.0]


def test_a_stop_mid_epoch_and_a_single_step_still_leave_a_point():
    from nnstudio.ml.control import TrainingControl

    control = TrainingControl()
    control.step(1)
    design = vector_design(features=3, hidden=(4,), task="binary", epochs=1, batch_size=16)

    class StopAfterPause(Collect):
        def on_publish(self, telemetry) -> None:
            super().on_publish(telemetry)
            if telemetry.reason == "paused":
                control.stop()

    log = StopAfterPause()
    trainer = Trainer(design, dataset=vector_dataset(n_train=96, n_val=8), callbacks=[log], control=control,
                      publish_hz=30)
    result = trainer.fit()
    assert result.stopped
    assert [p.step for p in log.points] == [1]
    assert log.points[0].epoch_position == 1 / 6


def test_the_last_point_is_always_validated():
    design = playground(epochs=3, batch_size=10, device="cpu")
    log = Collect()
    trainer = Trainer(design, callbacks=[log], publish_hz=30)
    trainer.collector.points.validation_budget = 1e-9  # a budget that skips every point it can
    trainer.fit()
    points = log.points
    assert len(points) == 3 and points[-1].val_loss is not None
    assert math.isclose(points[-1].val_loss, log.publications[-1].val_loss, rel_tol=1e-6)
