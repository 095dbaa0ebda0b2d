"""The parts of jobs/ that need no worker process: imports, GPU counting, batching, caching."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

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
