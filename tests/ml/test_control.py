"""Steering a running trainer from another thread: pause, resume, single steps, stop, live hyper-parameters.

Every wait is on an event or condition with a timeout; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from nnstudio.core.errors import ParameterError
from nnstudio.ml.callbacks import LambdaCallback
from nnstudio.ml.control import TrainingControl
from nnstudio.ml.trainer import Trainer

try:
    from training_helpers import one_cpu_thread, vector_dataset, vector_design  # noqa: F401 - autouse
except ImportError:  # tests/ml became a package
    from .training_helpers import one_cpu_thread, vector_dataset, vector_design  # noqa: F401

WAIT = 30.0  # generous: a loaded CI machine must not make these flaky; they return as soon as the event fires


class Worker:
    """Runs `trainer.fit()` in a thread, like the GUI's training worker."""

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.result = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.result = self.trainer.fit()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            self.error = exc

    def start(self) -> Worker:
        self.thread.start()
        return self

    def join(self) -> None:
        self.thread.join(WAIT)
        assert not self.thread.is_alive(), "the training thread did not end"


@contextmanager
def training(trainer: Trainer, control: TrainingControl) -> Iterator[Worker]:
    worker = Worker(trainer).start()
    try:
        yield worker
    finally:
        control.stop()
        worker.join()


def long_design(**training):
    return vector_design(epochs=100_000, batch_size=8, **training)


def test_control_validates_in_the_callers_thread() -> None:
    control = TrainingControl()
    with pytest.raises(ParameterError, match="learning_rate"):
        control.set_hyperparameters(learning_rate=100.0)
    with pytest.raises(ParameterError, match="cannot be changed while training"):
        control.set_hyperparameters(batch_size=3)
    with pytest.raises(ValueError):
        control.step(0)
    assert control.state == "idle" and not control.attention
    control.set_hyperparameters(learning_rate=0.5)
    assert control.attention and control.take_hyperparameters() == {"learning_rate": 0.5}
    assert not control.attention


def test_pause_step_resume_stop_from_another_thread() -> None:
    control = TrainingControl()
    states: list[str] = []
    control.add_listener(states.append)
    reasons: list[str] = []
    trainer = Trainer(long_design(), dataset=vector_dataset(), device="cpu", control=control,
                      callbacks=[LambdaCallback(on_publish=lambda t: reasons.append(t.reason))])
    with training(trainer, control) as worker:
        assert control.running_event.wait(WAIT)
        control.pause()
        assert control.paused_event.wait(WAIT)
        assert control.state == "paused"
        assert reasons[-1] == "paused"  # the paused state is published before it is acknowledged
        paused_at = trainer.step

        control.step()  # exactly one batch, then paused again
        assert control.paused_event.wait(WAIT)
        assert trainer.step == paused_at + 1 and control.state == "paused"

        control.step(5)
        assert control.paused_event.wait(WAIT)
        assert trainer.step == paused_at + 6

        control.resume()
        assert control.wait_for("running", WAIT)
        control.stop()
        assert control.stopped_event.wait(WAIT)
        worker.join()
    assert worker.error is None and worker.result.stopped
    assert control.state == "stopped"
    assert states[0] == "running" and states[-1] == "stopped" and "paused" in states
    assert reasons[-1] == "end"


def test_stop_is_acknowledged_before_the_next_batch() -> None:
    control = TrainingControl()
    at_five, stop_sent = threading.Event(), threading.Event()

    def on_batch_end(step: int) -> None:
        if step == 5:
            at_five.set()
            assert stop_sent.wait(WAIT)

    trainer = Trainer(long_design(), dataset=vector_dataset(), device="cpu", control=control, publish_hz=0,
                      callbacks=[LambdaCallback(on_batch_end=on_batch_end)])
    with training(trainer, control) as worker:
        assert at_five.wait(WAIT)
        control.stop()
        stop_sent.set()
        assert control.stopped_event.wait(WAIT)
        worker.join()
    assert worker.error is None and worker.result.stopped
    assert trainer.step == 5  # the batch after the stop request never ran


def test_stop_while_running_freely_ends_within_about_a_batch() -> None:
    control = TrainingControl()
    started = threading.Event()
    trainer = Trainer(long_design(), dataset=vector_dataset(), device="cpu", control=control,
                      callbacks=[LambdaCallback(on_batch_end=lambda step: step >= 20 and started.set())])
    with training(trainer, control) as worker:
        assert started.wait(WAIT)
        requested_at = trainer.step
        control.stop()
        assert control.stopped_event.wait(WAIT)
        worker.join()
    assert worker.result.stopped
    assert trainer.step - requested_at <= 2


def test_stop_while_paused_ends_the_fit() -> None:
    control = TrainingControl()
    control.pause()  # paused before the first batch: the GUI's "step from the start"
    trainer = Trainer(long_design(), dataset=vector_dataset(), device="cpu", control=control)
    with training(trainer, control) as worker:
        assert control.paused_event.wait(WAIT)
        assert trainer.step == 0
        control.stop()
        assert control.stopped_event.wait(WAIT)
        worker.join()
    assert worker.result.stopped and trainer.step == 0


def test_a_stop_requested_before_fit_starts_is_not_lost() -> None:
    control = TrainingControl()
    control.stop()
    trainer = Trainer(long_design(), dataset=vector_dataset(), device="cpu", control=control)
    result = trainer.fit()
    assert result.stopped and trainer.step == 0
    control.reset()
    assert control.state == "idle" and not control.stop_requested


def test_learning_rate_change_reaches_the_optimizer_between_steps() -> None:
    control = TrainingControl()
    at_three, changed = threading.Event(), threading.Event()
    seen: dict[int, float] = {}

    def on_batch_start(step: int) -> None:
        seen[step] = trainer.optimizer.param_groups[0]["lr"]

    def on_batch_end(step: int) -> None:
        if step == 3:
            at_three.set()
            assert changed.wait(WAIT)

    trainer = Trainer(long_design(optimizer="momentum", learning_rate=0.01), dataset=vector_dataset(),
                      device="cpu", control=control, publish_hz=0,
                      callbacks=[LambdaCallback(on_batch_start=on_batch_start, on_batch_end=on_batch_end)])
    with training(trainer, control) as worker:
        assert at_three.wait(WAIT)
        control.set_hyperparameters(learning_rate=0.25, momentum=0.5, grad_clip=1.0)
        control.step()  # batch 4 runs with the new values, then the trainer pauses
        changed.set()
        assert control.paused_event.wait(WAIT)
        assert trainer.learning_rate == 0.25 and trainer.step == 4
        control.stop()
        worker.join()
    assert seen[3] == 0.01 and seen[4] == 0.25
    assert all(g["lr"] == 0.25 and g["momentum"] == 0.5 for g in trainer.optimizer.param_groups)
    assert trainer.training_state()["hyperparameters"] == {
        "learning_rate": 0.25, "momentum": 0.5, "regularization_rate": 0.0, "grad_clip": 1.0}


def test_hyperparameters_changed_while_paused_apply_without_leaving_the_pause() -> None:
    control = TrainingControl()
    states: list[str] = []
    control.add_listener(states.append)
    control.pause()
    trainer = Trainer(long_design(learning_rate=0.01), dataset=vector_dataset(), device="cpu", control=control)
    with training(trainer, control) as worker:
        assert control.paused_event.wait(WAIT)
        control.set_hyperparameters(learning_rate=0.125)
        control.step()
        assert control.paused_event.wait(WAIT)
        assert trainer.optimizer.param_groups[0]["lr"] == 0.125
        control.stop()
        worker.join()
    assert states.count("paused") == 2  # paused, one step, paused again: no spurious resumes
