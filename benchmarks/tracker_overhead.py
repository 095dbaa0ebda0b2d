"""What does one logged scalar cost the training process, trainscope against its peers?

Side by side in one run on this machine: the trainscope SDK (to a real `trainscope serve` on
127.0.0.1, and in local mode), TensorBoard's `SummaryWriter.add_scalar`, trackio (local), W&B
(offline), Aim (local repo) and MLflow (local SQLite store, synchronous and asynchronous). Each
tracker runs in its own subprocess, so imports and background threads don't interfere; the same
N and rounds for all. See tracker_adapters.py for how each is configured offline.

1. In the caller's thread: N calls logging one scalar each, and N calls logging three
   (train_loss, train_accuracy, learn_rate; TensorBoard: three `add_scalar`), rounds
   interleaved in one open run; the median over rounds of the mean ns per call.
2. Including the flush to durable storage: a fresh run, then the wall time from the first of
   N calls to the return of the tracker's own flush/finish/close, divided by the scalars
   logged. A tracker that only queues in the caller's thread pays the rest here.

    python benchmarks/tracker_overhead.py [--n 1000] [--rounds 3] [--trackers a,b] [--quick]

Prints a table and writes benchmarks/results/tracker_overhead.json. Goals (issue 9): ≤ 1 µs per
call, ≤ 3 µs per scalar including the flush to durable storage.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import tracker_adapters as ta

RESULTS = Path(__file__).parent / "results"
# Milliseconds per call: the long flush measurement would take minutes.
SLOW = ("mlflow-sync", "mlflow-async")


def child(name: str, n: int, rounds: int, url: str | None, big_n: int) -> dict[str, Any]:
    """Runs inside the tracker's own subprocess (its environment already offline)."""
    ta.install_network_guard()
    tmp = Path(os.environ["BENCH_TMP"])
    import_s = ta.warm_import(name)
    rng = random.Random(0)
    values = [rng.random() for _ in range(max(n, big_n))]

    def timed_calls(log1: Any, log3: Any, k: int, start: int, count: int = n) -> int:
        t0 = time.perf_counter_ns()
        if k == 1:
            for i in range(count):
                log1(start + i, values[i])
        else:
            for i in range(count):
                v = values[i]
                log3(start + i, v, v, v)
        return time.perf_counter_ns() - t0

    # 1. Cost in the caller's thread, one open run, rounds interleaved.
    t0 = time.perf_counter()
    tracker = ta.Tracker(name, tmp, "calls", url)
    open_s = time.perf_counter() - t0
    for i in range(min(n, 100)):  # warm up both paths (first-call lazy set-up)
        tracker.log1(i, 0.5)
        tracker.log3(i, 0.5, 0.5, 0.5)
    step = 1000
    per_call: dict[int, list[float]] = {1: [], 3: []}
    for _ in range(rounds):
        for k in (1, 3):
            per_call[k].append(timed_calls(tracker.log1, tracker.log3, k, step) / n)
            step += n
    t0 = time.perf_counter()
    tracker.close()
    close_calls_s = time.perf_counter() - t0

    # 2. Including the flush to durable storage, in fresh runs.
    flush: dict[int, dict[str, float]] = {}
    for k in (1, 3):
        tracker = ta.Tracker(name, tmp, f"flush{k}", url)
        t0 = time.perf_counter_ns()
        calls_ns = timed_calls(tracker.log1, tracker.log3, k, 0)
        t1 = time.perf_counter_ns()
        tracker.close()
        total_ns = time.perf_counter_ns() - t0
        flush[k] = {
            "calls_ns_per_scalar": calls_ns / (n * k),
            "close_s": (time.perf_counter_ns() - t1) / 1e9,
            "total_ns_per_scalar": total_ns / (n * k),
        }
    # 3. The same at a longer run's length (3 scalars per call), where a fixed cost of
    # finishing no longer dominates: what streaming costs per scalar.
    big: dict[str, float] | None = None
    if big_n:
        tracker = ta.Tracker(name, tmp, "flush-big", url)
        t0 = time.perf_counter_ns()
        calls_ns = timed_calls(tracker.log1, tracker.log3, 3, 0, big_n)
        t1 = time.perf_counter_ns()
        tracker.close()
        total_ns = time.perf_counter_ns() - t0
        big = {
            "n": big_n,
            "calls_ns_per_scalar": round(calls_ns / (big_n * 3), 1),
            "close_s": round((time.perf_counter_ns() - t1) / 1e9, 4),
            "total_ns_per_scalar": round(total_ns / (big_n * 3), 1),
        }
    return {
        "import_s": round(import_s, 3),
        "open_s": round(open_s, 3),
        "ns_per_call_1": round(statistics.median(per_call[1]), 1),
        "ns_per_call_3": round(statistics.median(per_call[3]), 1),
        "ns_per_call_1_rounds": [round(x, 1) for x in per_call[1]],
        "ns_per_call_3_rounds": [round(x, 1) for x in per_call[3]],
        "close_after_rounds_s": round(close_calls_s, 4),
        "flush_1": {key: round(v, 4) for key, v in flush[1].items()},
        "flush_3": {key: round(v, 4) for key, v in flush[3].items()},
        "flush_3_big": big,
        "blocked_connections": ta.blocked_connections,
    }


def empty_baseline(n: int, rounds: int) -> dict[str, float]:
    """The harness alone: the same loop calling functions that do nothing."""

    def log1(step: int, v: float) -> None:
        pass

    def log3(step: int, a: float, b: float, c: float) -> None:
        pass

    values = [0.5] * n
    out: dict[str, list[float]] = {"1": [], "3": []}
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        for i in range(n):
            log1(i, values[i])
        out["1"].append((time.perf_counter_ns() - t0) / n)
        t0 = time.perf_counter_ns()
        for i in range(n):
            v = values[i]
            log3(i, v, v, v)
        out["3"].append((time.perf_counter_ns() - t0) / n)
    return {k: round(statistics.median(v), 1) for k, v in out.items()}


def run_child(script: str, name: str, args: list[str], timeout: float) -> dict[str, Any]:
    """Run `script --child name args` in a fresh interpreter with an offline environment."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        env = {**os.environ, **ta.offline_env(Path(tmp)), "BENCH_TMP": tmp}
        try:
            proc = subprocess.run(
                [sys.executable, script, "--child", name, *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout:.0f} s"}
        marker = "BENCH_RESULT "
        for line in proc.stdout.splitlines():
            if line.startswith(marker):
                result: dict[str, Any] = json.loads(line[len(marker) :])
                return result
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}


def unavailable(name: str) -> str | None:
    """Why a tracker has no row of figures, or None when it can be measured."""
    if name.startswith("trainscope"):
        return None if ta.sdk_available() else "SDK not available yet (no trainscope.init)"
    if ta.version(name) is None:
        return f"not installed (pip install {ta.DISTRIBUTION[name]})"
    return None


def start_trainscope_server(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A real `trainscope serve` on a free loopback port, one (idle) worker slot."""
    from stream_latency import free_port, start_server

    port = free_port()
    return start_server(data_dir, port, workers=1), f"http://127.0.0.1:{port}"


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()


# The SDK rows that log to a server (`--url`); trainscope-local writes the local store.
SERVER_TRACKERS = ("trainscope", "trainscope-flush20ms")


def tracker_names(arg: str, known: Sequence[str]) -> list[str]:
    names = [t.strip() for t in arg.split(",") if t.strip()]
    if unknown := set(names) - set(known):
        raise SystemExit(f"unknown trackers: {sorted(unknown)}; known: {list(known)}")
    return names


def save_result(
    name: str,
    setup: dict[str, Any],
    trackers: dict[str, Any],
    *,
    machine: dict[str, Any] | None = None,
    **more: Any,
) -> None:
    """Write benchmarks/results/<name>.json: what ran, on which machine (with the load at the
    end: other jobs share it), anything `more`, and each tracker's row."""
    result: dict[str, Any] = {
        "benchmark": name,
        "date": time.strftime("%Y-%m-%d"),
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            **(machine or {}),
            "platform": platform.platform(),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "setup": setup,
        **more,
        "trackers": trackers,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")


def measure_trackers(
    script: str,
    names: list[str],
    child_args: Callable[[str], list[str]],
    row_of: Callable[[str], dict[str, Any]] = lambda name: {},
) -> dict[str, dict[str, Any]]:
    """Each tracker measured by `script --child NAME ...` in a fresh interpreter, one after the
    other; trainscope's rows against a real `trainscope serve` started for them (`--url`). A
    tracker that cannot be measured here gets its reason as `error`."""
    rows: dict[str, dict[str, Any]] = {}
    server: subprocess.Popen[bytes] | None = None
    with tempfile.TemporaryDirectory(prefix="bench-server-") as server_dir:
        url = None
        if any(n in SERVER_TRACKERS for n in names) and unavailable("trainscope") is None:
            server, url = start_trainscope_server(Path(server_dir))
        try:
            for name in names:
                row: dict[str, Any] = {"version": ta.version(name), **row_of(name)}
                if reason := unavailable(name):
                    row["error"] = reason
                else:
                    extra = child_args(name)
                    if name in SERVER_TRACKERS and url:
                        extra += ["--url", url]
                    print(f"… {name}", file=sys.stderr, flush=True)
                    row.update(run_child(script, name, extra, timeout=600))
                rows[name] = row
        finally:
            if server is not None:
                stop_server(server)
    return rows


def fmt_us(ns: float | None) -> str:
    if ns is None:
        return "—"
    us = ns / 1e3
    return f"{us:,.2f}" if us < 100 else f"{us:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="calls per round (the same for all)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--trackers", default=",".join(ta.TRACKERS))
    parser.add_argument(
        "--big-n",
        type=int,
        default=20_000,
        help="calls of the long flush measurement (not for MLflow: too slow per call)",
    )
    parser.add_argument("--quick", action="store_true", help="--n 300 --rounds 2 --big-n 3000")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = child(args.child, args.n, args.rounds, args.url, args.big_n)
        print("BENCH_RESULT " + json.dumps(result), flush=True)
        return
    if args.quick:
        args.n, args.rounds, args.big_n = 300, 2, 3000
    names = tracker_names(args.trackers, ta.TRACKERS)

    def child_args(name: str) -> list[str]:
        big_n = 0 if name in SLOW else args.big_n
        return ["--n", str(args.n), "--rounds", str(args.rounds), "--big-n", str(big_n)]

    rows = measure_trackers(__file__, names, child_args)
    baseline = empty_baseline(args.n, max(args.rounds, 5))

    setup = {
        "n_calls_per_round": args.n,
        "rounds": args.rounds,
        "trainscope_url": "a real `trainscope serve` on 127.0.0.1 (trainscope); "
        "url=None, the SDK's local store (trainscope-local)",
        "mlflow_store": "sqlite (local file)",
        "big_n": args.big_n,
        "big_n_not_for": list(SLOW),
    }
    goals = {"us_per_call": 1, "us_per_scalar_including_flush": 3}
    save_result("tracker_overhead", setup, rows, harness_ns_per_call=baseline, goals=goals)

    print(
        f"cost per logged scalar in the training process — N = {args.n} calls, "
        f"{args.rounds} rounds, median; µs"
    )
    head = (
        "tracker",
        "version",
        "1/call",
        "3/call",
        "per scalar",
        "+flush 1/call",
        "+flush 3/call",
        "flush s",
    )
    widths = (18, 10, 10, 10, 11, 14, 14, 9)
    print(
        "".join(
            h.ljust(w) if i < 2 else h.rjust(w)
            for i, (h, w) in enumerate(zip(head, widths, strict=True))
        )
    )
    for name, row in rows.items():
        if "error" in row:
            print(f"{name:<18}{row['version'] or '—':<10}{row['error']}")
            continue
        cells = (
            fmt_us(row["ns_per_call_1"]),
            fmt_us(row["ns_per_call_3"]),
            fmt_us(row["ns_per_call_3"] / 3),
            fmt_us(row["flush_1"]["total_ns_per_scalar"]),
            fmt_us(row["flush_3"]["total_ns_per_scalar"]),
            f"{row['flush_3']['close_s']:.3f}",
        )
        print(
            f"{name:<18}{row['version'] or '—':<10}"
            + "".join(c.rjust(w) for c, w in zip(cells, widths[2:], strict=True))
        )
    print(f"{'(harness, no-op)':<28}{fmt_us(baseline['1']):>10}{fmt_us(baseline['3']):>10}")
    print()
    print(f"including the flush at N = {args.big_n:,} calls × 3 scalars; µs per scalar")
    print(f"{'tracker':<18}{'calls only':>12}{'close s':>10}{'total':>10}")
    for name, row in rows.items():
        big = row.get("flush_3_big")
        if big:
            print(
                f"{name:<18}{fmt_us(big['calls_ns_per_scalar']):>12}{big['close_s']:>10.3f}"
                f"{fmt_us(big['total_ns_per_scalar']):>10}"
            )
        elif "error" not in row:
            print(f"{name:<18}{'not run: milliseconds per call':>32}")
    print("goal: ≤ 1 µs per call; ≤ 3 µs per scalar including the flush")


if __name__ == "__main__":
    main()
