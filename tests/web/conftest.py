"""Two servers for the web tests. `server`: a real `trainscope serve` on a free port, with real
spawned workers and a real SQLite file (tests marked slow). `app` (tests/conftest.py): the same
app in this process on a scripted executor (tests/web/in_process.py), for REST and websocket
behaviour that no real process is needed to show (the fast tier)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from ..support import console_script
from .in_process import InProcessSocket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    data_dir: Path
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    # More `trainscope serve` arguments, e.g. ["--entrypoint", "toy=path/to/train.py"].
    args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, wait_workers: bool = True) -> Server:
        env = {**os.environ, "TRAINSCOPE_MAX_RUNS": "2", **self.env}
        self.proc = subprocess.Popen(
            [
                console_script(),
                "serve",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                *self.args,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.data_dir / "server.log", "ab"),  # noqa: SIM115
        )
        # Generous: warming a worker (importing torch) takes ~5 s alone, far longer on a CI
        # machine whose two cores other servers and browsers are using.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.data_dir / "server.log").read_text()
            try:
                health = httpx.get(f"{self.url}/api/health", timeout=1).json()
                if not wait_workers or health["workers"]["ready"]:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(
            "server did not come up: " + (self.data_dir / "server.log").read_text()
        )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def ws(self, path: str) -> ClientConnection:
        return connect(f"{self.ws_url}{path}", open_timeout=10, max_size=None)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("server")).start()
    yield srv
    srv.stop()


def spec(**options: Any) -> dict[str, Any]:
    """A small real run: spirals, an MLP, a few hundred iterations in a couple of seconds."""
    return {
        "name": "spirals",
        "dataset": {"name": "spirals", "num_samples": 600},
        "model": {"preset": "mlp"},
        "options": {
            "max_epochs": 5,
            "mini_batch_size": 16,
            "validation_frequency": 10,
            "execution_environment": "cpu",
            **options,
        },
    }


def collect_until_end(
    ws: ClientConnection | InProcessSocket, timeout: float = 120
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """(hello, points, other messages) until a final status arrives."""
    hello: dict[str, Any] = {}
    points: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    final = ("completed", "stopped", "diverged", "failed", "interrupted")
    while time.monotonic() < deadline:
        msg = json.loads(ws.recv(timeout=deadline - time.monotonic()))
        if msg["type"] == "hello":
            hello = msg  # a finished run's backlog follows, then its final status
        elif msg["type"] == "points":
            points.extend(msg["points"])
        else:
            others.append(msg)
            if msg["type"] == "status" and msg["status"] in final:
                break
    return hello, points, others


def rest_points(client: httpx.Client, run_id: int, after_seq: int = 0) -> list[dict[str, Any]]:
    cols = client.get(f"/api/runs/{run_id}/metrics", params={"after_seq": after_seq}).json()
    return [
        {
            "seq": s,
            "iteration": cols["iteration"][i],
            "epoch": cols["epoch"][i],
            "wall_time": cols["wall_time"][i],
            "values": {k: v[i] for k, v in cols["values"].items() if v[i] is not None},
        }
        for i, s in enumerate(cols["seq"])
    ]


def wait_status(
    client: httpx.Client, run_id: int, statuses: tuple[str, ...], timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run: dict[str, Any] = client.get(f"/api/runs/{run_id}").json()
        if run["status"] in statuses:
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} never reached {statuses}: {run}")


def put_findings_as_the_doctor(
    client: httpx.Client | None, server: Server, run_id: int, found: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Store `found` as the run's findings, as the server's doctor would, once the doctor's own
    last word on the (ended) run has landed; returns the findings as the API then serves them.
    For tests of what the API and the browser do with a finding whatever curve earns it."""
    from trainscope.data_layout import DATABASE_FILE
    from trainscope.store import Store

    api = client or httpx.Client(base_url=server.url, timeout=30)
    url = f"/api/runs/{run_id}/findings"
    api.get(url, params={"refresh": True})
    store = Store.open(f"sqlite:///{server.data_dir / DATABASE_FILE}")
    try:
        for _ in range(40):
            store.put_findings(run_id, found)
            time.sleep(0.25)
            served: list[dict[str, Any]] = api.get(url).json()
            if [f["code"] for f in served] == [f["code"] for f in found]:
                return served
    finally:
        store.close()
        if client is None:
            api.close()
    raise AssertionError(f"the doctor kept replacing the findings of run {run_id}: {served}")


def plateau_finding(iteration: int) -> dict[str, Any]:
    """A plateau as the doctor words one, with its restart patch (learn rate ÷10)."""
    return {
        "code": "plateau",
        "severity": "warning",
        "iteration": iteration,
        "message": "The training loss has not improved for 40 % of the run.",
        "evidence": {},
        "patch": {"options": {"initial_learn_rate": 0.001}},
        "fix": "Restart with initial_learn_rate 0.001 (÷10)",
    }
