"""The pipeline thread writes while the web threadpool reads (SQLite WAL)."""

from __future__ import annotations

import threading

import pytest

from trainscope.store import Store

from .conftest import new_run, points


@pytest.mark.slow
def test_readers_see_consistent_prefixes_while_the_writer_ingests(store: Store) -> None:
    run = new_run(store)
    total = 40_000
    errors: list[BaseException] = []
    done = threading.Event()
    reads = [0, 0]

    def writer() -> None:
        try:
            # Small batches: every 16th append merges chunks under the readers' feet.
            for first in range(1, total + 1, 100):
                store.ingest(points(run.id, first, first + 99))
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    def reader(slot: int) -> None:
        seen = 0
        try:
            while not done.is_set() or seen < total:
                cols = store.read_points(run.id)
                # A snapshot: every point up to some seq, none missing, none twice.
                assert cols.seq == list(range(1, len(cols.seq) + 1))
                assert len(cols.seq) >= seen
                seen = len(cols.seq)
                start = max(0, seen - 150)
                tail = store.read_points(run.id, after_seq=start, limit=100)
                assert tail.seq == list(range(start + 1, start + 1 + len(tail.seq)))
                assert min(100, seen - start) <= len(tail.seq) <= 100
                small = store.read_points(run.id, max_points=200)
                assert len(small.seq) <= 200
                store.list_runs()
                reads[slot] += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer)] + [
        threading.Thread(target=reader, args=(i,)) for i in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[0]
    assert all(r > 3 for r in reads)
    assert store.read_points(run.id).seq == list(range(1, total + 1))
