"""Scale: a store with 10,000 runs, read through a real `trainscope serve` (issue 19).

The store is filled directly (Store.create_run + Store.ingest, the pipeline's write path):
`--runs` runs, `--long` of them with `--long-points` points, the rest with `--short-points`,
curves shaped like real ones (a noisy decaying loss, a rising accuracy, a stepped learn rate,
validation every 50 iterations). Then a server is started on that data directory and measured:

1. `GET /api/runs` (the run list's request, 500 newest) p50/p99 over 50 requests, and with
   `limit=5000`;
2. the compare page's fetch of 20 long runs overlaid: 20 × `GET /api/runs/{id}/metrics?
   max_points=3000`, all at once, wall time to the last body;
3. the run list's first paint in a cold headless Chromium: navigation → the first run row;
4. the database's bytes per stored value (file size / every stored metric value), against 8
   for a raw float64;
5. the server process's resident memory after all of the above.

    python benchmarks/scale_runs.py [--runs 10000] [--long 100] [--long-points 1000000]
        [--short-points 200] [--no-browser]

Prints JSON and writes benchmarks/results/scale_runs.json. Goals (issue 19): run list ≤ 500 ms
cold with 10,000 runs; compare of 20 × 1,000,000-point runs ≤ 1 s; ≤ 4 bytes per float.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from stream_latency import free_port, start_server
from trainscope.data_layout import DATABASE_FILE
from trainscope.schemas.events import Event, Point
from trainscope.store.store import Store

RESULTS = Path(__file__).parent / "results" / "scale_runs.json"
BATCH = 1000


def curve_points(run_id: int, n: int, rng: np.random.Generator) -> list[list[tuple[int, Event]]]:
    """`n` points of one run in batches of BATCH, shaped like a real classification run."""
    t = np.arange(1, n + 1, dtype=np.float64)
    scale = max(n / 5, 50.0)
    loss = (
        0.05 + 2.2 * np.exp(-t / scale) + 0.08 * rng.standard_normal(n) * np.exp(-t / (3 * scale))
    )
    acc = np.clip(1 - loss / 2.3 + 0.02 * rng.standard_normal(n), 0, 1)
    # Values as PyTorch logs them: `loss.item()` of a float32 tensor.
    loss, acc = loss.astype(np.float32), acc.astype(np.float32)
    lr = np.where(t < n / 2, 0.01, 0.001)
    per_epoch = max(n // 30, 1)
    wall = time.time() - n * 0.01
    batches: list[list[tuple[int, Event]]] = []
    for first in range(0, n, BATCH):
        batch: list[tuple[int, Event]] = []
        for i in range(first, min(first + BATCH, n)):
            seq = i + 1
            values = {
                "train_loss": float(loss[i]),
                "train_accuracy": float(acc[i]),
                "learn_rate": float(lr[i]),
            }
            if seq % 50 == 0:
                values["val_loss"] = float(loss[i] * 1.1)
                values["val_accuracy"] = float(acc[i] * 0.97)
            batch.append((run_id, Point(seq, seq, 1 + i // per_epoch, wall + i * 0.01, values)))
        batches.append(batch)
    return batches


def fill(
    data_dir: Path, runs: int, long: int, long_points: int, short_points: int
) -> dict[str, Any]:
    store = Store.open(f"sqlite:///{(data_dir / DATABASE_FILE).resolve()}")
    rng = np.random.default_rng(0)
    spec = {
        "name": "scale",
        "dataset": {"name": "digits"},
        "model": {"preset": "mlp"},
        "options": {"max_epochs": 30},
    }
    started = time.perf_counter()
    values = points = 0
    long_ids: list[int] = []
    # The long runs first: the run list (newest first) then shows the short ones on top, as a
    # store that grew over months would.
    for i in range(runs):
        is_long = i < long
        run = store.create_run(
            spec,
            name=f"{'long' if is_long else 'short'}-{i}",
            parent_id=None,
            group=f"group-{i % 50}",
            tags=["scale"] if i % 10 == 0 else [],
            status="running",
            started_at=time.time(),
        )
        n = long_points if is_long else short_points
        for batch in curve_points(run.id, n, rng):
            store.ingest(batch)
            values += sum(len(e.values) for _, e in batch if isinstance(e, Point))
        points += n
        store.update_run(run.id, status="completed", ended_at=time.time())
        if is_long:
            long_ids.append(run.id)
    store.close()
    return {
        "runs": runs,
        "points": points,
        "values": values,
        "fill_s": round(time.perf_counter() - started, 1),
        "long_ids": long_ids,
    }


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)], 1)


def time_list(api: httpx.Client, limit: int | None, n: int = 50) -> dict[str, Any]:
    times = []
    count = 0
    for _ in range(n):
        t0 = time.perf_counter()
        body = api.get("/api/runs", params={"limit": limit} if limit else None).json()
        times.append((time.perf_counter() - t0) * 1e3)
        count = len(body)
    return {"runs_returned": count, "p50_ms": pct(times, 0.5), "p99_ms": pct(times, 0.99)}


async def compare_fetch(base: str, ids: list[int]) -> float:
    async with httpx.AsyncClient(base_url=base, timeout=120) as api:
        t0 = time.perf_counter()
        bodies = await asyncio.gather(
            *(api.get(f"/api/runs/{i}/metrics", params={"max_points": 3000}) for i in ids)
        )
        elapsed = time.perf_counter() - t0
    assert all(b.status_code == 200 for b in bodies)
    return round(elapsed * 1e3, 1)


def first_paint(base: str) -> float:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page()
        t0 = time.perf_counter()
        page.goto(base + "/")
        page.wait_for_selector("[data-run-id]", timeout=60_000)
        elapsed = (time.perf_counter() - t0) * 1e3
        browser.close()
    return round(elapsed, 1)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return math.nan


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--long", type=int, default=100)
    ap.add_argument("--long-points", type=int, default=1_000_000)
    ap.add_argument("--short-points", type=int, default=200)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        filled = fill(data_dir, args.runs, args.long, args.long_points, args.short_points)
        db_bytes = sum(f.stat().st_size for f in data_dir.glob(DATABASE_FILE + "*"))
        port = free_port()
        proc = start_server(data_dir, port, workers=1)
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base, timeout=120) as api:
                cold = time_list(api, None, n=1)
                listing = time_list(api, None)
                listing_5000 = time_list(api, 5000, n=10)
            ids = filled["long_ids"][:20]
            compare = [asyncio.run(compare_fetch(base, ids)) for _ in range(3)]
            paint = None if args.no_browser else first_paint(base)
            memory = rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    report = {
        "runs": filled["runs"],
        "long_runs": args.long,
        "long_points": args.long_points,
        "short_points": args.short_points,
        "points": filled["points"],
        "fill_s": filled["fill_s"],
        "db_bytes": db_bytes,
        "bytes_per_value": round(db_bytes / filled["values"], 2),
        "list_first_request_ms": cold["p50_ms"],
        "list_500": listing,
        "list_5000": listing_5000,
        "compare_20_long_ms": {"median": statistics.median(compare), "all": compare},
        "run_list_first_paint_cold_ms": paint,
        "server_rss_mb": memory,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
