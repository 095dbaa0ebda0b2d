"""`Store.ingest`, the pipeline's write path: idempotent, one transaction, chunked."""

from __future__ import annotations

import itertools
import math

import pytest

from trainscope.schemas.events import Artefact, CheckpointSaved, Event, Point, Started, Status
from trainscope.store import Store
from trainscope.store.points import MERGE_CHUNKS, SEAL_POINTS

from .conftest import new_run, points, training_point


def stored_seqs(store: Store, run_id: int) -> list[int]:
    return store.read_points(run_id).seq


def test_points_sent_twice_are_stored_once(store: Store) -> None:
    run = new_run(store)
    batch = points(run.id, 1, 100)
    assert store.ingest(batch) == batch
    assert store.ingest(batch) == []
    assert stored_seqs(store, run.id) == list(range(1, 101))
    assert store.last_seq(run.id) == 100


def test_resumed_run_replaying_from_its_checkpoint_loses_and_duplicates_nothing(
    store: Store,
) -> None:
    run = new_run(store)
    store.ingest(points(run.id, 1, 120))
    # Stopped at 120 with a checkpoint at 100: the resumed worker replays 101..120, then goes on.
    replay = points(run.id, 101, 180)
    persisted = store.ingest(replay)
    assert [e.seq for _, e in persisted if isinstance(e, Point)] == list(range(121, 181))
    assert stored_seqs(store, run.id) == list(range(1, 181))


def test_duplicates_inside_one_batch_are_dropped(store: Store) -> None:
    run = new_run(store)
    batch = points(run.id, 1, 5) + points(run.id, 3, 8)
    persisted = store.ingest(batch)
    assert [e.seq for _, e in persisted if isinstance(e, Point)] == list(range(1, 9))
    assert stored_seqs(store, run.id) == list(range(1, 9))


def test_a_replayed_point_is_left_out_before_its_values_are_read(store: Store) -> None:
    """A resumed worker's replay is dropped unread: a value the store could not take (here a
    string) in a point it already has does not fail the batch that carries new points too."""
    run = new_run(store)
    store.ingest(points(run.id, 1, 10))
    stale = (run.id, Point(5, 5, 1, 0.0, {"train_loss": "not a number"}))  # type: ignore[dict-item]
    persisted = store.ingest([stale, *points(run.id, 11, 20)])
    assert [e.seq for _, e in persisted if isinstance(e, Point)] == list(range(11, 21))
    assert stored_seqs(store, run.id) == list(range(1, 21))
    with pytest.raises(ValueError):  # a new point with such a value is refused, as before
        store.ingest([(run.id, Point(21, 21, 1, 0.0, {"train_loss": "not a number"}))])  # type: ignore[dict-item]
    assert store.last_seq(run.id) == 20


def test_a_new_store_on_the_same_database_knows_the_last_seq(
    store: Store, database_url: str
) -> None:
    run = new_run(store)
    store.ingest(points(run.id, 1, 50))
    other = Store.open(database_url)
    try:
        persisted = other.ingest(points(run.id, 40, 60))
        assert [e.seq for _, e in persisted if isinstance(e, Point)] == list(range(51, 61))
        assert stored_seqs(other, run.id) == list(range(1, 61))
    finally:
        other.close()


def test_each_append_is_one_chunk_and_small_chunks_merge(store: Store) -> None:
    run = new_run(store)
    for seq in range(1, MERGE_CHUNKS):
        store.ingest(points(run.id, seq, seq))
    assert len(store.chunk_stats(run.id)) == MERGE_CHUNKS - 1
    store.ingest(points(run.id, MERGE_CHUNKS, MERGE_CHUNKS))
    assert store.chunk_stats(run.id) == [(1, MERGE_CHUNKS, MERGE_CHUNKS, False)]
    # The merged chunk is unsealed, so it counts towards the next merge.
    for seq in range(MERGE_CHUNKS + 1, 2 * MERGE_CHUNKS):
        store.ingest(points(run.id, seq, seq))
    assert store.chunk_stats(run.id) == [(1, 2 * MERGE_CHUNKS - 1, 2 * MERGE_CHUNKS - 1, False)]
    assert stored_seqs(store, run.id) == list(range(1, 2 * MERGE_CHUNKS))


def test_big_chunks_are_sealed_and_never_merged_again(store: Store) -> None:
    run = new_run(store)
    batch = 300
    n = 0
    while n < 3 * SEAL_POINTS:
        store.ingest(points(run.id, n + 1, n + batch))
        n += batch
    chunks = store.chunk_stats(run.id)
    sealed = [c for c in chunks if c[3]]
    unsealed = [c for c in chunks if not c[3]]
    assert sealed and all(c[2] >= SEAL_POINTS for c in sealed)
    assert len(unsealed) < MERGE_CHUNKS
    # Ranges are disjoint and in order, the unsealed chunks are the newest, nothing is lost.
    assert all(a[1] < b[0] for a, b in itertools.pairwise(chunks))
    assert all(not c[3] for c in chunks[len(sealed) :])
    assert sum(c[2] for c in chunks) == n
    assert stored_seqs(store, run.id) == list(range(1, n + 1))
    first_sealed = sealed[0]
    store.ingest(points(run.id, n + 1, n + MERGE_CHUNKS * 10))
    assert store.chunk_stats(run.id)[0] == first_sealed


def test_a_big_batch_takes_the_small_chunks_in_with_it(store: Store) -> None:
    run = new_run(store)
    store.ingest(points(run.id, 1, 10))
    store.ingest(points(run.id, 11, 20))
    store.ingest(points(run.id, 21, 20 + SEAL_POINTS))
    assert store.chunk_stats(run.id) == [(1, 20 + SEAL_POINTS, 20 + SEAL_POINTS, True)]


@pytest.mark.slow
def test_a_million_point_run_is_a_few_hundred_chunks(store: Store) -> None:
    run = new_run(store)
    # Like a fast CPU run: the pipeline's batches hold ~100 points.
    for first in range(1, 200_001, 100):
        store.ingest(points(run.id, first, first + 99))
    chunks = store.chunk_stats(run.id)
    assert 20 <= len(chunks) <= 60  # 200k points; a million makes ~5× as many
    assert sum(c[2] for c in chunks) == 200_000


def test_one_batch_with_two_runs_and_every_event_kind(store: Store) -> None:
    a, b = new_run(store, name="a"), new_run(store, name="b")
    started = Started(
        device="cpu",
        task="classification",
        n_train=600,
        n_val=200,
        n_test=200,
        iterations_per_epoch=100,
        max_iterations=300,
        num_parameters=1234,
        class_names=["x", "y"],
    )
    batch: list[tuple[int, Event]] = [
        (a.id, started),
        (b.id, started),
        *points(a.id, 1, 60),
        *points(b.id, 1, 30),
        (a.id, CheckpointSaved("/tmp/a/checkpoint.pt", 60, 1, 61)),
        (a.id, Artefact("confusion_matrix", {"matrix": [[1, 0], [0, 1]]})),
        (a.id, Status("completed", finish_reason="max-epochs", iteration=60)),
        (b.id, Point(31, 31, 1, 1.0, {"train_loss": math.nan, "learn_rate": 0.5})),
        (b.id, Status("diverged", message="training loss became non-finite", iteration=31)),
    ]
    assert store.ingest(batch) == batch

    ra = store.get_run(a.id)
    assert ra is not None
    assert ra.status == "completed" and ra.finish_reason == "max-epochs"
    assert ra.started_at is not None and ra.ended_at is not None
    assert ra.iteration == 60 and ra.epoch == 1 and ra.last_seq == 60
    assert ra.max_iterations == 300 and ra.iterations_per_epoch == 100
    assert ra.device == "cpu" and ra.info["num_parameters"] == 1234
    assert ra.checkpoint == "/tmp/a/checkpoint.pt"
    assert ra.latest["train_loss"] == training_point(60).values["train_loss"]
    assert ra.latest["val_loss"] == training_point(50).values["val_loss"]
    assert ra.best == {
        "val_loss": training_point(50).values["val_loss"],
        "val_accuracy": training_point(50).values["val_accuracy"],
        "iteration": 50,
        "epoch": 1,
        "seq": 50,
    }
    assert store.get_artefacts(a.id) == {"confusion_matrix": {"matrix": [[1, 0], [0, 1]]}}
    progress = ra.to_json()["progress"]
    assert progress == {
        "iteration": 60,
        "epoch": 1,
        "max_iterations": 300,
        "iterations_per_epoch": 100,
        "max_epochs": 3,
    }

    rb = store.get_run(b.id)
    assert rb is not None
    assert rb.status == "diverged" and rb.message == "training loss became non-finite"
    assert rb.last_seq == 31 and math.isnan(rb.latest["train_loss"])
    assert rb.best is None  # no validation yet
    assert rb.to_json()["latest"]["train_loss"] == "NaN"
    assert store.read_points(b.id).seq == list(range(1, 32))


def test_best_is_the_lowest_validation_loss_across_batches(store: Store) -> None:
    run = new_run(store)
    losses = [3.0, 1.0, math.nan, 2.0, 1.0, 0.5]
    for i, loss in enumerate(losses, start=1):
        store.ingest([(run.id, Point(i, i * 10, 1, 0.0, {"val_loss": loss, "val_rmse": i}))])
        if i == 3:
            best = store.get_run(run.id)
            assert best is not None and best.best is not None
            assert best.best["iteration"] == 20  # a NaN is never the best, a tie never replaces
    record = store.get_run(run.id)
    assert record is not None
    assert record.best == {"val_loss": 0.5, "val_rmse": 6.0, "iteration": 60, "epoch": 1, "seq": 6}


def test_events_of_unknown_or_deleted_runs_are_dropped(store: Store) -> None:
    run = new_run(store)
    gone = new_run(store)
    store.ingest(points(gone.id, 1, 5))
    assert store.delete_run(gone.id)
    batch: list[tuple[int, Event]] = [
        *points(gone.id, 6, 10),
        (999, Status("running")),
        *points(run.id, 1, 3),
    ]
    assert store.ingest(batch) == points(run.id, 1, 3)
    assert store.get_run(gone.id) is None
    assert store.read_points(gone.id).seq == []


def test_a_failed_batch_is_rolled_back_and_can_be_sent_again(store: Store) -> None:
    run = new_run(store)
    store.ingest(points(run.id, 1, 10))
    bad = [*points(run.id, 11, 20), (run.id, Point(21, 21, 1, 0.0, {"loss": "oops"}))]  # type: ignore[dict-item]
    try:
        store.ingest(bad)
    except (TypeError, ValueError):
        pass
    else:
        raise AssertionError("a non-numeric value should fail the batch")
    assert store.last_seq(run.id) == 10
    assert store.ingest(points(run.id, 11, 20)) == points(run.id, 11, 20)
    assert stored_seqs(store, run.id) == list(range(1, 21))


def test_restarted_worker_status_and_resume(store: Store) -> None:
    run = new_run(store)
    started = Started("cpu", "regression", 10, 0, 0, 5, 50, 7)
    store.ingest([(run.id, started), *points(run.id, 1, 10), (run.id, Status("stopped"))])
    first = store.get_run(run.id)
    assert first is not None and first.status == "stopped" and first.ended_at is not None
    resumed = Started("cpu", "regression", 10, 0, 0, 5, 50, 7, resumed_from_iteration=10)
    store.ingest([(run.id, resumed), *points(run.id, 11, 12)])
    again = store.get_run(run.id)
    assert again is not None
    assert again.status == "running" and again.ended_at is None and again.message is None
    assert again.started_at == first.started_at  # the run started once
    assert again.info["resumed_from_iteration"] == 10
