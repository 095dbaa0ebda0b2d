"""Turns per-iteration metric tensors into `Point` events with as few device syncs as possible.

On a GPU, `.item()` on the loss every iteration would stall the CPU until the GPU catches up and
starve the queue of kernels. So the loop hands over 0-d tensors; the recorder stacks the
pending rows and copies them to the host in one go (one sync per flush). On the CPU the copy is
free, so it flushes every iteration and points appear live.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch

from trainscope.schemas.events import Event, Point

# GPU: flush at most this many iterations late (and at every validation / epoch end).
GPU_FLUSH_EVERY = 16


class PointRecorder:
    def __init__(
        self,
        emit: Callable[[Event], None],
        metric_key: str,
        device: torch.device,
        next_seq: int,
    ) -> None:
        self._emit = emit
        self._metric_key = metric_key
        self._flush_every = 1 if device.type == "cpu" else GPU_FLUSH_EVERY
        self.next_seq = next_seq
        # (iteration, epoch, wall_time, learn_rate, stats[loss, metric, grad_norm])
        self._pending: list[tuple[int, int, float, float, torch.Tensor]] = []

    def record(self, iteration: int, epoch: int, learn_rate: float, stats: torch.Tensor) -> None:
        # wall_time is taken here, when the host enqueued the work; on a GPU the values
        # themselves are computed a little later, asynchronously.
        self._pending.append((iteration, epoch, time.time(), learn_rate, stats))

    @property
    def due(self) -> bool:
        return len(self._pending) >= self._flush_every

    def flush(self, extra: dict[str, float] | None = None) -> int | None:
        """Emit pending points; `extra` values (validation) join the last one.

        Returns the iteration whose training loss was not finite, if any; points after it are
        dropped, since the run ends there.
        """
        if not self._pending:
            return None
        # The one device→host copy (and GPU sync) for all pending iterations.
        rows: list[list[float]] = torch.stack([p[4] for p in self._pending]).tolist()
        pending, self._pending = self._pending, []
        last = len(pending) - 1
        key = self._metric_key
        for i, ((iteration, epoch, wall, lr, _), (loss, metric, gnorm)) in enumerate(
            zip(pending, rows, strict=True)
        ):
            values = {"train_loss": loss, key: metric, "learn_rate": lr, "grad_norm": gnorm}
            if i == last and extra:
                values.update(extra)
            self._emit(Point(self.next_seq, iteration, epoch, wall, values))
            self.next_seq += 1
            if not math.isfinite(loss):
                return iteration
        return None

    def emit_point(self, iteration: int, epoch: int, values: dict[str, float]) -> None:
        """A point outside the per-iteration stream (the test metrics at the end)."""
        self._emit(Point(self.next_seq, iteration, epoch, time.time(), values))
        self.next_seq += 1
