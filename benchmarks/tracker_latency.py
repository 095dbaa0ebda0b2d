"""How long from a `log()` call until the point can be drawn in a browser?

trainscope pushes: a real `trainscope serve` on a free loopback port, a websocket client
subscribed to the run (`/ws/runs/{id}`), the SDK logging in another process; latency = the
client's receive time − the time taken just before `log()`.

The peers have no push: their UIs poll. For them this measures what can be measured here — the
time until the logged point is readable from the peer's own storage through its own reader
(TensorBoard's EventAccumulator, trackio's SQLiteStorage, W&B's offline .wandb transaction log,
Aim's Repo, MLflow's client), read by a separate process polling every --poll-ms — and adds the
documented refresh of the peer's UI (quoted, with its source), which a browser must also wait
for. Best case to drawable = storage visibility + 0 (the UI happened to poll just then);
expected = storage visibility + half the UI's period; worst = + the whole period.

The writer logs train_loss, train_accuracy and learn_rate (value = the step) at --rate points
per second for --points points, each tracker in its own subprocess, configured offline as in
tracker_adapters.py.

    python benchmarks/tracker_latency.py [--points 300] [--rate 50] [--trackers a,b] [--quick]

Prints a table and writes benchmarks/results/tracker_latency.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tracker_adapters as ta
from tracker_overhead import measure_trackers, save_result, tracker_names

# trainscope-local has no live view (its store is read by a `trainscope serve` started on it);
# trainscope-flush20ms is the SDK with a non-default shipping interval, for comparison.
LATENCY_TRACKERS = ["trainscope", "trainscope-flush20ms"] + [
    t for t in ta.TRACKERS if not t.startswith("trainscope")
]

# The documented refresh of each peer's UI, quoted (not measured), with where it is stated.
UI_REFRESH: dict[str, dict[str, Any]] = {
    "trainscope": {
        "period_s": 0.0,
        "how": "websocket push; the page merges points into at most one frame per 30 ms",
        "source": "docs/benchmarks.md (stream latency)",
    },
    "tensorboard": {
        "period_s": 5.0 + 30.0,
        "how": "the server reloads event files every --reload_interval (default 5 s); the page "
        "auto-reloads every 30 s (its minimum; settings dialog)",
        "source": "tensorboard 2.21 plugins/core/core_plugin.py (--reload_interval default "
        "5.0); webfiles.zip index.js (reloadPeriodInMs: 3e4, periods under 3e4 refused)",
    },
    "trackio": {
        "period_s": 1.0,
        "how": "the local dashboard polls metrics every 1 s (3.5 s on a HF Space)",
        "source": "trackio 0.43 frontend/src/lib/hostPolling.js getMetricsPollIntervalMs()",
    },
    "wandb-offline": {
        "period_s": None,
        "how": "offline runs have no browser view until `wandb sync` uploads them to a W&B "
        "server (not reachable here); the hosted UI's polling period is not documented",
        "source": "W&B docs, offline mode",
    },
    "aim": {
        "period_s": 10.0,
        "how": "Metrics Explorer's live update: every 10 s, and off by default; the single "
        "run page does not live-update metrics",
        "source": "aim-ui 3.29.1 build main.js.map (liveUpdate: {delay: 10000, enabled: "
        "false}); github.com/aimhubio/aim/issues/2106",
    },
    "mlflow-sync": {
        "period_s": 30.0,
        "how": "the experiment page auto-refreshes runs every 30 s",
        "source": "mlflow 3.17.2 server/js bundle (RUNS_AUTO_REFRESH_INTERVAL = 3e4, "
        "experimentPage.fetch-utils.ts); github.com/mlflow/mlflow/issues/16462, #18870",
    },
}
UI_REFRESH["mlflow-async"] = UI_REFRESH["mlflow-sync"]
UI_REFRESH["trainscope-flush20ms"] = UI_REFRESH["trainscope"]


# -- readers: each returns the steps visible in storage now ------------------------------------
def make_reader(name: str, info: dict[str, Any]) -> Callable[[], set[int]]:
    if name == "tensorboard":
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        acc = EventAccumulator(info["logdir"], size_guidance={"scalars": 0})

        def read_tb() -> set[int]:
            acc.Reload()
            if "learn_rate" not in acc.Tags()["scalars"]:
                return set()
            return {e.step for e in acc.Scalars("learn_rate")}

        return read_tb
    if name == "trackio":
        from trackio.sqlite_storage import SQLiteStorage

        def read_trackio() -> set[int]:
            logs = SQLiteStorage.get_logs(info["project"], run=info["run_name"])
            return {int(row["step"]) for row in logs if "learn_rate" in row}

        return read_trackio
    if name == "wandb-offline":
        return WandbLogReader(Path(info["run_dir"]).parent / f"run-{info['run_id']}.wandb")
    if name == "aim":
        # What `aim up` does: its index manager watches the repo's chunks and indexes a live
        # run's metadata, without which a reader lists no metrics for the run.
        from aim import Repo, Run
        from aim.sdk.index_manager import RepoIndexManager

        repo = Repo.from_path(info["repo"])
        RepoIndexManager.get_index_manager(repo).start()

        def read_aim() -> set[int]:
            run = Run(info["run_hash"], repo=repo, read_only=True)
            steps: set[int] = set()
            for metric in run.metrics():
                if metric.name == "learn_rate":
                    _, values = metric.values.sparse_numpy()  # the value logged is the step
                    steps = {int(v) for v in values}
            repo.container_pool.clear()  # read afresh next time, as the UI's requests do
            return steps

        return read_aim
    if name.startswith("mlflow"):
        from mlflow.tracking import MlflowClient

        client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])

        def read_mlflow() -> set[int]:
            return {m.step for m in client.get_metric_history(info["run_id"], "learn_rate")}

        return read_mlflow
    raise ValueError(name)


class WandbLogReader:
    """Reads W&B's offline transaction log (.wandb: a LevelDB-style log of protobuf Records,
    32 KiB blocks, 7-byte record headers) incrementally: the steps of complete history records.
    """

    BLOCK = 32768
    HEADER = 7

    def __init__(self, path: Path) -> None:
        from wandb.proto import wandb_internal_pb2

        self.path, self.pb = path, wandb_internal_pb2
        self.pos, self.partial, self.steps = self.HEADER, b"", set[int]()

    def __call__(self) -> set[int]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return set()
        while self.pos + self.HEADER <= len(data):
            left = self.BLOCK - self.pos % self.BLOCK
            if left < self.HEADER:
                self.pos += left
                continue
            length = int.from_bytes(data[self.pos + 4 : self.pos + 6], "little")
            kind = data[self.pos + 6]
            end = self.pos + self.HEADER + length
            if end > len(data):
                break  # the rest of this record is not written yet
            chunk = data[self.pos + self.HEADER : end]
            self.pos = end
            if kind == 2:  # first fragment
                self.partial = chunk
                continue
            if kind == 3:  # middle
                self.partial += chunk
                continue
            if kind not in (1, 4):
                continue
            record = self.pb.Record()
            record.ParseFromString(chunk if kind == 1 else self.partial + chunk)
            if record.WhichOneof("record_type") == "history":
                keys = {item.key or "/".join(item.nested_key) for item in record.history.item}
                if "learn_rate" in keys:
                    self.steps.add(int(record.history.step.num))
        return self.steps


def reader_main(name: str, info: dict[str, Any], poll_s: float, expected: int) -> None:
    """The reader process: poll storage, note when each step is first seen (time.time())."""
    ta.install_network_guard()
    read = make_reader(name, info)
    seen: dict[int, float] = {}
    poll_times: list[float] = []
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), done.set()), daemon=True).start()
    print("ready", flush=True)
    deadline: float | None = None
    while len(seen) < expected:
        t0 = time.time()
        try:
            steps = read()
        except Exception as exc:  # a reader racing the writer: count it, try again
            steps = set()
            info.setdefault("read_errors", []).append(repr(exc)[:200])
        now = time.time()
        poll_times.append(now - t0)
        for s in steps:
            seen.setdefault(s, now)
        if done.is_set() and deadline is None:
            deadline = now + 15.0  # after the writer's close, wait for the stragglers
        if deadline is not None and now > deadline:
            break
        time.sleep(poll_s)
    print(
        "BENCH_READER "
        + json.dumps(
            {
                "seen": seen,
                "poll_s_median": statistics.median(poll_times) if poll_times else None,
                "polls": len(poll_times),
                "read_errors": info.get("read_errors", [])[:3],
            }
        ),
        flush=True,
    )


# -- trainscope: the websocket ------------------------------------------------------------------
def trainscope_ws_reader(
    url: str, run_id: Any, seen: dict[int, float], ready: threading.Event, stop: threading.Event
) -> None:
    from websockets.asyncio.client import connect

    ws_url = url.replace("http://", "ws://") + f"/ws/runs/{run_id}"

    async def go() -> None:
        async with connect(ws_url, max_size=None) as ws:
            ready.set()
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
                except TimeoutError:
                    continue
                now = time.time()
                msg = json.loads(raw)
                if msg.get("type") != "points":
                    continue
                for p in msg["points"]:
                    values = p.get("values", p)
                    if "learn_rate" in values:
                        seen.setdefault(int(values["learn_rate"]), now)

    asyncio.run(go())


def writer_main(name: str, points: int, rate: float, poll_s: float, url: str | None) -> None:
    """The writer process (the training script): log at `rate`, then close."""
    ta.install_network_guard()
    tmp = Path(os.environ["BENCH_TMP"])
    ta.warm_import(name)
    tracker = ta.Tracker(name, tmp, "latency", url)
    info = {**tracker.info, "run_name": "latency"}
    reader: subprocess.Popen[str] | None = None
    seen: dict[int, float] = {}
    stop = threading.Event()
    ws_thread: threading.Thread | None = None
    if name.startswith("trainscope"):
        ready = threading.Event()
        ws_thread = threading.Thread(
            target=trainscope_ws_reader,
            args=(url, info["run_id"], seen, ready, stop),
            daemon=True,
        )
        ws_thread.start()
        if not ready.wait(30):
            raise SystemExit("websocket did not connect")
    else:
        reader = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--reader",
                name,
                "--info",
                json.dumps(info),
                "--poll-ms",
                str(poll_s * 1e3),
                "--points",
                str(points),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert reader.stdout is not None and reader.stdin is not None
        if reader.stdout.readline().strip() != "ready":
            raise SystemExit("reader did not start")
    log_times: dict[int, float] = {}
    start = time.perf_counter() + 0.2
    for i in range(points):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        v = float(i)
        log_times[i] = time.time()
        tracker.log3(i, v, v, v)
    logged_s = time.perf_counter() - start
    t0 = time.perf_counter()
    tracker.close()
    close_s = time.perf_counter() - t0
    extra: dict[str, Any] = {}
    if reader is not None:
        assert reader.stdout is not None and reader.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # the reader may have seen all and left
            reader.stdin.write("done\n")
            reader.stdin.flush()
        out, _ = reader.communicate(timeout=120)
        for line in out.splitlines():
            if line.startswith("BENCH_READER "):
                got = json.loads(line[len("BENCH_READER ") :])
                seen = {int(k): v for k, v in got.pop("seen").items()}
                extra = got
    else:
        deadline = time.time() + 15
        while len(seen) < points and time.time() < deadline:
            time.sleep(0.05)
        stop.set()
        if ws_thread is not None:
            ws_thread.join(5)
    lat = sorted(seen[i] - log_times[i] for i in log_times if i in seen)
    # Points made visible only by close() (written at finish, not while training).
    after_close = sum(1 for i in log_times if i in seen and seen[i] >= log_times[points - 1])
    result: dict[str, Any] = {
        "points_logged": points,
        "points_seen": len(lat),
        "logged_over_s": round(logged_s, 2),
        "close_s": round(close_s, 3),
        "seen_only_after_the_last_log": after_close,
        "blocked_connections": ta.blocked_connections,
        **extra,
    }
    if lat:
        q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99
        result.update(
            p50_ms=round(q[49] * 1e3, 1),
            p90_ms=round(q[89] * 1e3, 1),
            p99_ms=round(q[98] * 1e3, 1),
            max_ms=round(lat[-1] * 1e3, 1),
        )
    print("BENCH_RESULT " + json.dumps(result), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=300)
    parser.add_argument("--rate", type=float, default=50.0, help="points per second")
    parser.add_argument("--poll-ms", type=float, default=10.0, help="the storage readers' poll")
    parser.add_argument("--trackers", default=",".join(LATENCY_TRACKERS))
    parser.add_argument("--quick", action="store_true", help="--points 100")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--reader", help=argparse.SUPPRESS)
    parser.add_argument("--info", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    poll_s = args.poll_ms / 1e3
    if args.reader:
        reader_main(args.reader, json.loads(args.info), poll_s, args.points)
        return
    if args.child:
        writer_main(args.child, args.points, args.rate, poll_s, args.url)
        return
    if args.quick:
        args.points = 100
    names = tracker_names(args.trackers, LATENCY_TRACKERS)
    writer = ["--points", str(args.points), "--rate", str(args.rate)]
    writer += ["--poll-ms", str(args.poll_ms)]
    rows = measure_trackers(
        __file__, names, lambda name: list(writer), row_of=lambda name: {"ui": UI_REFRESH[name]}
    )
    for row in rows.values():
        period = row["ui"]["period_s"]
        if "p50_ms" in row and period is not None:
            row["drawable_best_p50_ms"] = row["p50_ms"]
            row["drawable_expected_p50_ms"] = round(row["p50_ms"] + period * 500, 1)
            row["drawable_worst_p99_ms"] = round(row["p99_ms"] + period * 1000, 1)

    setup = {
        "points": args.points,
        "rate_per_s": args.rate,
        "storage_poll_ms": args.poll_ms,
        "measured": "trainscope: log() → websocket receive; peers: log() → readable "
        "through the peer's reader API in another process",
        "quoted": "each peer UI's documented refresh period (ui.source)",
    }
    save_result("tracker_latency", setup, rows)

    print(
        f"log() → drawable — {args.points} points at {args.rate:g}/s; storage polled every "
        f"{args.poll_ms:g} ms; ms"
    )
    print(
        f"{'tracker':<22}{'measured p50':>13}{'p99':>9}{'seen':>9}"
        f"{'UI refresh (quoted)':>21}{'drawable, expected p50':>24}"
    )
    for name, row in rows.items():
        if "error" in row:
            print(f"{name:<22}{row['error']}")
            continue
        period = row["ui"]["period_s"]
        ui = "push" if period == 0 else ("none offline" if period is None else f"{period:g} s")
        expected = row.get("drawable_expected_p50_ms")
        print(
            f"{name:<22}{row.get('p50_ms', '—'):>13}{row.get('p99_ms', '—'):>9}"
            f"{row['points_seen']:>5}/{row['points_logged']:<3}{ui:>21}"
            f"{'—' if expected is None else f'{expected:,.0f}':>24}"
        )
    print("measured: log() → websocket (trainscope) / → readable in the peer's storage;")
    print("quoted: the UI's documented refresh; expected = measured + half the UI period")


if __name__ == "__main__":
    main()
