"""CUDA-graph capture of the training step: the decision logic and the warm-up / capture / replay sequence run
on the CPU with a stand-in graph; the real capture runs only where a CUDA device is present."""

from __future__ import annotations

import math

import pytest
import torch

from nnstudio.core.settings import OPTIMIZERS
from nnstudio.ml.callbacks import Callback, CallbackList, LambdaCallback
from nnstudio.ml.control import TrainingControl
from nnstudio.ml.cudagraph import GRAPH_OPTIMIZERS, WARMUP_STEPS, GraphStep, graph_blockers
from nnstudio.ml.trainer import Trainer

try:
    from training_helpers import one_cpu_thread, vector_dataset, vector_design  # noqa: F401 - autouse
except ImportError:  # tests/ml became a package
    from .training_helpers import one_cpu_thread, vector_dataset, vector_design  # noqa: F401

CUDA = torch.device("cuda", 0)
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


# ---- decision logic (no GPU needed) ---------------------------------------------------------------------

def blockers(**overrides) -> list[str]:
    args = {"device": CUDA, "optimizer": "momentum", "callbacks": CallbackList([]), "full_batches": 10,
            "mode": "auto"} | overrides
    return graph_blockers(**args)


def test_a_plain_cuda_setup_can_be_captured() -> None:
    assert blockers() == []


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_optimizers(optimizer: str) -> None:
    reasons = blockers(optimizer=optimizer)
    assert (reasons == []) == (optimizer in GRAPH_OPTIMIZERS)
    if optimizer == "adagrad":
        assert "adagrad" in reasons[0]


def test_what_blocks_capture() -> None:
    assert "CUDA device" in blockers(device=torch.device("cpu"))[0]
    assert "mps" in blockers(device=torch.device("mps"))[0]
    assert "turned off" in blockers(mode="off")[0]
    assert "smaller than one batch" in blockers(full_batches=0)[0]

    class GradientWatcher(Callback):
        def after_backward(self) -> None: ...

    assert "after_backward" in blockers(callbacks=CallbackList([GradientWatcher()]))[0]
    # Hooks outside the step run around each replay and do not block capture.
    assert blockers(callbacks=CallbackList([LambdaCallback(on_batch_end=print, after_step=print)])) == []


def test_cpu_training_reports_eager_mode_and_why() -> None:
    trainer = Trainer(vector_design(epochs=1), dataset=vector_dataset(), device="cpu", publish_hz=0)
    result = trainer.fit()
    assert result.graph_mode == trainer.graph_mode == "eager"
    assert "training runs on cpu" in trainer.graph_fallback


class FakeGraph:
    def __init__(self, step: GraphStep) -> None:
        self.step = step
        self.replays = 0

    def replay(self) -> None:
        self.replays += 1
        self.step.body()


class CpuGraphStep(GraphStep):
    """GraphStep with the CUDA calls replaced: records what would run where."""

    def __init__(self, body, zero_grad, fail: bool = False) -> None:
        super().__init__(body, zero_grad)
        self.fail = fail
        self.log: list[str] = []

    def _on_side_stream(self) -> None:
        self.log.append("warmup")
        self._eager()

    def _record(self):
        self.log.append("capture")
        if self.fail:
            raise RuntimeError("operation not permitted when stream is capturing")
        return FakeGraph(self)

    def _current_stream(self):
        return "main"

    def _recover(self, stream) -> None:
        self.log.append(f"recover on {stream}")


def test_warm_up_then_capture_once_then_replay() -> None:
    ran, zeroed = [], []
    step = CpuGraphStep(lambda: ran.append(1), lambda: zeroed.append(1))
    for _ in range(WARMUP_STEPS + 5):
        step()
    assert step.log == ["warmup"] * WARMUP_STEPS + ["capture"]
    assert step.captured and step.captures == 1 and step.graph.replays == 5
    assert len(ran) == WARMUP_STEPS + 5  # every call trained exactly one step
    step.invalidate()  # a baked-in hyper-parameter changed
    assert not step.captured
    step()
    step()
    assert step.log[-2:] == ["warmup", "capture"] and step.captures == 2
    assert len(ran) == WARMUP_STEPS + 7


def test_a_failed_capture_falls_back_to_eager_steps() -> None:
    ran = []
    step = CpuGraphStep(lambda: ran.append(1), lambda: None, fail=True)
    for _ in range(WARMUP_STEPS + 4):
        step()
    assert step.log == ["warmup"] * WARMUP_STEPS + ["capture", "recover on main"]
    assert not step.captured and "stream is capturing" in step.failure
    assert len(ran) == WARMUP_STEPS + 4 and step.eager_steps == WARMUP_STEPS + 4


# ---- on a CUDA device ------------------------------------------------------------------------------------

@needs_cuda
@pytest.mark.parametrize("optimizer", ["momentum", "adam", "adamw", "rmsprop", "nesterov", "sgd"])
def test_training_on_cuda_captures_the_step(optimizer: str) -> None:
    design = vector_design(optimizer=optimizer, learning_rate=0.01, epochs=6, batch_size=16, grad_clip=1.0,
                           device="cuda")
    trainer = Trainer(design, dataset=vector_dataset(n_train=100), publish_epoch_end=True)
    result = trainer.fit()
    assert result.graph_mode == "cuda_graph" and trainer.graph_fallback is None
    assert trainer._graph is not None and trainer._graph.captured and trainer._graph.captures == 1
    assert result.steps == 6 * (100 // 16)  # graphs need full batches: the remainder is dropped
    assert result.samples_seen == result.steps * 16
    assert math.isfinite(result.final.val_loss) and result.final.train_loss is not None
    eager = Trainer(design, dataset=vector_dataset(n_train=100), cuda_graphs="off", publish_hz=0)
    eager_result = eager.fit()
    assert eager_result.graph_mode == "eager"
    assert result.final.val_loss == pytest.approx(eager_result.final.val_loss, rel=0.5)


@needs_cuda
def test_learning_rate_changes_reach_a_captured_step_without_recapture() -> None:
    control = TrainingControl()
    design = vector_design(optimizer="adam", learning_rate=0.05, epochs=1000, batch_size=16, device="cuda")
    before: dict[str, torch.Tensor] = {}

    def on_batch_end(step: int) -> None:
        if step == 10:  # long after the capture (after 3 warm-up steps)
            control.set_hyperparameters(learning_rate=1e-6)
            before.update({k: v.detach().clone() for k, v in trainer.model.state_dict().items()})
        if step == 30:
            control.stop()

    trainer = Trainer(design, dataset=vector_dataset(), control=control, publish_hz=0,
                      callbacks=[LambdaCallback(on_batch_end=on_batch_end)])
    trainer.fit()
    lr = trainer.optimizer.param_groups[0]["lr"]
    assert isinstance(lr, torch.Tensor) and float(lr) == pytest.approx(1e-6)
    assert trainer._graph.captures == 1
    moved = max(float((v - before[k]).abs().max()) for k, v in trainer.model.state_dict().items()
                if v.is_floating_point())
    assert moved < 1e-3  # 20 Adam steps of about 1e-6 each: the graph used the new rate


@needs_cuda
def test_a_baked_in_change_recaptures() -> None:
    control = TrainingControl()
    design = vector_design(optimizer="momentum", epochs=1000, batch_size=16, device="cuda")

    def on_batch_end(step: int) -> None:
        if step == 10:
            control.set_hyperparameters(momentum=0.5)
        if step == 20:
            control.stop()

    trainer = Trainer(design, dataset=vector_dataset(), control=control, publish_hz=0,
                      callbacks=[LambdaCallback(on_batch_end=on_batch_end)])
    trainer.fit()
    assert trainer._graph.captures == 2
    assert trainer.optimizer.param_groups[0]["momentum"] == 0.5


@needs_cuda
def test_after_backward_callbacks_run_eagerly_on_cuda() -> None:
    seen = []
    design = vector_design(epochs=1, batch_size=16, device="cuda")
    trainer = Trainer(design, dataset=vector_dataset(), publish_hz=0,
                      callbacks=[LambdaCallback(after_backward=lambda: seen.append(1))])
    result = trainer.fit()
    assert result.graph_mode == "eager" and "after_backward" in trainer.graph_fallback
    assert len(seen) == result.steps


@needs_cuda
def test_capture_failure_falls_back_to_eager(monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("capture is not possible here")

    monkeypatch.setattr(torch.cuda, "graph", broken)
    design = vector_design(epochs=3, batch_size=16, device="cuda")
    trainer = Trainer(design, dataset=vector_dataset(n_train=100), publish_hz=0)
    result = trainer.fit()
    assert result.graph_mode == "eager" and "capture is not possible" in trainer.graph_fallback
    assert math.isfinite(result.final.val_loss)


@needs_cuda
def test_nan_in_graph_mode_restores_weights() -> None:
    design = vector_design(task="regression", optimizer="sgd", learning_rate=10.0, epochs=200, batch_size=8,
                           device="cuda")
    trainer = Trainer(design, dataset=vector_dataset(task="regression", scale=1e6), publish_hz=1000,
                      telemetry_budget=1.0)
    from nnstudio.core.errors import TrainingError

    with pytest.raises(TrainingError, match="the loss became"):
        trainer.fit()
    assert all(bool(torch.isfinite(t).all()) for t in trainer.model.state_dict().values())


# ---- the graph-mode optimizers, exercised where the CPU can ---------------------------------------------

@pytest.mark.parametrize("optimizer", sorted(GRAPH_OPTIMIZERS))
def test_graph_mode_optimizers_read_the_rate_from_a_tensor(optimizer: str) -> None:
    from nnstudio.ml.optim import make_optimizer, set_learning_rate

    design = vector_design(optimizer=optimizer, learning_rate=0.05)
    trainer = Trainer(design, dataset=vector_dataset(), device="cpu", publish_hz=0)
    opt = make_optimizer(design.training, trainer.model, learning_rate=0.05, device=torch.device("cpu"),
                         for_graph=True)
    group = opt.param_groups[0]
    assert isinstance(group["lr"], torch.Tensor)
    if optimizer in ("sgd", "momentum", "nesterov"):
        assert group["fused"] is True
        # Fused SGD also runs on the CPU: a rate filled into the tensor is the rate the step uses.
        params = list(trainer.model.parameters())
        for p in params:
            p.grad = torch.ones_like(p)
        before = [p.detach().clone() for p in params]
        set_learning_rate(opt, 0.0)
        opt.step()
        assert all(torch.equal(a, p) for a, p in zip(before, params, strict=True))
        set_learning_rate(opt, 0.5)
        opt.step()
        assert not torch.equal(before[0], params[0])
    else:
        assert group["capturable"] is True and group["foreach"] is True


def test_switching_to_and_from_graph_optimizers_keeps_the_moments() -> None:
    design = vector_design(optimizer="momentum", epochs=1)
    trainer = Trainer(design, dataset=vector_dataset(), device="cpu", publish_hz=0)
    trainer.fit()
    buffers = [trainer.optimizer.state[p]["momentum_buffer"].clone() for p in trainer.model.parameters()]
    trainer._rebuild_optimizer(for_graph=True)
    assert isinstance(trainer.optimizer.param_groups[0]["lr"], torch.Tensor)
    trainer._rebuild_optimizer(for_graph=False)
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(0.03)
    for p, buffer in zip(trainer.model.parameters(), buffers, strict=True):
        assert torch.equal(trainer.optimizer.state[p]["momentum_buffer"], buffer)
