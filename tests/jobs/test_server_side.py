"""The parts of jobs/ that need no worker process: imports, GPU counting, batching, caching."""

from __future__ import annotations

import ctypes
import errno
import io
import multiprocessing
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.jobs.conftest import MakeJob
from trainscope.jobs.gpus import count_listed_gpus, count_visible
from trainscope.jobs.messages import JobDone, Message
from trainscope.jobs.outbox import Outbox
from trainscope.schemas.events import Point, Status


def test_the_server_side_of_jobs_imports_no_torch_numpy_or_sklearn() -> None:
    code = (
        "import sys\n"
        "import trainscope.jobs, trainscope.jobs.local, trainscope.jobs.executor\n"
        "import trainscope.jobs.worker  # the spawn target: named by the server, run elsewhere\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'numpy', 'sklearn'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_gpus_are_counted_from_nvidia_smi_and_cuda_visible_devices() -> None:
    listing = (
        "GPU 0: NVIDIA H200 (UUID: GPU-1c2d)\n"
        "  MIG 1g.18gb Device 0: (UUID: MIG-aa)\n"
        "GPU 1: NVIDIA H200 (UUID: GPU-3e4f)\n"
    )
    assert count_listed_gpus(listing) == 2
    assert count_listed_gpus("") == 0
    assert count_visible(None) is None
    assert count_visible("0,1") == 2
    assert count_visible("GPU-1c2d") == 1
    assert count_visible("") == 0
    assert count_visible("-1") == 0
    assert count_visible("0,-1,1") == 1  # CUDA stops reading at the first invalid entry


class Sent:
    def __init__(self) -> None:
        self.batches: list[tuple[float, list[Message]]] = []
        self.cond = threading.Condition()

    def __call__(self, batch: list[Message]) -> None:
        with self.cond:
            self.batches.append((time.monotonic(), batch))
            self.cond.notify_all()

    def messages(self) -> list[Message]:
        with self.cond:
            return [m for _, batch in self.batches for m in batch]


def point(seq: int) -> Point:
    return Point(seq, seq, 1, time.time(), {"train_loss": 1.0})


def test_the_outbox_batches_points_but_never_holds_one_long() -> None:
    sent = Sent()
    outbox = Outbox(sent, max_delay_s=0.005)
    put_at = time.monotonic()
    for seq in range(1, 101):
        outbox.put((7, point(seq)))
    with sent.cond:
        assert sent.cond.wait_for(lambda: len(sent.messages()) == 100, 1.0)
    assert len(sent.batches) < 10  # batched, not one write per point
    assert sent.batches[0][0] - put_at < 0.05  # sent after ~5 ms, not held back
    outbox.close()


def test_the_outbox_sends_a_status_at_once_and_keeps_the_order() -> None:
    sent = Sent()
    outbox = Outbox(sent, max_delay_s=10.0)  # points alone would wait ten seconds
    messages: list[Message] = [(7, point(1)), (7, Status("completed")), JobDone(7)]
    for message in messages:
        outbox.put(message)
    with sent.cond:
        assert sent.cond.wait_for(lambda: len(sent.messages()) == 3, 1.0)
    assert sent.messages() == messages
    outbox.close()


def test_closing_the_outbox_sends_what_is_pending() -> None:
    sent = Sent()
    outbox = Outbox(sent, max_delay_s=10.0)
    outbox.put((7, point(1)))
    outbox.close()
    assert len(sent.messages()) == 1


def test_a_broken_pipe_marks_the_outbox_broken_so_the_run_can_stop() -> None:
    def send(batch: list[Message]) -> None:
        raise BrokenPipeError

    outbox = Outbox(send, max_delay_s=0.001)
    outbox.put((7, Status("running")))
    deadline = time.monotonic() + 1.0
    while not outbox.broken and time.monotonic() < deadline:
        time.sleep(0.001)
    assert outbox.broken
    outbox.put((7, point(1)))  # dropped quietly: the training carries on until it stops
    outbox.close()


def test_the_dataset_cache_reuses_a_loaded_dataset(tmp_path: Path) -> None:
    from trainscope.jobs.dataset_cache import DatasetCache
    from trainscope.schemas.datasets import SpiralsSpec

    cache = DatasetCache(max_entries=1)
    first = cache.get(SpiralsSpec(num_samples=100), tmp_path)
    assert cache.get(SpiralsSpec(num_samples=100), tmp_path) is first
    other = cache.get(SpiralsSpec(num_samples=120), tmp_path)
    assert other is not first and len(cache) == 1  # the older one made room
    assert cache.get(SpiralsSpec(num_samples=100), tmp_path) is not first
    assert (cache.hits, cache.misses) == (1, 3)


def test_the_dataset_cache_reads_a_replaced_file_again(tmp_path: Path) -> None:
    from trainscope.jobs.dataset_cache import DatasetCache
    from trainscope.schemas.datasets import FileSpec

    data = tmp_path / "points.csv"
    rows = "\n".join(f"{i},{i % 2}" for i in range(40))
    data.write_text("x,y\n" + rows + "\n")
    cache = DatasetCache()
    spec = FileSpec(path="points.csv")
    first = cache.get(spec, tmp_path)
    assert cache.get(spec, tmp_path) is first
    data.write_text("x,y\n" + rows + "\n" + "\n".join(f"{i},{i % 2}" for i in range(40, 60)))
    assert len(cache.get(spec, tmp_path).train) > len(first.train)


def test_messages_survive_the_wire_encoding() -> None:
    import pickle

    from trainscope.jobs.messages import WorkerReady, decode, encode

    batch: list[Message] = [
        (3, point(1)),
        (3, Status("stopped", message="stopped on request", iteration=4)),
        JobDone(3),
        WorkerReady(slot=0, pid=1, device="cpu (1 threads)", gpu_count=0, warmup_s=0.5),
    ]
    assert decode(pickle.loads(pickle.dumps(encode(batch)))) == batch


class FullDisk(io.TextIOBase):
    """A stderr on a full disk: the server's log, `trainscope serve 2> data/server.log`."""

    def write(self, s: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_worker_reports_a_failed_run_even_when_its_log_is_on_a_full_disk(
    monkeypatch: pytest.MonkeyPatch, make_job: MakeJob
) -> None:
    from trainscope.jobs import worker

    def run_job(*args: object) -> None:  # a checkpoint that did not fit
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(worker, "run_job", run_job)
    monkeypatch.setattr(sys, "stderr", FullDisk())
    job = make_job()
    tasks, server_end = multiprocessing.Pipe(duplex=False)
    server_end.send(job)
    server_end.send(None)
    sent = Sent()
    outbox = Outbox(sent, max_delay_s=0.001)
    worker._serve(tasks, outbox, ctypes.c_int64(-1))  # returns at the None
    outbox.close()
    failed = Status("failed", message="OSError: [Errno 28] No space left on device")
    assert sent.messages() == [(job.run_id, failed), JobDone(job.run_id)]


def test_a_run_its_worker_ended_without_a_status_is_reported_not_left_running(
    tmp_path: Path, make_job: MakeJob
) -> None:
    """The executor's side of the same failure, for a worker that still cannot report: the
    job's end (JobDone) without its run's final status must not leave the run `running`."""
    from trainscope.jobs.local import LocalExecutor
    from trainscope.jobs.messages import RunEvent
    from trainscope.jobs.slot import Slot

    executor = LocalExecutor(slots=1, data_dir=tmp_path)  # never started: no worker process
    slot = Slot(0, ctypes.c_int64(-1))
    slot.run = job = make_job()
    out: list[RunEvent] = []
    first = point(1)
    executor._route(slot, [(job.run_id, first), JobDone(job.run_id)], out)
    assert out[0] == (job.run_id, first)
    assert out[1][0] == job.run_id and isinstance(out[1][1], Status)
    assert out[1][1].status == "failed"  # no checkpoint to resume from
    assert "without reporting how" in (out[1][1].message or "")
    assert slot.run is None  # the slot takes the next job

    # A run that did report its end is reported once.
    slot.run = job = make_job()
    out = []
    executor._route(slot, [(job.run_id, Status("completed")), JobDone(job.run_id)], out)
    assert out == [(job.run_id, Status("completed"))]
