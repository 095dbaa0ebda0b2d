"""What a worker tells its executor besides its runs' events. Pure: both sides import it.

A worker sends lists of `Message`: a `(run_id, event)` pair for each engine event, in the order
the engine emitted them, and the control messages below, in line with them (a `JobDone` comes
after the last event of its run).
"""

from __future__ import annotations

from dataclasses import dataclass

from trainscope.schemas.events import Event, Point


@dataclass(frozen=True, slots=True)
class WorkerReady:
    """The worker has imported torch, warmed up and waits for jobs on `device`."""

    slot: int
    pid: int
    device: str  # "cpu (4 threads)", "cuda:0 (NVIDIA H200)"
    gpu_count: int  # CUDA devices the worker can see (lets the executor find GPUs itself)
    warmup_s: float


@dataclass(frozen=True, slots=True)
class WorkerBroken:
    """The worker could not get ready (torch missing, CUDA broken); it exits after this."""

    slot: int
    message: str


@dataclass(frozen=True, slots=True)
class JobDone:
    """The worker finished with `run_id` (whatever the outcome) and takes the next job."""

    run_id: int


Control = WorkerReady | WorkerBroken | JobDone
RunEvent = tuple[int, Event]
Message = RunEvent | Control


def is_point(message: Message) -> bool:
    return isinstance(message, tuple) and isinstance(message[1], Point)


# A Point on the wire: (run_id, seq, iteration, epoch, wall_time, values). Slotted dataclasses
# pickle through Python-level __getstate__ (about 4 µs a point), plain tuples in C (0.6 µs);
# that is the worker's GIL time, taken from training, once per iteration.
WirePoint = tuple[int, int, int, int, float, dict[str, float]]
WireMessage = RunEvent | Control | WirePoint


def encode(batch: list[Message]) -> list[WireMessage]:
    """Worker side, on the sending thread: points as plain tuples, the rest as they are."""
    out: list[WireMessage] = []
    for m in batch:
        if isinstance(m, tuple) and isinstance(m[1], Point):
            p = m[1]
            out.append((m[0], p.seq, p.iteration, p.epoch, p.wall_time, p.values))
        else:
            out.append(m)
    return out


def decode(batch: list[WireMessage]) -> list[Message]:
    """Executor side: the messages `encode` was given."""
    out: list[Message] = []
    for m in batch:
        if isinstance(m, tuple) and len(m) == 6:
            out.append((m[0], Point(m[1], m[2], m[3], m[4], m[5])))
        else:
            out.append(m)  # (run_id, event) pairs and control messages
    return out
