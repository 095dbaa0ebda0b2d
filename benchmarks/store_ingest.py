"""How fast do points go into the store and come back out?

Both databases the store supports, one after the other, the same measurements:
SQLite (a file in a temporary directory) and PostgreSQL (a fresh database made for the run on
the server at --postgres-url, dropped at the end).

1. Points per second through `Store.ingest` (the pipeline's write path), in batches of 1, 100
   and 1000 points shaped like the engine's: train_loss, train_accuracy, learn_rate and
   grad_norm every iteration, val_loss and val_accuracy every 50. Events are built before the
   clock starts; each batch is one transaction, as in the pipeline.
2. A 1,000,000-point run read back with max_points=2000 (what the run page asks for): median of
   5 reads, the store's read plus `to_json()`, and separately the JSON text the REST body becomes.
3. The websocket backlog: every point after a recent seq of that run (1,000 and 50,000 back).

    python benchmarks/store_ingest.py [--points 1000000] [--backends sqlite,postgresql]
        [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Prints a table and writes benchmarks/results/store_ingest.json. Goals (issue 4): ≥ 200,000
points/s ingested in batches; the 1M-point downsampled read ≤ 200 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from trainscope.schemas.events import Event, Point
from trainscope.store import Store, sqlite_url

RESULTS = Path(__file__).parent / "results"
INGEST_GOAL = 200_000
READ_GOAL_MS = 200
# A server where this user may CREATE DATABASE; the tests use the same variable.
POSTGRES_URL = (
    os.environ.get("TRAINSCOPE_TEST_POSTGRES_URL")
    or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SETUPS = {
    "sqlite": "SQLite file, WAL, synchronous=NORMAL, in a temporary directory",
    "postgresql": "PostgreSQL on this machine over TCP (127.0.0.1), a fresh database, the "
    "server's default settings (synchronous_commit=on), psycopg 3",
}


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


@contextmanager
def sqlite_database() -> Iterator[tuple[str, Callable[[], int]]]:
    """(URL, size of the database in bytes) of a new SQLite file."""
    with tempfile.TemporaryDirectory() as tmp:
        yield sqlite_url(Path(tmp)), lambda: sum(f.stat().st_size for f in Path(tmp).iterdir())


@contextmanager
def postgres_database(admin_url: str) -> Iterator[tuple[str, Callable[[], int]]]:
    """(URL, size of the database in bytes) of a new PostgreSQL database, dropped afterwards."""
    admin = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"trainscope_bench_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def size() -> int:
        with admin.connect() as conn:
            query = sqlalchemy.text("SELECT pg_database_size(:name)")
            return int(conn.execute(query, {"name": name}).scalar_one())

    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False), size
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def measure(url: str, size: Callable[[], int], n: int, repeat: int) -> dict[str, Any]:
    store = Store.open(url)
    try:
        ingest = [
            ingest_rate(store, 1, 5_000),
            ingest_rate(store, 100, 200_000),
            ingest_rate(store, 1000, 200_000),
        ]
        big = ingest_rate(store, 1000, n)  # the run read back below
        run_id = store.list_runs(limit=1)[0].id
        db_bytes = size()

        store.read_points(run_id, max_points=2000)  # first read: connection, page cache
        read_ms, read_runs = median_ms(
            lambda: store.read_points(run_id, max_points=2000).to_json(), repeat
        )
        small = store.read_points(run_id, max_points=2000)
        body_ms, _ = median_ms(lambda: json.dumps(small.to_json(), allow_nan=False))
        backlog = {}
        for back in (1_000, 50_000):

            def read_backlog(after: int = max(0, n - back)) -> object:
                return store.read_points(run_id, after_seq=after).to_json()

            backlog[back] = round(median_ms(read_backlog, repeat)[0], 2)
        full_ms, _ = median_ms(lambda: store.read_points(run_id), 3)
    finally:
        store.close()
    batched = max(r["points_per_s"] for r in ingest if r["batch"] > 1)
    return {
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
        "goals_met": {
            "ingest": batched >= INGEST_GOAL,
            "read_downsampled": read_ms <= READ_GOAL_MS,
        },
    }


def postgres_version(admin_url: str) -> str:
    engine = sqlalchemy.create_engine(admin_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return str(conn.exec_driver_sql("SHOW server_version").scalar_one())
    finally:
        engine.dispose()


def print_table(results: dict[str, dict[str, Any]], n: int) -> None:
    names = list(results)
    print(f"{'measure':<58}" + "".join(f"{b:>14}" for b in names) + f"{'goal':>12}")

    def row(label: str, values: list[str], goal: str = "") -> None:
        print(f"{label:<58}" + "".join(f"{v:>14}" for v in values) + f"{goal:>12}")

    first = results[names[0]]
    for i, r in enumerate(first["ingest"][:-1]):
        row(
            f"ingest, batches of {r['batch']:>4} ({r['points']:,} points), points/s",
            [f"{results[b]['ingest'][i]['points_per_s']:,}" for b in names],
            f"≥ {INGEST_GOAL:,}" if r["batch"] == 1000 else "",
        )
    row(
        f"ingest of the {n:,}-point run, batches of 1000, points/s",
        [f"{results[b]['ingest'][-1]['points_per_s']:,}" for b in names],
    )
    row(f"chunks holding the {n:,}-point run", [f"{results[b]['run_chunks']}" for b in names])
    row("database size, MB", [f"{results[b]['database_bytes'] / 1e6:.1f}" for b in names])
    row(
        f"read {n:,} points downsampled to ≤ 2000, ms (median)",
        [f"{results[b]['read_downsampled_2000_ms_median']:.1f}" for b in names],
        f"≤ {READ_GOAL_MS}",
    )
    row("  rows returned", [f"{results[b]['read_downsampled_rows']}" for b in names])
    row(
        "  json.dumps of that REST body, ms",
        [f"{results[b]['rest_body_json_dumps_ms']:.2f}" for b in names],
    )
    for k in ("1000", "50000"):
        row(
            f"backlog: all points after last−{int(k):,}, ms",
            [f"{results[b]['backlog_after_recent_seq_ms'][k]:.2f}" for b in names],
        )
    row(
        f"read all {n:,} points (no downsampling), ms",
        [f"{results[b]['read_all_points_ms']:.1f}" for b in names],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if unknown := set(backends) - set(SETUPS):
        parser.error(f"unknown backends {sorted(unknown)}; choose from {sorted(SETUPS)}")

    machine: dict[str, Any] = {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        "numpy": np.__version__,
    }
    results: dict[str, dict[str, Any]] = {}
    for backend in backends:
        if backend == "sqlite":
            database = sqlite_database()
        else:
            import psycopg

            machine["postgresql"] = postgres_version(args.postgres_url)
            machine["psycopg"] = psycopg.__version__
            database = postgres_database(args.postgres_url)
        with database as (url, size):
            results[backend] = measure(url, size, args.points, args.repeat)

    result: dict[str, Any] = {
        "benchmark": "store_ingest",
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine,
        "setup": {
            "databases": {b: SETUPS[b] for b in backends},
            "metrics": "4 per iteration + val_loss/val_accuracy every 50 iterations",
        },
        "goals": {"ingest_points_per_s_batched": INGEST_GOAL, "read_downsampled_ms": READ_GOAL_MS},
        "backends": results,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "store_ingest.json").write_text(json.dumps(result, indent=2) + "\n")

    versions = [f"SQLite {sqlite3.sqlite_version}"] if "sqlite" in results else []
    if "postgresql" in results:
        versions.append(f"PostgreSQL {machine['postgresql']}")
    print(f"store ingest/read — {', '.join(versions)}, {os.cpu_count()} cores")
    print_table(results, args.points)


if __name__ == "__main__":
    main()
