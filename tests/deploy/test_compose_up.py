"""`docker compose up` for real: the CPU stack of docker-compose.yml + docker-compose.cpu.yml.

One test, in the order a person deploys: build a Debian base image locally (no registry is
reachable here; reused when it exists), build the trainscope image from this tree on it, start
`api` and one `cpu-worker`, wait for the health check, submit a run over REST from outside the
containers, see it train on the worker's Ray node and complete with its points, see the
dashboard, restart `api` and find the run and its points in the volume, `down -v`. The time of
each step goes to tests/deploy/artifacts/timings.json (and the test's output).

Networking: the compose network, as on a user's box: the workers reach the Ray head as
`api:6379` and the test reaches the server only through the published port, so the test
checks the service names, the published port and Ray across containers that a user relies
on. Only the image build uses the host's network (the only way out to the package registries
here).

Needs a Docker engine (`.ci/run` installs docker.io and starts dockerd), Debian's
docker-compose and debootstrap; it fails, never skips, without them.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "docker" / "local"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
BASE_IMAGE = os.environ.get("TRAINSCOPE_BASE_IMAGE", "trainscope-base:bookworm")
IMAGE = "trainscope-deploytest"
PROJECT = "trainscope-deploytest"
FILES = ["-f", "docker-compose.yml", "-f", "docker-compose.cpu.yml"]

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(15 * 60)]


def tool(name: str, *prefer: str) -> str:
    for path in prefer:
        if os.access(path, os.X_OK):
            return path
    exe = shutil.which(name)
    if exe is None:
        pytest.fail(f"{name} is not installed: .ci/run installs it (apt-get install {name})")
    return exe


# The engine's own client (docker.io's /usr/bin/docker) builds with BuildKit by itself; a newer
# static client elsewhere on PATH would need the buildx plugin for that.
DOCKER = tool("docker", "/usr/bin/docker")
COMPOSE = tool("docker-compose")


def sh(*argv: str, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    done = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, (
        f"{' '.join(argv)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    return done.stdout


def pip_setting(name: str) -> str:
    done = subprocess.run(
        ["python", "-m", "pip", "config", "get", f"global.{name}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else ""


def stage_local_inputs() -> None:
    """docker/local/: this machine's CA bundle (the registries are reached through a proxy
    that signs with it) and its torch CPU wheel for the base's Python 3.11 (the CPU index
    does not hold it; PyPI's torch is the CUDA build)."""
    cert = os.environ.get("PIP_CERT") or pip_setting("cert") or "/etc/ssl/certs/ca-certificates.crt"
    shutil.copyfile(cert, LOCAL / "ca-certificates.crt")
    dirs = os.environ.get("TRAINSCOPE_TORCH_WHEEL_DIR") or pip_setting("find-links")
    wheels = sorted(
        w
        for d in dirs.split()
        for w in Path(d.removeprefix("file://")).glob("torch-*+cpu-cp311-*.whl")
    )
    assert wheels, f"no torch CPU wheel for Python 3.11 in {dirs!r} (TRAINSCOPE_TORCH_WHEEL_DIR)"
    for old in LOCAL.glob("torch-*.whl"):
        if old.name != wheels[-1].name:
            old.unlink()
    target = LOCAL / wheels[-1].name
    if not target.exists():
        try:
            os.link(wheels[-1], target)
        except OSError:
            shutil.copyfile(wheels[-1], target)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    def __init__(self) -> None:
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.env = {
            **{
                k: v for k, v in os.environ.items() if not k.startswith(("TRAINSCOPE_", "COMPOSE_"))
            },
            "TRAINSCOPE_IMAGE": IMAGE,
            "TRAINSCOPE_BASE_IMAGE": BASE_IMAGE,
            "TRAINSCOPE_PORT": str(self.port),
            "TRAINSCOPE_API_TOKEN": self.token,
            "DOCKER_BUILDKIT": "1",
        }
        self.timings: dict[str, float] = {}

    def compose(self, *args: str, timeout: float = 300) -> str:
        return sh(COMPOSE, "-p", PROJECT, *FILES, *args, env=self.env, timeout=timeout)

    def container(self, service: str) -> str:
        return self.compose("ps", "-q", service).strip()

    def health(self) -> str:
        return sh(
            DOCKER, "inspect", "--format", "{{.State.Health.Status}}", self.container("api")
        ).strip()

    def wait_healthy(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while (status := self.health()) != "healthy":
            assert time.monotonic() < deadline, (
                f"api is {status}:\n{self.compose('logs', '--tail=60')}"
            )
            time.sleep(2)

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )

    def timed(self, step: str, started: float) -> None:
        self.timings[step] = round(time.monotonic() - started, 1)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    stack = Stack()
    try:
        yield stack
    finally:
        # Whatever happened, leave no containers, network or volume of this project behind.
        subprocess.run(
            [COMPOSE, "-p", PROJECT, *FILES, "down", "-v", "--remove-orphans"],
            cwd=ROOT,
            env=stack.env,
            capture_output=True,
            timeout=300,
            check=False,
        )
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "timings.json").write_text(json.dumps(stack.timings, indent=2) + "\n")
        print(f"\ndocker compose steps (s): {stack.timings}")


def task_and_worker_nodes(stack: Stack, run_id: int) -> tuple[list[str], str]:
    """(the nodes Ray's state API saw the run's task on, the cpu-worker container's node)."""
    code = (
        "import json, ray\n"
        "from ray.util.state import list_tasks\n"
        "ray.init(address='auto')\n"
        f"tasks = list_tasks(filters=[('name', '=', 'trainscope-run-{run_id}')])\n"
        "print(json.dumps([[t.node_id for t in tasks],"
        " ray.get_runtime_context().get_node_id()]))\n"
    )
    out = stack.compose("exec", "-T", "cpu-worker", "python", "-c", code, timeout=120)
    tasks, here = json.loads(out.strip().splitlines()[-1])
    return list(tasks), str(here)


def points(api: httpx.Client, run_id: int) -> dict[str, Any]:
    r = api.get(f"/api/runs/{run_id}/metrics")
    assert r.status_code == 200, r.text
    cols: dict[str, Any] = r.json()
    return cols


def test_compose_up_trains_on_the_worker_and_survives_an_api_restart(stack: Stack) -> None:
    t = time.monotonic()
    sh("sh", "tests/deploy/base_image.sh", BASE_IMAGE, timeout=900)
    stack.timed("base_image", t)

    t = time.monotonic()
    stage_local_inputs()
    # The same build arguments docker-compose.cpu.yml gives; the host's network, the only way
    # to the registries here. (Compose v1 builds without BuildKit, which the Dockerfile needs.)
    sh(
        DOCKER,
        "build",
        "--network",
        "host",
        "--build-arg",
        f"BASE={BASE_IMAGE}",
        "-t",
        IMAGE,
        ".",
        env=stack.env,
        timeout=900,
    )
    stack.timed("build", t)

    t = time.monotonic()
    stack.compose("up", "-d", "--no-build")
    stack.wait_healthy()
    with stack.api() as api:
        deadline = time.monotonic() + 120
        while len(api.get("/api/catalog").json()["devices"]) < 2:  # the head and the worker
            assert time.monotonic() < deadline, api.get("/api/catalog").json()
            time.sleep(1)
        assert api.get("/api/health").json()["status"] == "ok"
    stack.timed("up", t)

    t = time.monotonic()
    with stack.api() as api:
        r = api.post(
            "/api/runs",
            json={
                "name": "compose",
                "dataset": {"name": "spirals", "num_samples": 600},
                "model": {"preset": "mlp"},
                "options": {
                    "max_epochs": 5,
                    "mini_batch_size": 16,
                    "validation_frequency": 10,
                    "execution_environment": "cpu",
                },
            },
        )
        assert r.status_code == 201, r.text
        run_id = r.json()["id"]
        deadline = time.monotonic() + 300
        while (run := api.get(f"/api/runs/{run_id}").json())["status"] not in (
            "completed",
            "failed",
            "interrupted",
            "stopped",
        ):
            assert time.monotonic() < deadline, run
            time.sleep(1)
        assert run["status"] == "completed", run
        assert run["finish_reason"] == "max-epochs"
        before = points(api, run_id)
        # 600 samples (384 for training) in mini-batches of 16: 24 iterations per epoch.
        assert max(before["iteration"]) == 24 * 5
        assert before["seq"] == list(range(1, len(before["seq"]) + 1))
        assert "test_accuracy" in run["latest"]
        page = api.get("/")
        assert page.status_code == 200 and "<title>trainscope</title>" in page.text
    # Trained on the worker's Ray node, in the other container (the head offers no CPUs in the
    # CPU override), as Ray's own task table says.
    task_nodes, worker_node = task_and_worker_nodes(stack, run_id)
    assert task_nodes == [worker_node]
    stack.timed("train", t)

    t = time.monotonic()
    stack.compose("restart", "api")
    stack.wait_healthy()
    with stack.api() as api:
        again = api.get(f"/api/runs/{run_id}").json()
        assert again["status"] == "completed" and again["last_seq"] == run["last_seq"]
        assert points(api, run_id) == before
    stack.timed("restart", t)

    t = time.monotonic()
    stack.compose("down", "-v")
    left = sh(DOCKER, "ps", "-aq", "--filter", f"label=com.docker.compose.project={PROJECT}")
    volumes = sh(
        DOCKER, "volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}"
    )
    assert left.strip() == "" and volumes.strip() == ""
    stack.timed("down", t)
