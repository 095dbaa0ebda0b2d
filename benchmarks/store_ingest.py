"""How fast do points go into the store and come back out?

1. Points per second through `Store.ingest` (the pipeline's write path) into SQLite, in batches
   of 1, 100 and 1000 points shaped like the engine's: train_loss, train_accuracy, learn_rate
   and grad_norm every iteration, val_loss and val_accuracy every 50. Events are built before
   the clock starts; each batch is one transaction, as in the pipeline.
2. A 1,000,000-point run read back with max_points=2000 (what the run page asks for): median of
   5 reads, the store's read plus `to_json()`, and separately the JSON text the REST body becomes.
3. The websocket backlog: every point after a recent seq of that run (1,000 and 50,000 back).

    python benchmarks/store_ingest.py [--points 1000000]

Prints a table and writes benchmarks/results/store_ingest.json. Goals (issue 4): ≥ 200,000
points/s ingested in batches; the 1M-point downsampled read ≤ 200 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy

from trainscope.schemas.events import Event, Point
from trainscope.store import Store, sqlite_url

RESULTS = Path(__file__).parent / "results"
INGEST_GOAL = 200_000
READ_GOAL_MS = 200


def make_points(run_id: int, first: int, n: int) -> list[tuple[int, Event]]:
    out: list[tuple[int, Event]] = []
    for seq in range(first, first + n):
        values = {
            "train_loss": 2.0 / seq + 0.01 * ((seq * 7919) % 13),
            "train_accuracy": min(1.0, seq / 50_000),
            "learn_rate": 0.01,
            "grad_norm": 1.0 + ((seq * 104729) % 17) / 10,
        }
        if seq % 50 == 0:
            values["val_loss"] = 2.5 / seq
            values["val_accuracy"] = min(1.0, seq / 60_000)
        out.append((run_id, Point(seq, seq, 1 + (seq - 1) // 500, time.time(), values)))
    return out


def ingest_rate(store: Store, batch: int, total: int) -> dict[str, Any]:
    run = store.create_run({}, name=f"batch-{batch}", parent_id=None, group=None, tags=[])
    batches = [make_points(run.id, first, batch) for first in range(1, total + 1, batch)]
    started = time.perf_counter()
    for events in batches:
        store.ingest(events)
    elapsed = time.perf_counter() - started
    return {
        "batch": batch,
        "points": total,
        "seconds": round(elapsed, 3),
        "points_per_s": round(total / elapsed),
        "chunks": len(store.chunk_stats(run.id)),
    }


def median_ms(fn: Callable[[], object], repeat: int = 5) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1e3)
    return statistics.median(times), [round(t, 1) for t in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(sqlite_url(Path(tmp)))
        try:
            ingest = [
                ingest_rate(store, 1, 5_000),
                ingest_rate(store, 100, 200_000),
                ingest_rate(store, 1000, 200_000),
            ]
            big = ingest_rate(store, 1000, args.points)  # the run read back below
            run_id = store.list_runs(limit=1)[0].id
            n = args.points
            db_bytes = sum(f.stat().st_size for f in Path(tmp).iterdir())

            store.read_points(run_id, max_points=2000)  # first read: connection, page cache
            read_ms, read_runs = median_ms(
                lambda: store.read_points(run_id, max_points=2000).to_json(), args.repeat
            )
            small = store.read_points(run_id, max_points=2000)
            body_ms, _ = median_ms(lambda: json.dumps(small.to_json(), allow_nan=False))
            backlog = {}
            for back in (1_000, 50_000):

                def read_backlog(after: int = max(0, n - back)) -> object:
                    return store.read_points(run_id, after_seq=after).to_json()

                backlog[back] = round(median_ms(read_backlog, args.repeat)[0], 2)
            full_ms, _ = median_ms(lambda: store.read_points(run_id), 3)
        finally:
            store.close()

    batched = max(r["points_per_s"] for r in ingest if r["batch"] > 1)
    result: dict[str, Any] = {
        "benchmark": "store_ingest",
        "date": time.strftime("%Y-%m-%d"),
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "sqlalchemy": sqlalchemy.__version__,
            "numpy": np.__version__,
        },
        "setup": {
            "database": "SQLite file, WAL, synchronous=NORMAL, in a temporary directory",
            "metrics": "4 per iteration + val_loss/val_accuracy every 50 iterations",
        },
        "ingest": [*ingest, big | {"note": "the run read back below"}],
        "run_points": n,
        "run_chunks": big["chunks"],
        "database_bytes": db_bytes,
        "read_downsampled_2000_ms_median": round(read_ms, 1),
        "read_downsampled_2000_ms_runs": read_runs,
        "read_downsampled_rows": len(small.seq),
        "rest_body_json_dumps_ms": round(body_ms, 2),
        "backlog_after_recent_seq_ms": {str(k): v for k, v in backlog.items()},
        "read_all_points_ms": round(full_ms, 1),
        "goals": {"ingest_points_per_s_batched": INGEST_GOAL, "read_downsampled_ms": READ_GOAL_MS},
        "goals_met": {
            "ingest": batched >= INGEST_GOAL,
            "read_downsampled": read_ms <= READ_GOAL_MS,
        },
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "store_ingest.json").write_text(json.dumps(result, indent=2) + "\n")

    print(f"store ingest/read — SQLite {sqlite3.sqlite_version}, {os.cpu_count()} cores")
    print(f"{'measure':<58}{'value':>14}{'goal':>12}")
    rows: list[tuple[str, str, str]] = [
        (
            f"ingest, batches of {r['batch']:>4} ({r['points']:,} points), points/s",
            f"{r['points_per_s']:,}",
            f"≥ {INGEST_GOAL:,}" if r["batch"] == 1000 else "",
        )
        for r in ingest
    ]
    rows += [
        (
            f"ingest of the {n:,}-point run, batches of 1000, points/s",
            f"{big['points_per_s']:,}",
            "",
        ),
        (f"chunks holding the {n:,}-point run", f"{big['chunks']}", ""),
        (f"read {n:,} points downsampled to ≤ 2000, ms (median)", f"{read_ms:.1f}", "≤ 200"),
        ("  rows returned", f"{len(small.seq)}", ""),
        ("  json.dumps of that REST body, ms", f"{body_ms:.2f}", ""),
        *[
            (f"backlog: all points after last−{k:,}, ms", f"{v:.2f}", "")
            for k, v in backlog.items()
        ],
        (f"read all {n:,} points (no downsampling), ms", f"{full_ms:.1f}", ""),
    ]
    for name, value, goal in rows:
        print(f"{name:<58}{value:>14}{goal:>12}")


if __name__ == "__main__":
    main()
