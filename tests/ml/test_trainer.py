"""The training loop: optimizers, schedules, losses, regularisation, callbacks, determinism and faults (CPU)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nnstudio.core.errors import DataError, TrainingError
from nnstudio.core.settings import OPTIMIZERS, SCHEDULES
from nnstudio.ml.callbacks import HOOKS, Callback, CancelTraining, LambdaCallback
from nnstudio.ml.optim import schedule_factor
from nnstudio.ml.trainer import Trainer, resolve_device

try:
    from training_helpers import image_dataset, one_cpu_thread, vector_dataset, vector_design  # noqa: F401 - autouse
except ImportError:  # tests/ml became a package
    from .training_helpers import image_dataset, one_cpu_thread, vector_dataset, vector_design  # noqa: F401


def quiet(design, dataset, **kwargs) -> Trainer:
    """A trainer that publishes only at the end (fast tests)."""
    return Trainer(design, dataset=dataset, device="cpu", publish_hz=0, **kwargs)


def weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


class Recorder(Callback):
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def on_fit_start(self) -> None:
        self.events.append(("fit_start",))

    def on_fit_end(self) -> None:
        self.events.append(("fit_end",))

    def on_epoch_start(self, epoch: int) -> None:
        self.events.append(("epoch_start", epoch))

    def on_epoch_end(self, epoch: int) -> None:
        self.events.append(("epoch_end", epoch))

    def on_batch_start(self, step: int) -> None:
        self.events.append(("batch_start", step))

    def on_batch_end(self, step: int) -> None:
        self.events.append(("batch_end", step))

    def after_backward(self) -> None:
        self.events.append(("after_backward",))

    def after_step(self) -> None:
        self.events.append(("after_step",))

    def on_publish(self, telemetry) -> None:
        self.events.append(("publish", telemetry.reason))

    def on_error(self, error) -> None:
        self.events.append(("error", error))


# ---- optimizers, schedules, losses ---------------------------------------------------------------------

@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("regularization", ["none", "l1", "l2"])
def test_every_optimizer_trains_an_epoch(optimizer: str, regularization: str) -> None:
    design = vector_design(optimizer=optimizer, learning_rate=0.01, regularization=regularization,
                           regularization_rate=0.001, epochs=1)
    trainer = quiet(design, vector_dataset())
    before = weights(trainer)
    result = trainer.fit()
    assert result.epochs_completed == 1 and result.steps == 6
    assert result.final is not None and math.isfinite(result.final.val_loss)
    after = weights(trainer)
    assert any(not torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_every_schedule_runs_and_sets_the_rate_per_epoch(schedule: str) -> None:
    design = vector_design(schedule=schedule, learning_rate=0.1, gamma=0.5, step_size=2, epochs=4)
    rates = []
    trainer = quiet(design, vector_dataset(),
                    callbacks=[LambdaCallback(on_epoch_start=lambda e: rates.append(trainer.learning_rate))])
    trainer.fit()
    expected = [0.1 * schedule_factor(design.training, e) for e in range(4)]
    assert rates == pytest.approx(expected)
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(expected[-1])
    if schedule == "step":
        assert expected == pytest.approx([0.1, 0.1, 0.05, 0.05])
    if schedule == "cosine":
        assert expected[0] == pytest.approx(0.1) and expected[-1] < 0.02


@pytest.mark.parametrize("loss", ["mse", "mae", "huber"])
def test_regression_losses(loss: str) -> None:
    design = vector_design(task="regression", targets=2, regression_loss=loss, optimizer="adam",
                           learning_rate=0.01, epochs=3)
    trainer = quiet(design, vector_dataset(task="regression", targets=2))
    result = trainer.fit()
    assert result.final.train_accuracy is None and result.final.val_accuracy is None
    x = torch.as_tensor(trainer.dataset.x_val)
    y = torch.as_tensor(trainer.dataset.y_val)
    with torch.no_grad():
        out = trainer.model(x)
    fn = {"mse": torch.nn.functional.mse_loss, "mae": torch.nn.functional.l1_loss,
          "huber": torch.nn.functional.huber_loss}[loss]
    assert result.final.val_loss == pytest.approx(float(fn(out, y)), rel=1e-4)


def test_multiclass_uses_cross_entropy_and_reports_accuracy() -> None:
    design = vector_design(task="multiclass", classes=4, optimizer="adam", learning_rate=0.02, epochs=5)
    trainer = quiet(design, vector_dataset(task="multiclass", classes=4, n_train=160))
    result = trainer.fit()
    x = torch.as_tensor(trainer.dataset.x_val)
    y = torch.as_tensor(trainer.dataset.y_val)
    with torch.no_grad():
        out = trainer.model(x)
    assert result.final.val_loss == pytest.approx(float(torch.nn.functional.cross_entropy(out, y)), rel=1e-4)
    assert result.final.val_accuracy == pytest.approx(float((out.argmax(1) == y).float().mean()))


def test_binary_uses_bce_on_the_single_logit() -> None:
    trainer = quiet(vector_design(epochs=1), vector_dataset())
    result = trainer.fit()
    x = torch.as_tensor(trainer.dataset.x_val)
    y = torch.as_tensor(trainer.dataset.y_val).float().reshape(-1, 1)
    with torch.no_grad():
        out = trainer.model(x)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(out, y)
    assert result.final.val_loss == pytest.approx(float(expected), rel=1e-5)
    assert result.final.val_accuracy == pytest.approx(float(((out > 0).float() == y).float().mean()))


def test_l2_decays_weights_but_not_biases_and_adamw_decouples() -> None:
    design = vector_design(optimizer="sgd", regularization="l2", regularization_rate=0.5)
    trainer = quiet(design, vector_dataset())
    groups = trainer.optimizer.param_groups
    decayed = {id(p) for g in groups if g["weight_decay"] > 0 for p in g["params"]}
    for name, p in trainer.model.named_parameters():
        assert (id(p) in decayed) == name.endswith("weight"), name
    adamw = quiet(vector_design(optimizer="adamw", regularization="l2", regularization_rate=0.25), vector_dataset())
    assert isinstance(adamw.optimizer, torch.optim.AdamW)
    assert max(g["weight_decay"] for g in adamw.optimizer.param_groups) == 0.25
    plain = quiet(vector_design(optimizer="adamw"), vector_dataset())
    assert all(g["weight_decay"] == 0 for g in plain.optimizer.param_groups)


def test_l1_adds_the_sign_of_the_weights_to_their_gradient() -> None:
    design = vector_design(optimizer="sgd", regularization="l1", regularization_rate=0.5, epochs=1)
    trainer = quiet(design, vector_dataset())
    seen: list[tuple[dict, dict, dict]] = []

    def after_backward() -> None:  # the data gradient, and the weights the step starts from
        named = dict(trainer.model.named_parameters())
        seen.append(({n: p.grad.clone() for n, p in named.items()}, {n: p.detach().clone() for n, p in named.items()},
                     {}))

    def after_step() -> None:  # the gradient the optimizer used
        seen[-1][2].update({n: p.grad.clone() for n, p in trainer.model.named_parameters()})

    trainer.callbacks.append(LambdaCallback(after_backward=after_backward, after_step=after_step))
    trainer.fit()
    assert len(seen) == 6
    for data_grad, w, used in seen:
        for name in data_grad:
            extra = 0.5 * torch.sign(w[name]) if name.endswith("weight") else 0.0
            torch.testing.assert_close(used[name], data_grad[name] + extra)


def test_gradient_clipping_bounds_the_update() -> None:
    design = vector_design(task="regression", optimizer="sgd", learning_rate=1e-3, grad_clip=0.5)
    trainer = quiet(design, vector_dataset(task="regression", scale=1000.0))
    norms = []

    def after_step() -> None:
        total = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in trainer.model.parameters()]))
        norms.append(float(total))

    trainer.callbacks.append(LambdaCallback(after_step=after_step))
    trainer.fit(1)
    assert norms and max(norms) <= 0.5 * (1 + 1e-4)


def test_incomplete_last_batch_is_kept_in_eager_mode() -> None:
    trainer = quiet(vector_design(batch_size=40, epochs=2), vector_dataset(n_train=100))
    assert trainer.batches_per_epoch == 3
    result = trainer.fit()
    assert result.steps == 6 and result.samples_seen == 200


def test_nesterov_without_momentum_is_refused_plainly() -> None:
    with pytest.raises(TrainingError, match="momentum"):
        quiet(vector_design(optimizer="nesterov", momentum=0.0), vector_dataset())


def test_the_dataset_must_fit_the_design() -> None:
    with pytest.raises(DataError):
        quiet(vector_design(features=3), vector_dataset(features=5))
    with pytest.raises(DataError):
        quiet(vector_design(task="regression"), vector_dataset(task="binary"))


def test_cnn_with_batchnorm_and_dropout_trains() -> None:
    try:
        from training_helpers import chain
    except ImportError:
        from .training_helpers import chain
    design = chain([
        ("Input", {"mode": "image", "channels": 1, "height": 6, "width": 6}),
        ("Conv2d", {"filters": 4, "kernel": 3, "activation": "relu"}),
        ("BatchNorm", {}), ("Dropout", {"rate": 0.25}), ("Flatten", {}),
        ("Output", {"task": "multiclass", "units": 3}),
    ])
    design.set_training(batch_size=8, epochs=2, optimizer="adam", learning_rate=0.01)
    result = quiet(design, image_dataset()).fit()
    assert result.steps == 10 and math.isfinite(result.final.val_loss)


# ---- devices -------------------------------------------------------------------------------------------

def test_device_resolution() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(TrainingError, match="device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(TrainingError, match="CUDA"):
            resolve_device("cuda")
        with pytest.raises(TrainingError, match="CUDA"):
            resolve_device("cuda:1")


# ---- determinism and resuming --------------------------------------------------------------------------

@pytest.mark.parametrize("init", ["pytorch", "playground", "xavier", "kaiming"])
def test_same_seed_twice_gives_identical_weights(init: str) -> None:
    design = vector_design(init=init, seed=7, optimizer="momentum", epochs=3, batch_size=7)
    runs = []
    for _ in range(2):
        trainer = Trainer(design, dataset=vector_dataset(), device="cpu")  # telemetry on: it must not matter
        trainer.fit()
        runs.append(weights(trainer))
    assert runs[0].keys() == runs[1].keys()
    for name in runs[0]:
        assert torch.equal(runs[0][name], runs[1][name]), name
    other = Trainer(vector_design(init=init, seed=8, optimizer="momentum", epochs=3, batch_size=7),
                    dataset=vector_dataset(), device="cpu", publish_hz=0)
    other.fit()
    assert any(not torch.equal(runs[0][k], v) for k, v in weights(other).items())


def test_dropout_is_repeatable_with_the_seed_and_leaves_the_global_rng_alone() -> None:
    try:
        from training_helpers import chain
    except ImportError:
        from .training_helpers import chain
    design = chain([("Input", {"features": 3}), ("Dense", {"units": 16, "activation": "relu"}),
                    ("Dropout", {"rate": 0.5}), ("Output", {"task": "binary", "units": 1})])
    design.set_training(epochs=2, batch_size=8, seed=3)
    runs = []
    for _ in range(2):
        torch.manual_seed(12345)
        trainer = quiet(design, vector_dataset())
        trainer.fit()
        runs.append(weights(trainer))
        after = torch.rand(1)
        torch.manual_seed(12345)
        assert torch.equal(after, torch.rand(1))  # the process's own random stream did not move
    for name in runs[0]:
        assert torch.equal(runs[0][name], runs[1][name])


def test_fit_can_continue_and_matches_one_long_fit() -> None:
    design = vector_design(optimizer="adam", learning_rate=0.01, epochs=4, batch_size=10, schedule="exponential",
                           gamma=0.8)
    whole = quiet(design, vector_dataset())
    whole.fit()
    parts = quiet(design, vector_dataset())
    parts.fit(1)
    parts.fit(3)
    parts.fit()
    assert parts.epoch == 4 and parts.step == whole.step
    for name, value in weights(whole).items():
        assert torch.equal(value, weights(parts)[name]), name


# ---- callbacks -----------------------------------------------------------------------------------------

def test_event_order() -> None:
    recorder = Recorder()
    trainer = Trainer(vector_design(batch_size=48, epochs=2), dataset=vector_dataset(), device="cpu",
                      callbacks=[recorder], publish_hz=0, publish_epoch_end=True)
    trainer.fit()
    names = [e[0] for e in recorder.events]
    assert names[0] == "fit_start" and names[-1] == "fit_end"
    epoch_one = names[names.index("epoch_start"):names.index("epoch_end") + 1]
    assert epoch_one == ["epoch_start"] + ["batch_start", "after_backward", "after_step", "batch_end"] * 2 + [
        "epoch_end"]
    publishes = [e[1] for e in recorder.events if e[0] == "publish"]
    assert publishes == ["start", "epoch_end", "end"]
    assert [e[1] for e in recorder.events if e[0] == "batch_end"] == [1, 2, 3, 4]
    assert "error" not in names


def test_hooks_a_callback_does_not_override_are_never_called(monkeypatch) -> None:
    calls = []

    class OnlyPublish(Callback):
        def on_publish(self, telemetry) -> None:
            calls.append("publish")

    # Make the base class's empty hooks loud: OnlyPublish inherits them but overrides none, so the
    # trainer must not call them at all (as Keras skips callbacks that do not override a hook).
    for hook in HOOKS:
        if hook != "on_publish":
            monkeypatch.setattr(Callback, hook, lambda *a, _h=hook: calls.append(_h))
    cb = OnlyPublish()
    assert [h for h in HOOKS if cb.overrides(h)] == ["on_publish"]
    quiet(vector_design(epochs=1), vector_dataset(), callbacks=[cb]).fit()
    assert set(calls) == {"publish"}


def test_cancel_training_from_a_callback_ends_cleanly() -> None:
    recorder = Recorder()

    def cancel(step: int) -> None:
        if step == 3:
            raise CancelTraining

    trainer = quiet(vector_design(batch_size=16, epochs=5), vector_dataset(), callbacks=[
        recorder, LambdaCallback(on_batch_end=cancel)])
    result = trainer.fit()
    assert result.stopped and result.steps == 3 and trainer.epoch == 0
    assert recorder.events[-1] == ("fit_end",)
    assert ("publish", "end") in recorder.events


def test_an_exception_in_a_callback_reports_ends_cleanly_and_raises_training_error() -> None:
    recorder = Recorder()

    def boom(step: int) -> None:
        if step == 2:
            raise ValueError("plot failed")

    trainer = quiet(vector_design(epochs=3), vector_dataset(), callbacks=[
        recorder, LambdaCallback(on_batch_end=boom)])
    with pytest.raises(TrainingError, match="plot failed") as info:
        trainer.fit()
    assert isinstance(info.value.__cause__, ValueError)
    errors = [e[1] for e in recorder.events if e[0] == "error"]
    assert len(errors) == 1 and errors[0] is info.value
    assert recorder.events[-1] == ("fit_end",)
    assert trainer.step == 2


def test_a_failing_on_publish_callback_does_not_loop() -> None:
    ended = []

    def bad(telemetry) -> None:
        raise RuntimeError("no display")

    trainer = Trainer(vector_design(epochs=1), dataset=vector_dataset(), device="cpu", callbacks=[
        LambdaCallback(on_publish=bad, on_fit_end=lambda: ended.append(True))])
    with pytest.raises(TrainingError, match="no display"):
        trainer.fit()
    assert ended == [True]


# ---- faults --------------------------------------------------------------------------------------------

def _all_finite(trainer: Trainer) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in trainer.model.state_dict().values() if t.is_floating_point())


def test_nan_loss_stops_training_and_restores_finite_weights() -> None:
    # A huge learning rate on targets of size 1e6 overflows within a few steps.
    design = vector_design(task="regression", optimizer="sgd", learning_rate=10.0, batch_size=8, epochs=50)
    errors = []
    trainer = Trainer(design, dataset=vector_dataset(task="regression", scale=1e6), device="cpu",
                      publish_hz=1000, telemetry_budget=1.0, callbacks=[LambdaCallback(on_error=errors.append)])
    with pytest.raises(TrainingError, match=r"the loss became (NaN|infinite) at epoch \d+, step \d+") as info:
        trainer.fit()
    assert "lower learning rate" in str(info.value)
    assert errors == [info.value]
    assert _all_finite(trainer)
    assert trainer.last_telemetry is not None and trainer.last_telemetry.reason == "end"
    assert math.isfinite(trainer.last_telemetry.val_loss)


def test_an_injected_infinity_is_caught_at_the_next_publication() -> None:
    trainer = Trainer(vector_design(epochs=3), dataset=vector_dataset(), device="cpu", publish_hz=0,
                      publish_epoch_end=True)
    checked = {}

    def on_epoch_end(epoch: int) -> None:
        if epoch == 1:  # these weights are published, checked finite and kept
            checked.update(weights(trainer))

    def inject(step: int) -> None:
        if step == 8:
            with torch.no_grad():
                trainer.model.output1.weight.fill_(float("inf"))

    trainer.callbacks.append(LambdaCallback(on_epoch_end=on_epoch_end, on_batch_end=inject))
    with pytest.raises(TrainingError, match=r"(NaN|infinite) at epoch 2, step 12") as info:
        trainer.fit()
    assert "weights from step 6 were restored" in str(info.value)
    assert _all_finite(trainer)
    for name, value in weights(trainer).items():
        assert torch.equal(value, checked[name]), name


@pytest.mark.parametrize("error", [
    lambda: torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
    lambda: RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate; out of memory"),
    lambda: MemoryError(),
])
def test_out_of_memory_becomes_a_clear_training_error(error) -> None:
    trainer = quiet(vector_design(epochs=2), vector_dataset())
    forward = trainer.model.forward
    calls = {"n": 0}

    def failing(x):
        calls["n"] += 1
        if calls["n"] == 3:
            raise error()
        return forward(x)

    trainer.model.forward = failing
    ended = []
    trainer.callbacks.append(LambdaCallback(on_fit_end=lambda: ended.append(True)))
    with pytest.raises(TrainingError, match="ran out of memory") as info:
        trainer.fit()
    assert "batch size" in str(info.value)
    assert info.value.__cause__ is None  # the failing frames (and their tensors) are not kept alive
    assert ended == [True]
    trainer.model.forward = forward
    assert trainer.fit().epochs_completed == 2  # the process and the trainer are still usable


def test_unknown_errors_still_end_cleanly() -> None:
    trainer = quiet(vector_design(epochs=2), vector_dataset())
    trainer.model.forward = lambda x: (_ for _ in ()).throw(ValueError("broken layer"))
    ended = []
    trainer.callbacks.append(LambdaCallback(on_fit_end=lambda: ended.append(True)))
    with pytest.raises(TrainingError, match="broken layer"):
        trainer.fit()
    assert ended == [True]


def test_history_and_training_state_are_plain_values() -> None:
    trainer = Trainer(vector_design(epochs=2), dataset=vector_dataset(), device="cpu", publish_epoch_end=True)
    trainer.fit()
    state = trainer.training_state()
    assert state["epoch"] == 2 and state["step"] == 12 and state["optimizer"] == "sgd"
    import json

    json.dumps(state, allow_nan=False)
    assert all(isinstance(v, (int, float, str, type(None))) for entry in state["history"] for v in entry.values())
    assert np.isfinite([h["val_loss"] for h in state["history"]]).all()
