"""Epochs and steps of a fit: the batch order, the eager step and the CUDA-graph replay, and choosing between them."""

from __future__ import annotations

import time

import torch

from ..callbacks import CallbackList
from ..cudagraph import GraphStep, graph_blockers
from ..optim import adjust_gradients, schedule_factor, set_learning_rate
from ..playground_recipe import batch_bounds


class EpochLoop:
    """Trainer part: runs one epoch after another, step by step (eager) or replaying a captured graph."""

    def _choose_mode(self, cbs: CallbackList) -> None:
        blockers = graph_blockers(device=self.device, optimizer=self.config.optimizer, callbacks=cbs,
                                  full_batches=self.n_train // self.batch_size, mode=self.cuda_graphs)
        if self._capture_failure:
            blockers.append(self._capture_failure)
        if self.playground and self.device.type == "cuda":
            blockers.append("the Playground recipe's first batch of an epoch varies in size")
        if blockers:
            self.graph_mode = "eager"
            self.graph_fallback = "; ".join(blockers)
            self._drop_graph()
            if self._optimizer_for_graph:
                self._rebuild_optimizer(for_graph=False)
            return
        if self._graph is None:
            if not self._optimizer_for_graph:
                self._rebuild_optimizer(for_graph=True)
            self._static_idx = torch.zeros(self.batch_size, dtype=torch.int64, device=self.device)
            self._graph = GraphStep(self._graph_body, self._zero_grad)
        self.graph_mode = "cuda_graph"
        self.graph_fallback = None

    def _drop_graph(self) -> None:
        if self._graph is not None:
            self._graph.release()
            self._graph = None
            self.optimizer.zero_grad(set_to_none=True)

    # ---- epochs and steps --------------------------------------------------------------------------

    def _run_epoch(self, target: int) -> None:
        cbs = self._cbs
        epoch_number = self.epoch + 1
        self._bounds = None
        if self.playground:  # one fixed order, shuffled once with the data; no random draw
            if self.batch == 0:
                self._lr = self.live.learning_rate * schedule_factor(self.config, self.epoch)
                set_learning_rate(self.optimizer, self._lr)
            perm, self._bounds = batch_bounds(self.n_train, self.batch_size, self.epoch)
        elif self.batch == 0:
            self._lr = self.live.learning_rate * schedule_factor(self.config, self.epoch)
            set_learning_rate(self.optimizer, self._lr)
            self._epoch_rng = self.generator.get_state()
            perm = torch.randperm(self.n_train, generator=self.generator)
        else:  # continuing an interrupted epoch: draw its permutation again
            saved = self.generator.get_state()
            self.generator.set_state(self._epoch_rng)
            perm = torch.randperm(self.n_train, generator=self.generator)
            self.generator.set_state(saved)
        if self.device.type != "cpu":
            perm = perm.to(self.device, non_blocking=True)
        cbs("on_epoch_start", epoch_number)
        if self.graph_mode == "cuda_graph":
            self._graph_batches(perm)
        if self.graph_mode == "eager":  # also the rest of an epoch whose capture just failed
            self._eager_batches(perm)
        self.epoch += 1
        self.batch = 0
        self._record_point(validate=self.epoch >= target)  # the last point always validates
        self._epoch_rng = None
        self._epoch_x = self._epoch_y = None
        cbs("on_epoch_end", epoch_number)
        if self.publish_epoch_end and self.epoch < target:  # after the last epoch, "end" follows at once
            self._publish("epoch_end")
        elif self.epoch < target and self._timed and time.perf_counter() >= self._next_due:
            self._publish_due()

    def _eager_batches(self, perm: torch.Tensor) -> None:
        n, bs = self.n_train, self.batch_size
        if self._gather_per_epoch:
            self._epoch_x = x = self.x_train.index_select(0, perm)
            self._epoch_y = y = self.y_train.index_select(0, perm)
        cbs = self._cbs
        batch_start = cbs.by_hook["on_batch_start"]
        batch_end = cbs.by_hook["on_batch_end"]
        after_step = cbs.by_hook["after_step"]
        control = self.control
        timed = self._timed
        clock = time.perf_counter
        step = self._eager_step
        next_point = self._next_point()
        bounds = self._bounds
        gathered = self._gather_per_epoch
        for b in range(self.batch, self.batches_per_epoch):
            if control is not None and control.attention:
                self._attend(control)
            lo, hi = bounds[b] if bounds is not None else (b * bs, b * bs + bs)
            if gathered:
                xb, yb = x[lo:hi], y[lo:hi]
            else:
                idx = perm[lo:hi]
                xb, yb = self.x_train.index_select(0, idx), self.y_train.index_select(0, idx)
            if batch_start:
                cbs("on_batch_start", self.step + 1)
            step(xb, yb)
            self.step += 1
            self.batch = b + 1
            taken = min(hi, n) - lo
            self.samples_seen += taken
            if after_step:
                cbs("after_step")
            if batch_end:
                cbs("on_batch_end", self.step)
            if b + 1 == next_point:
                next_point = self._point_inside_epoch(next_point)
            if timed and clock() >= self._next_due and b + 1 < self.batches_per_epoch:
                self._publish_due()

    def _eager_step(self, xb: torch.Tensor, yb: torch.Tensor) -> None:
        out = (self.forward_module or self.model)(xb)
        loss = self.loss_fn(out, yb)
        # What optimizer.zero_grad(set_to_none=True) does, without its profiler scope (~5 us a step: a
        # tenth of the trainer's whole overhead for Playground's network on a CPU).
        for p in self._params:
            p.grad = None
        loss.backward()
        if self._after_backward:
            self._cbs("after_backward")
        self._adjust_gradients()
        if self._l1 is not None:
            self._l1.before_step()
            self.optimizer.step()
            self._l1.after_step(self._lr, self.live.regularization_rate)
        else:
            self.optimizer.step()
        self.collector.defer(out, yb, loss)

    def _adjust_gradients(self) -> None:
        # Playground's L1 is applied in its own update (with the zero-crossing clamp), not as a gradient term.
        regularization = self.config.regularization
        if self.playground and regularization == "l1":
            regularization = "none"
        adjust_gradients(self._split, regularization, self.live.regularization_rate, self.live.grad_clip)

    def _graph_batches(self, perm: torch.Tensor) -> None:
        bs = self.batch_size
        cbs = self._cbs
        control = self.control
        timed = self._timed
        clock = time.perf_counter
        graph = self._graph
        next_point = self._next_point()
        for b in range(self.batch, self.batches_per_epoch):
            if control is not None and control.attention:
                self._attend(control)
            lo = b * bs
            self._static_idx.copy_(perm[lo:lo + bs])
            if cbs.by_hook["on_batch_start"]:
                cbs("on_batch_start", self.step + 1)
            graph()
            self.step += 1
            self.batch = b + 1
            self.samples_seen += bs
            if cbs.by_hook["after_step"]:
                cbs("after_step")
            if cbs.by_hook["on_batch_end"]:
                cbs("on_batch_end", self.step)
            if graph.failure is not None:  # this step ran eagerly; so does the rest of the training
                self._capture_failure = f"capturing the step in a CUDA graph failed ({graph.failure})"
                self.graph_fallback = self._capture_failure
                self.graph_mode = "eager"
                self._graph = None
                return
            if b + 1 == next_point:
                next_point = self._point_inside_epoch(next_point)
            if timed and clock() >= self._next_due and b + 1 < self.batches_per_epoch:
                self._publish_due()

    def _graph_body(self) -> None:
        """One step reading its batch through the static index buffer; captured by GraphStep."""
        xb = self.x_train.index_select(0, self._static_idx)
        yb = self.y_train.index_select(0, self._static_idx)
        out = self.model(xb)
        loss = self.loss_fn(out, yb)
        loss.backward()
        self._adjust_gradients()
        self.optimizer.step()
        self.collector.accumulate(out, yb, loss)

    def _zero_grad(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)

