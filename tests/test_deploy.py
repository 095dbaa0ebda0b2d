"""The container files do what docs/deploy.md says they do.

No Docker engine runs where these tests run, so nothing here builds an image or starts a
container. `docker-compose config` (Debian's `docker-compose` package, which needs no engine)
validates docker-compose.yml and resolves it the way `docker compose up` reads it; the
Dockerfile and .dockerignore are read and checked claim by claim; docker/entrypoint.sh is run
with a stand-in `ray` command.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from trainscope.config import Settings
from trainscope.web.security import OPEN_PATHS

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"

SERVE = ["trainscope", "serve", "--host", "0.0.0.0", "--port", "8000"]


# ---- docker-compose.yml, as `docker-compose config` resolves it ---------------------------


def docker_compose() -> str:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail(
            "docker-compose is not installed, so docker-compose.yml cannot be validated: "
            "apt-get install docker-compose (Debian's package; no Docker engine needed)"
        )
    return exe


def compose_config(tmp_path: Path, env_file: str = "", override: str = "") -> dict[str, Any]:
    """docker-compose.yml resolved with `env_file` as its .env (and nothing from this shell),
    and `override` as a second compose file when given."""
    dotenv = tmp_path / "compose.env"
    dotenv.write_text(env_file, encoding="utf-8")
    files = ["-f", str(COMPOSE_FILE)]
    if override:
        (tmp_path / "override.yml").write_text(override, encoding="utf-8")
        files += ["-f", str(tmp_path / "override.yml")]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRAINSCOPE_", "COMPOSE_"))}
    done = subprocess.run(
        [docker_compose(), "--env-file", str(dotenv), *files, "config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"docker-compose config rejects the file:\n{done.stderr}"
    config = yaml.safe_load(done.stdout)
    assert isinstance(config, dict)
    return config


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return compose_config(tmp_path_factory.mktemp("compose"))


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the list form, KEY=value
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path → source, for both the short (`src:dst:mode`) and the long form."""
    found: dict[str, str] = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume["source"], volume["target"]
        found[target] = source
    return found


def test_compose_file_validates_with_the_server_and_the_worker(compose: dict[str, Any]) -> None:
    assert {"api", "worker", "postgres"} <= set(compose["services"])
    api, worker = compose["services"]["api"], compose["services"]["worker"]
    # One image for both, built from this repository.
    assert api["image"] == worker["image"]
    assert Path(api["build"]["context"]).resolve() == ROOT


def test_api_publishes_port_8000_and_nothing_else(compose: dict[str, Any]) -> None:
    ports = compose["services"]["api"]["ports"]
    published = [(str(p["published"]), int(p["target"])) for p in ports]
    # Ray's ports (6379, 8265) have no authentication: they stay on the compose network.
    assert published == [("8000", 8000)]
    for name in ("worker", "postgres"):
        assert not compose["services"][name].get("ports"), f"{name} publishes ports"


def test_api_token_comes_from_the_host(compose: dict[str, Any], tmp_path: Path) -> None:
    assert environment(compose["services"]["api"])["TRAINSCOPE_API_TOKEN"] == ""
    with_token = compose_config(tmp_path, "TRAINSCOPE_API_TOKEN=s3cret-token\n")
    assert environment(with_token["services"]["api"])["TRAINSCOPE_API_TOKEN"] == "s3cret-token"


def test_data_lives_in_a_named_volume_shared_by_server_and_workers(
    compose: dict[str, Any],
) -> None:
    assert "trainscope-data" in compose["volumes"]
    for name in ("api", "worker"):
        # Workers write checkpoints and read uploads where the server reads and deletes them.
        assert mounts(compose["services"][name]).get("/data") == "trainscope-data", name


def test_workers_join_the_ray_head_the_api_container_starts(compose: dict[str, Any]) -> None:
    api, worker = compose["services"]["api"], compose["services"]["worker"]
    env = environment(api)
    assert env["TRAINSCOPE_EXECUTOR"] == "ray"
    assert env["TRAINSCOPE_RAY_HEAD"] == "1"  # docker/entrypoint.sh starts the head
    # `auto`: the node `ray start --head` started in the server's own container.
    assert env["TRAINSCOPE_RAY_ADDRESS"] == "auto"
    command = worker["command"]
    if isinstance(command, str):
        command = command.split()
    assert command[:2] == ["ray", "start"]
    assert "--block" in command
    assert f"--address=api:{env['RAY_HEAD_PORT']}" in command
    assert "api" in worker.get("depends_on", {})


def test_workers_reserve_the_nvidia_gpus(compose: dict[str, Any]) -> None:
    devices = compose["services"]["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert len(devices) == 1
    (gpus,) = devices
    assert gpus["driver"] == "nvidia"
    assert "gpu" in gpus["capabilities"]
    # docker-compose 1.x keeps "all"; Compose v2 writes it as -1.
    assert gpus["count"] in ("all", -1)
    # The server needs no GPU: the workers train.
    assert "deploy" not in compose["services"]["api"]


def test_worker_does_not_inherit_the_servers_health_check(compose: dict[str, Any]) -> None:
    check = compose["services"]["worker"]["healthcheck"]
    assert check.get("disable") is True or check.get("test") == ["NONE"]


def documented_teams_switch() -> str:
    """The .env lines docs/deploy.md gives for switching to PostgreSQL."""
    text = DEPLOY_DOC.read_text(encoding="utf-8")
    lines = [
        re.search(rf"^{name}=\S+$", text, re.MULTILINE)
        for name in ("COMPOSE_PROFILES", "TRAINSCOPE_DATABASE_URL")
    ]
    assert all(lines), "docs/deploy.md does not give the two .env lines of the teams switch"
    return "".join(f"{m.group(0)}\n" for m in lines if m)


def test_teams_profile_adds_postgres(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["profiles"] == ["teams"]
    assert postgres["image"] == "postgres:16"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert "trainscope-postgres" in compose["volumes"]
    assert mounts(postgres).get("/var/lib/postgresql/data") == "trainscope-postgres"
    # Without the switch the server keeps SQLite in /data.
    assert environment(compose["services"]["api"])["TRAINSCOPE_DATABASE_URL"] == ""


def test_the_documented_teams_switch_points_the_server_at_postgres(tmp_path: Path) -> None:
    dotenv = documented_teams_switch()
    assert "COMPOSE_PROFILES=teams\n" in dotenv
    config = compose_config(tmp_path, dotenv)
    url = environment(config["services"]["api"])["TRAINSCOPE_DATABASE_URL"]
    parts = urlsplit(url)
    pg = environment(config["services"]["postgres"])
    assert parts.scheme == "postgresql+psycopg"  # psycopg 3: the `postgres` extra
    assert (parts.hostname, parts.port) == ("postgres", 5432)
    assert (parts.username, parts.password) == (pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"])
    assert parts.path == f"/{pg['POSTGRES_DB']}"


def test_the_documented_multi_machine_override_validates(tmp_path: Path) -> None:
    text = DEPLOY_DOC.read_text(encoding="utf-8")
    block = re.search(r"^( *)```yaml\n(.*?)^\1```", text, re.MULTILINE | re.DOTALL)
    assert block, "docs/deploy.md has no docker-compose.override.yml for several machines"
    indent = len(block.group(1))
    override = "".join(line[indent:] + "\n" for line in block.group(2).splitlines())
    config = compose_config(tmp_path, override=override.replace("<head ip>", "10.0.0.1"))
    api, worker = config["services"]["api"], config["services"]["worker"]
    assert api["network_mode"] == worker["network_mode"] == "host"
    assert mounts(api)["/data"] == mounts(worker)["/data"] == "/mnt/trainscope"
    assert "--address=10.0.0.1:6379" in worker["command"]


# ---- the Dockerfile, read -----------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, rest = (pending + stripped).partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def only(instruction: str) -> str:
    found = [args for keyword, args in dockerfile() if keyword == instruction]
    assert len(found) == 1, f"expected one {instruction}, found {found}"
    return found[0]


def build_args() -> dict[str, str]:
    args: dict[str, str] = {}
    for keyword, rest in dockerfile():
        if keyword == "ARG":
            name, _, default = rest.partition("=")
            args[name] = default.strip('"')
    return args


CUDA_BASE = re.compile(r"--build-arg BASE=(pytorch/pytorch:\S*cuda\S*-runtime)")


def test_base_image_is_a_build_argument_cpu_by_default_cuda_documented() -> None:
    instructions = dockerfile()
    # ARG before FROM, so that FROM may use it.
    assert instructions[0] == ("ARG", "BASE=python:3.11-slim")
    assert only("FROM") in ("${BASE}", "$BASE")
    cuda = CUDA_BASE.search(DOCKERFILE.read_text(encoding="utf-8"))
    assert cuda, "the Dockerfile does not document the CUDA build command"
    # The compose file (for GPU boxes) and the deployment guide name the same CUDA base.
    compose_text = COMPOSE_FILE.read_text(encoding="utf-8")
    assert f":-{cuda.group(1)}}}" in compose_text
    assert f"--build-arg BASE={cuda.group(1)}" in DEPLOY_DOC.read_text(encoding="utf-8")


def optional_dependencies() -> set[str]:
    """The extras pyproject.toml declares (its [project.optional-dependencies] keys)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = re.search(
        r"^\[project\.optional-dependencies\]\n(.*?)(?=^\[)", text, re.MULTILINE | re.DOTALL
    )
    assert section
    return set(re.findall(r"^([A-Za-z0-9_-]+)\s*=", section.group(1), re.MULTILINE))


def test_installs_the_project_with_the_ray_and_postgres_extras() -> None:
    extras = build_args()["EXTRAS"].split(",")
    assert extras == ["ray", "postgres"]
    assert set(extras) <= optional_dependencies()
    installs = [
        args for keyword, args in dockerfile() if keyword == "RUN" and "pip install" in args
    ]
    assert any(".[$EXTRAS]" in run and 'pip install "$target"' in run for run in installs)
    # Not editable: the sources are removed after the install.
    assert not any("pip install -e" in run or "--editable" in run for run in installs)


def test_runs_as_a_non_root_user() -> None:
    users = [args for keyword, args in dockerfile() if keyword == "USER"]
    assert users, "no USER: the container would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_exposes_port_8000() -> None:
    assert only("EXPOSE").split() == ["8000"]


def test_data_directory_is_a_volume() -> None:
    env = " ".join(args for keyword, args in dockerfile() if keyword == "ENV")
    assert re.search(r"(^|\s)TRAINSCOPE_DATA_DIR=/data(\s|$)", env)
    assert json.loads(only("VOLUME")) == ["/data"]


def test_health_check_asks_api_health_without_curl() -> None:
    check = only("HEALTHCHECK")
    options, _, command = check.partition("CMD ")
    argv = json.loads(command)
    assert argv[:2] == ["python", "-c"]  # slim images have no curl
    assert "urllib.request" in argv[2]
    assert "http://127.0.0.1:8000/api/health" in argv[2]
    assert "--timeout=" in options
    # It needs no token, and the server bound to 0.0.0.0 answers Host: 127.0.0.1.
    assert "/api/health" in OPEN_PATHS
    host = SERVE[SERVE.index("--host") + 1]
    allowed = Settings(host=host, allowed_hosts=None).allowed_host_set()
    assert allowed is None or "127.0.0.1" in allowed


def test_entry_point_runs_trainscope_serve_on_all_interfaces_port_8000() -> None:
    entrypoint = json.loads(only("ENTRYPOINT"))
    assert json.loads(only("CMD")) == SERVE
    # The entry point is docker/entrypoint.sh, copied in; it ends by running the command.
    (script,) = entrypoint
    copies = [args.split() for keyword, args in dockerfile() if keyword == "COPY"]
    assert ["docker/entrypoint.sh", script] in copies
    assert ENTRYPOINT.read_text(encoding="utf-8").rstrip().endswith('exec "$@"')


def test_every_copied_path_exists() -> None:
    for keyword, args in dockerfile():
        if keyword == "COPY":
            *sources, _target = [a for a in args.split() if not a.startswith("--")]
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: no such path"


# ---- docker/entrypoint.sh, run with a stand-in `ray` ----------------------------------------


def run_entrypoint(tmp_path: Path, ray_exit: int = 0, **env: str) -> tuple[int, str, list[str]]:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    calls = tmp_path / "ray-calls"
    ray = bindir / "ray"
    ray.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{calls}"\nexit {ray_exit}\n')
    ray.chmod(0o755)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TRAINSCOPE_", "RAY_"))}
    done = subprocess.run(
        ["sh", str(ENTRYPOINT), "echo", "serving"],
        env={**base, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    args = calls.read_text().splitlines() if calls.exists() else []
    return done.returncode, done.stdout, args


def test_entrypoint_starts_a_ray_head_when_asked_then_runs_the_command(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    api_env = environment(compose["services"]["api"])
    rc, out, ray_args = run_entrypoint(
        tmp_path,
        TRAINSCOPE_RAY_HEAD=api_env["TRAINSCOPE_RAY_HEAD"],
        RAY_HEAD_PORT=api_env["RAY_HEAD_PORT"],
        RAY_START_ARGS="--node-manager-port=6380 --object-manager-port=6381",
    )
    assert (rc, out) == (0, "serving\n")
    assert ray_args == [
        "start",
        "--head",
        f"--port={api_env['RAY_HEAD_PORT']}",
        "--dashboard-host=0.0.0.0",
        "--node-manager-port=6380",
        "--object-manager-port=6381",
    ]


def test_entrypoint_without_a_head_just_runs_the_command(tmp_path: Path) -> None:
    assert run_entrypoint(tmp_path) == (0, "serving\n", [])


def test_entrypoint_stops_when_the_ray_head_fails(tmp_path: Path) -> None:
    rc, out, _ = run_entrypoint(tmp_path, ray_exit=1, TRAINSCOPE_RAY_HEAD="1")
    assert rc != 0
    assert out == ""  # the server never starts without its cluster


# ---- .dockerignore, matched as Docker matches it ------------------------------------------


def _pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex: `*` and `?` stay within one path segment, `**`
    crosses segments (moby/patternmatcher)."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.removeprefix("!").strip().strip("/").removeprefix("./")
        rules.append((negate, _pattern(pattern)))
    return rules


def ignored(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent directories
    decides; `!` lets it back in."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for negate, rx in rules:
        if any(rx.match(p) for p in prefixes):
            excluded = not negate
    return excluded


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".venv/lib/python3.11/site-packages/torch/__init__.py",
        ".ci-venv/bin/python",
        ".git/HEAD",
        "tests/e2e/artifacts/run-page.png",
        "backend/trainscope/__pycache__/cli.cpython-311.pyc",
        "frontend/js/__pycache__/x.pyc",
        "data/trainscope.db",
        ".mypy_cache/3.11/cache.db",
    ],
)
def test_dockerignore_keeps_environments_history_and_outputs_out(path: str) -> None:
    assert ignored(path, dockerignore_rules())


def test_dockerignore_lets_in_everything_the_dockerfile_copies() -> None:
    rules = dockerignore_rules()
    checked = 0
    for keyword, args in dockerfile():
        if keyword != "COPY":
            continue
        *sources, _target = [a for a in args.split() if not a.startswith("--")]
        for source in sources:
            top = ROOT / source
            files = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
            for file in files:
                rel = file.relative_to(ROOT).as_posix()
                if "__pycache__" in rel or ".egg-info" in rel:
                    continue
                assert not ignored(rel, rules), f"{rel} is copied but .dockerignore excludes it"
                checked += 1
    assert checked > 50  # the whole package and frontend, not a handful of files
