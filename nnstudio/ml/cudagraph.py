"""Capturing the whole training step in one CUDA graph, and deciding when that is possible.

On a GPU, small models are bound by kernel launches: replaying one captured graph per step (forward,
loss, backward, telemetry accumulation, optimizer update) removes nearly all of that host work. The
recipe is PyTorch's "whole network capture": a few eager warm-up steps on a side stream (they create the
optimizer state and let libraries initialise), `zero_grad(set_to_none=True)` so backward allocates the
gradients from the graph's private pool, capture on the same side stream, then replay. Inputs reach the
graph through a static index buffer: the batch's indices are copied in, and the captured step gathers
the batch from the device-resident dataset itself.

Hyper-parameters are baked into a graph as constants unless they are tensors. The trainer gives the
optimizer a device tensor learning rate where PyTorch's implementation reads it on the device (fused SGD,
capturable Adam / AdamW / RMSprop), so learning-rate changes and schedules never need a new capture;
any other live change (momentum, weight decay, L1, clipping) calls `invalidate()` and the step is
captured again after one eager step.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .callbacks import HOOKS_INSIDE_STEP, CallbackList

# Optimizers whose `step()` runs without reading device values on the host (Adagrad reads its step count).
GRAPH_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop")
WARMUP_STEPS = 3
GRAPH_MODES = ("auto", "off")


def graph_blockers(
    *,
    device: torch.device,
    optimizer: str,
    callbacks: CallbackList,
    full_batches: int,
    mode: str = "auto",
) -> list[str]:
    """Why the training step cannot be captured in a CUDA graph (empty list: it can be tried).

    Pure decision logic, so it is tested without a GPU. Capture itself can still fail at run time; the
    trainer then falls back to eager steps and records the reason.
    """
    reasons = []
    if mode == "off":
        reasons.append("CUDA graphs are turned off")
    if device.type != "cuda":
        reasons.append(f"CUDA graphs need a CUDA device, and training runs on {device.type}")
    if optimizer not in GRAPH_OPTIMIZERS:
        reasons.append(f"the {optimizer} optimizer reads its state on the host at every step")
    if full_batches < 1:
        reasons.append("the training set is smaller than one batch, so no batch has the full, fixed size")
    for hook in HOOKS_INSIDE_STEP:
        if callbacks.has(hook):
            reasons.append(f"a callback uses {hook}, which must run between backward and the optimizer step")
    return reasons


class GraphStep:
    """Runs the training step: eager warm-up steps first, then one capture, then replays.

    `body()` performs one full step reading its batch through the static index buffer and must not
    synchronise with the host; `zero_grad()` sets gradients to None. If capture raises, the step falls
    back to eager execution for good and `failure` says why.
    """

    def __init__(
        self,
        body: Callable[[], None],
        zero_grad: Callable[[], None],
        warmup_steps: int = WARMUP_STEPS,
    ) -> None:
        self.body = body
        self.zero_grad = zero_grad
        self.warmup_steps = warmup_steps
        self.graph: torch.cuda.CUDAGraph | None = None
        self.failure: str | None = None
        self.captures = 0
        self.eager_steps = 0
        self._warm = 0
        self._stream: torch.cuda.Stream | None = None

    @property
    def captured(self) -> bool:
        return self.graph is not None

    def __call__(self) -> None:
        if self.graph is not None:
            self.graph.replay()
            return
        if self.failure is not None:
            self._eager()
            return
        if self._warm < self.warmup_steps:
            self._on_side_stream()
            self._warm += 1
            return
        if self._capture():
            self.graph.replay()  # capture records the step without running it
        else:
            self._eager()

    def invalidate(self) -> None:
        """Forget the graph (a baked-in hyper-parameter changed); capture again after one eager step."""
        if self.graph is not None:
            self.graph = None
            self.zero_grad()  # gradients lived in the old graph's pool
            self._warm = max(0, self.warmup_steps - 1)

    def release(self) -> None:
        self.graph = None

    def _eager(self) -> None:
        self.eager_steps += 1
        self.zero_grad()
        self.body()

    def _side_stream(self) -> torch.cuda.Stream:
        if self._stream is None:
            self._stream = torch.cuda.Stream()
        return self._stream

    def _on_side_stream(self) -> None:
        main = torch.cuda.current_stream()
        side = self._side_stream()
        side.wait_stream(main)
        with torch.cuda.stream(side):
            self._eager()
        main.wait_stream(side)

    def _record(self) -> torch.cuda.CUDAGraph:
        graph = torch.cuda.CUDAGraph()
        # "thread_local": CUDA work of other threads (a GUI previewing predictions) must not invalidate
        # this capture; only this thread's unsafe calls do. Warm-up and capture share one stream.
        with torch.cuda.graph(graph, stream=self._side_stream(), capture_error_mode="thread_local"):
            self.body()
        return graph

    def _current_stream(self) -> torch.cuda.Stream:
        return torch.cuda.current_stream()

    def _recover(self, stream: torch.cuda.Stream) -> None:
        # torch.cuda.graph leaves its stream current when ending the capture raises: put ours back.
        torch.cuda.set_stream(stream)
        try:
            torch.cuda.synchronize()
        except Exception:  # noqa: BLE001 - the eager step will report a broken device properly
            pass

    def _capture(self) -> bool:
        self.zero_grad()  # set to None: backward allocates the gradients from the graph's pool
        stream = self._current_stream()
        try:
            graph = self._record()
        except Exception as exc:  # noqa: BLE001 - any capture failure means "run eagerly"
            self.failure = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            self.zero_grad()
            self._recover(stream)
            return False
        self.graph = graph
        self.captures += 1
        return True
