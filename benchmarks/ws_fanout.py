"""Websocket fan-out: many clients on one run, against a real `trainscope serve`.

A real server on a free port with two local workers (one torch thread each, as with
TRAINSCOPE_MAX_RUNS=2 on two cores). Two blocker runs hold the workers while the watched run
waits in the queue and `--clients` websocket clients (200) connect to it; once all have had
their hello the blockers are stopped, so every point of the watched run reaches every client
live. Measured:

- latency of a point = its arrival at a client − its `wall_time`, taken in the worker when the
  values were computed (same machine, same clock), over every (client, point);
- exactly once: how many clients got every stored point (REST) once, in order, and no resync;
- CPU: the server process's CPU time over the run, the worker's (training), and this process's
  (the clients: decoding 200 copies of every frame shares the same cores as the server), and
  how late this process's event loop wakes (a lag the clients add to every latency measured).

    python benchmarks/ws_fanout.py [--clients 200] [--epochs 60]

No goal of its own; issue 3's stream goals (p50 ≤ 30 ms, p99 ≤ 100 ms, with 30 clients) are
shown for reference.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

# The same server and run shape as the stream latency benchmark (run from benchmarks/ or the root).
sys.path.insert(0, str(Path(__file__).parent))
from stream_latency import FINAL, free_port, spec, start_server

RESULTS = Path(__file__).parent / "results"
TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process, from /proc (fields 14 and 15 of stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_S


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                out.append(int(entry.name))
    return out


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Client:
    seqs: list[int] = field(default_factory=list)
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (wall_time, latency)
    resyncs: int = 0
    final: str | None = None


async def watch(url: str, client: Client, hellos: asyncio.Queue[None]) -> None:
    async with connect(url, max_size=None, open_timeout=120) as ws:
        async for raw in ws:
            now = time.time()
            msg = json.loads(raw)
            kind = msg["type"]
            if kind == "points":
                for p in msg["points"]:
                    client.seqs.append(p["seq"])
                    client.latencies.append((p["wall_time"], now - p["wall_time"]))
            elif kind == "hello":
                hellos.put_nowait(None)
            elif kind == "resync":
                client.resyncs += 1
            elif kind == "status" and msg["status"] in FINAL:
                client.final = msg["status"]
                return


async def loop_lag(lags: list[float], done: asyncio.Event) -> None:
    """How late this process's event loop wakes up: latency it adds to every measurement."""
    while not done.is_set():
        t = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append(time.perf_counter() - t - 0.01)


async def measure(base: str, ws_base: str, n_clients: int, epochs: int, pid: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as api:
        blockers = [(await api.post("/api/runs", json=spec(100_000))).json() for _ in "ab"]
        for blocker in blockers:
            while (await api.get(f"/api/runs/{blocker['id']}")).json()["status"] != "running":
                await asyncio.sleep(0.05)
        run = (await api.post("/api/runs", json=spec(epochs, "fanout"))).json()
        clients = [Client() for _ in range(n_clients)]
        hellos: asyncio.Queue[None] = asyncio.Queue()
        connect_began = time.perf_counter()
        tasks = [
            asyncio.create_task(watch(f"{ws_base}/ws/runs/{run['id']}", c, hellos)) for c in clients
        ]
        for _ in clients:
            await hellos.get()
        connect_s = time.perf_counter() - connect_began
        queued = (await api.get(f"/api/runs/{run['id']}")).json()["status"] == "queued"

        workers = children(pid)
        began = time.perf_counter()
        cpu0 = (cpu_seconds(pid), sum(cpu_seconds(w) for w in workers), own_cpu_seconds())
        for blocker in blockers:
            await api.post(f"/api/runs/{blocker['id']}/stop")
        lags: list[float] = []
        done = asyncio.Event()
        lag_task = asyncio.create_task(loop_lag(lags, done))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - began
        done.set()
        await lag_task
        cpu1 = (cpu_seconds(pid), sum(cpu_seconds(w) for w in workers), own_cpu_seconds())

        final = (await api.get(f"/api/runs/{run['id']}")).json()
        cols = (await api.get(f"/api/runs/{run['id']}/metrics")).json()
    stored: list[int] = cols["seq"]
    started = final["started_at"] or 0.0
    samples = sorted(lat for c in clients for _, lat in c.latencies)
    # Steady state: points computed after the run's first second (workers warm, frames paced).
    steady = sorted(lat for c in clients for wall, lat in c.latencies if wall > started + 1.0)
    exactly_once = sum(c.seqs == stored and c.resyncs == 0 for c in clients)

    def pct(xs: list[float], p: int) -> float:
        return round(statistics.quantiles(xs, n=100)[p - 1] * 1e3, 2)

    def share(cpu: float) -> float:
        return round(100 * cpu / elapsed, 1)

    return {
        "clients": n_clients,
        "run_status": final["status"],
        "all_live": queued,  # every client was in before the run's first point
        "connect_all_s": round(connect_s, 2),
        "points": len(stored),
        "stream_s": round(elapsed, 2),
        "points_per_s": round(len(stored) / elapsed, 1),
        "deliveries": len(samples),
        "clients_exactly_once": exactly_once,
        "resyncs": sum(c.resyncs for c in clients),
        "p50_ms": pct(samples, 50),
        "p90_ms": pct(samples, 90),
        "p99_ms": pct(samples, 99),
        "max_ms": round(samples[-1] * 1e3, 2),
        "steady_p50_ms": pct(steady, 50),
        "steady_p99_ms": pct(steady, 99),
        "clients_loop_lag_p50_ms": pct(sorted(lags), 50),
        "clients_loop_lag_p99_ms": pct(sorted(lags), 99),
        "server_cpu_s": round(cpu1[0] - cpu0[0], 2),
        "server_cpu_pct_of_one_core": share(cpu1[0] - cpu0[0]),
        "worker_cpu_pct_of_one_core": share(cpu1[1] - cpu0[1]),
        "clients_cpu_pct_of_one_core": share(cpu1[2] - cpu0[2]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args()

    port = free_port()
    base, ws_base = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        proc = start_server(Path(tmp), port)
        try:
            fanout = asyncio.run(measure(base, ws_base, args.clients, args.epochs, proc.pid))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)

    result = {
        "benchmark": "ws_fanout",
        "date": time.strftime("%Y-%m-%d"),
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "fanout": fanout,
        "reference_goals_30_clients": {"p50_ms": 30, "p99_ms": 100},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ws_fanout.json").write_text(json.dumps(result, indent=2) + "\n")
    f, n = fanout, fanout["clients"]
    live = "all live" if f["all_live"] else "NOT all live"
    print(f"websocket fan-out — real server, 1 run, {n} clients, {live}")
    print(f"{'measure':<46}{'value':>12}{'ref. goal':>12}")
    for name, value, goal in [
        ("points in the run", f["points"], ""),
        ("deliveries measured (clients × points)", f["deliveries"], ""),
        ("clients with every point exactly once", f"{f['clients_exactly_once']}/{n}", ""),
        ("resyncs", f["resyncs"], ""),
        ("all clients connected, s", f["connect_all_s"], ""),
        ("stream duration, s", f["stream_s"], ""),
        ("latency p50, ms", f["p50_ms"], "≤ 30"),
        ("latency p90, ms", f["p90_ms"], ""),
        ("latency p99, ms", f["p99_ms"], "≤ 100"),
        ("latency max, ms", f["max_ms"], ""),
        ("steady state (after the first second) p50, ms", f["steady_p50_ms"], ""),
        ("steady state p99, ms", f["steady_p99_ms"], ""),
        ("clients' event loop lag p50, ms", f["clients_loop_lag_p50_ms"], ""),
        ("clients' event loop lag p99, ms", f["clients_loop_lag_p99_ms"], ""),
        ("server CPU, % of one core", f["server_cpu_pct_of_one_core"], ""),
        ("worker CPU (training), % of one core", f["worker_cpu_pct_of_one_core"], ""),
        ("clients (this process) CPU, % of one core", f["clients_cpu_pct_of_one_core"], ""),
    ]:
        print(f"{name:<46}{value!s:>12}{goal:>12}")


if __name__ == "__main__":
    main()
