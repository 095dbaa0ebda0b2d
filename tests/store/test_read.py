"""Reading points back: after a seq, up to a limit, downsampled."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest

from trainscope.schemas.events import Point
from trainscope.store import Store
from trainscope.store.arrays import MetricArray, PointArrays
from trainscope.store.downsample import select_rows
from trainscope.store.points import RunCursor, append_points

from .conftest import new_run, points, training_point


@pytest.fixture
def filled(store: Store) -> tuple[Store, int]:
    run = new_run(store)
    for first in range(1, 3001, 250):
        store.ingest(points(run.id, first, first + 249))
    return store, run.id


def test_after_seq_gives_exactly_the_later_points_in_order(filled: tuple[Store, int]) -> None:
    store, run_id = filled
    for after in (0, 1, 249, 250, 251, 1234, 2999, 3000, 5000):
        cols = store.read_points(run_id, after_seq=after)
        assert cols.seq == list(range(after + 1, 3001))
        assert cols.iteration == cols.seq
        assert cols.total == len(cols.seq) and not cols.has_more and not cols.downsampled
        assert cols.last_seq == (3000 if after < 3000 else after)


def test_values_come_back_with_none_where_a_point_lacks_a_metric(
    filled: tuple[Store, int],
) -> None:
    store, run_id = filled
    cols = store.read_points(run_id, after_seq=95, limit=10)
    assert cols.seq == list(range(96, 106))
    assert cols.values["val_loss"] == [
        training_point(s).values.get("val_loss") for s in range(96, 106)
    ]
    assert cols.values["val_loss"][4] is not None  # seq 100
    assert cols.values["train_loss"] == [training_point(s).values["train_loss"] for s in cols.seq]
    assert cols.epoch == [training_point(s).epoch for s in cols.seq]
    assert cols.wall_time == [training_point(s).wall_time for s in cols.seq]


def test_limit_cuts_and_says_so(filled: tuple[Store, int]) -> None:
    store, run_id = filled
    cols = store.read_points(run_id, after_seq=100, limit=700)
    assert cols.seq == list(range(101, 801))
    assert cols.total == 2900 and cols.has_more and cols.last_seq == 800
    # Paging with last_seq gets every point exactly once.
    seen: list[int] = []
    after = 0
    while True:
        page = store.read_points(run_id, after_seq=after, limit=333)
        seen += page.seq
        after = page.last_seq
        if not page.has_more:
            break
    assert seen == list(range(1, 3001))
    exact = store.read_points(run_id, after_seq=2000, limit=1000)
    assert len(exact.seq) == 1000 and not exact.has_more
    assert store.read_points(run_id, limit=0).has_more


def test_before_seq_bounds_the_window_from_above(filled: tuple[Store, int]) -> None:
    store, run_id = filled
    # Windows that start and end inside chunks, on chunk edges, and past the end.
    for after, before in ((0, 1), (0, 2), (100, 600), (249, 251), (250, 501), (2990, 9999)):
        cols = store.read_points(run_id, after_seq=after, before_seq=before)
        assert cols.seq == list(range(after + 1, min(before, 3001)))
    assert store.read_points(run_id, after_seq=500, before_seq=400).seq == []
    paged = store.read_points(run_id, after_seq=100, before_seq=1000, limit=500)
    assert paged.seq == list(range(101, 601)) and paged.has_more
    rest = store.read_points(run_id, after_seq=600, before_seq=1000, limit=500)
    assert rest.seq == list(range(601, 1000)) and not rest.has_more


def test_a_zoomed_window_comes_back_in_detail(filled: tuple[Store, int]) -> None:
    store, run_id = filled
    overview = store.read_points(run_id, max_points=100)
    detail = store.read_points(run_id, after_seq=1000, before_seq=1101, max_points=200)
    assert overview.downsampled and not detail.downsampled
    assert detail.seq == list(range(1001, 1101))


def test_unknown_run_reads_empty(store: Store) -> None:
    cols = store.read_points(12345, after_seq=7)
    assert cols.seq == [] and cols.total == 0 and cols.last_seq == 7
    assert store.read_points(12345, limit=5).seq == []


def spike_and_nan_series(n: int) -> tuple[list[Point], int, int]:
    rng = np.random.default_rng(0)
    loss = (1.0 + 0.05 * rng.standard_normal(n)).tolist()
    spike, nan_at = 31_337, 77_777
    loss[spike] = 50.0
    loss[nan_at] = math.nan
    pts = [
        Point(i + 1, i + 1, 1 + i // 1000, float(i), {"train_loss": loss[i], "learn_rate": 0.1})
        for i in range(n)
    ]
    return pts, spike + 1, nan_at + 1


def test_downsampling_keeps_the_spike_and_the_nan(store: Store) -> None:
    run = new_run(store)
    pts, spike_seq, nan_seq = spike_and_nan_series(100_000)
    for first in range(0, len(pts), 5000):
        store.ingest([(run.id, p) for p in pts[first : first + 5000]])
    cols = store.read_points(run.id, max_points=500)
    assert cols.downsampled and cols.total == 100_000
    assert len(cols.seq) <= 500 + 1  # + the row with the NaN
    assert cols.seq[0] == 1 and cols.seq[-1] == 100_000
    assert cols.seq == sorted(cols.seq)
    loss = dict(zip(cols.seq, cols.values["train_loss"], strict=True))
    nan = loss[nan_seq]
    assert loss[spike_seq] == 50.0
    assert nan is not None and math.isnan(nan)
    assert (
        json.loads(json.dumps(cols.to_json()))["values"]["train_loss"][cols.seq.index(nan_seq)]
        == "NaN"
    )


def test_every_bucket_keeps_its_min_and_max() -> None:
    n, buckets = 10_000, 50
    rng = np.random.default_rng(1)
    values = rng.standard_normal(n)
    arrays = PointArrays(
        np.arange(1, n + 1),
        np.arange(1, n + 1),
        np.ones(n, dtype=np.int64),
        np.zeros(n),
        {"loss": MetricArray(None, values)},
    )
    rows = set(select_rows(arrays, 2 * buckets + 2).tolist())
    assert len(rows) <= 2 * buckets + 2
    width = n // buckets
    for b in range(buckets):
        part = values[b * width : (b + 1) * width]
        assert b * width + int(np.argmin(part)) in rows
        assert b * width + int(np.argmax(part)) in rows


def test_every_non_finite_value_survives_even_beyond_the_budget() -> None:
    n = 5_000
    values = np.linspace(0, 1, n)
    bad = np.arange(10, n, 100)
    values[bad] = np.resize([math.nan, math.inf, -math.inf], len(bad))
    sparse_rows = np.arange(0, n, 7)
    sparse = np.full(len(sparse_rows), 1.0)
    sparse[3] = math.inf
    arrays = PointArrays(
        np.arange(1, n + 1),
        np.arange(1, n + 1),
        np.ones(n, dtype=np.int64),
        np.zeros(n),
        {"loss": MetricArray(None, values), "val": MetricArray(sparse_rows, sparse)},
    )
    rows = select_rows(arrays, 40)
    assert set(bad.tolist()) <= set(rows.tolist())
    assert int(sparse_rows[3]) in rows
    assert len(rows) <= 40 + len(bad) + 1


@pytest.mark.parametrize("max_points", [10, 37, 500, 2000])
def test_downsampled_size_respects_the_bound(filled: tuple[Store, int], max_points: int) -> None:
    store, run_id = filled
    cols = store.read_points(run_id, max_points=max_points)
    assert cols.downsampled and cols.total == 3000
    assert len(cols.seq) <= max_points
    assert set(cols.values) == {
        "train_loss",
        "train_accuracy",
        "learn_rate",
        "grad_norm",
        "val_loss",
        "val_accuracy",
    }
    assert cols.seq[0] == 1 and cols.seq[-1] == 3000


def test_small_sparse_metrics_are_kept_whole(filled: tuple[Store, int]) -> None:
    store, run_id = filled
    cols = store.read_points(run_id, max_points=1000)
    # 60 validations fit their share of the budget: all of them are drawn.
    kept = [v for v in cols.values["val_loss"] if v is not None]
    assert len(kept) == 60


def test_no_downsampling_when_the_points_fit(filled: tuple[Store, int]) -> None:
    store, run_id = filled
    cols = store.read_points(run_id, after_seq=2500, max_points=500)
    assert not cols.downsampled and cols.seq == list(range(2501, 3001))


def test_limit_then_downsample(filled: tuple[Store, int]) -> None:
    store, run_id = filled
    cols = store.read_points(run_id, after_seq=10, limit=1000, max_points=100)
    assert cols.downsampled and cols.has_more and cols.total == 2990
    assert cols.seq[0] == 11 and cols.seq[-1] == 1010 and len(cols.seq) <= 100


def test_reading_a_million_points_downsampled_is_fast(store: Store) -> None:
    run = new_run(store)
    n = 1_000_000
    seq = np.arange(1, n + 1)
    loss = 1.0 / seq
    # Straight to the chunk writer: building a million Point objects is the slow part here.
    with store.engine.begin() as conn:
        cursor = RunCursor(0, 0)
        for first in range(0, n, 4096):
            s = slice(first, first + 4096)
            append_points(
                conn,
                run.id,
                PointArrays(
                    seq[s],
                    seq[s],
                    seq[s] // 1000 + 1,
                    np.asarray(seq[s] * 0.01, dtype=np.float64),
                    {
                        "train_loss": MetricArray(None, loss[s]),
                        "train_accuracy": MetricArray(None, 1 - loss[s]),
                        "learn_rate": MetricArray(None, np.full(len(seq[s]), 0.01)),
                        "grad_norm": MetricArray(None, loss[s] * 3),
                    },
                ),
                cursor,
            )
    store.read_points(run.id, max_points=2000)  # warm the page cache
    started = time.perf_counter()
    cols = store.read_points(run.id, max_points=2000)
    elapsed = time.perf_counter() - started
    assert cols.total == n and len(cols.seq) <= 2000
    assert elapsed < 2.0  # a sanity bound; benchmarks/store_ingest.py measures the real figure
