"""`trainscope submit`: send a spec to a server over REST, optionally follow it live.

Client side only: httpx and websockets, no torch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from trainscope.schemas.status import FINAL_STATUSES

FINAL = FINAL_STATUSES


class SubmitError(Exception):
    """The server could not be reached or refused the spec: one message for the user."""


def _headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def is_sweep(spec_path: Path) -> bool:
    """A sweep file has a `base` RunSpec and a `space`; anything else is sent as a run spec."""
    try:
        spec = json.loads(spec_path.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(spec, dict) and "base" in spec and "space" in spec


def submit(spec_path: Path, url: str, token: str | None) -> dict[str, Any]:
    """POST a run spec to /api/runs, or a sweep file to /api/sweeps; the created resource."""
    try:
        body = spec_path.read_bytes()
    except FileNotFoundError:
        raise SubmitError(f"{spec_path}: no such file") from None
    sweep = is_sweep(spec_path)
    if sweep:
        # The base's dataset may be a local file like a run's: upload it the same way.
        whole = json.loads(body)
        if isinstance(whole.get("base"), dict):
            base = json.dumps(whole["base"]).encode()
            whole["base"] = json.loads(_upload_local_data(base, spec_path, url, token))
        body = json.dumps(whole).encode()
    else:
        body = _upload_local_data(body, spec_path, url, token)
    return _create(url, f"/api/{'sweeps' if sweep else 'runs'}", body, token, str(spec_path))


def submit_entrypoint(
    name: str, args: dict[str, Any], url: str, token: str | None
) -> dict[str, Any]:
    """POST a run of a registered entry point with these option values; the run."""
    body = json.dumps({"entrypoint": name, "args": args}).encode()
    return _create(url, "/api/runs", body, token, f"entry point {name}")


def _create(url: str, path: str, body: bytes, token: str | None, what: str) -> dict[str, Any]:
    """POST `body` to `path`; the created resource, or SubmitError saying why not."""
    import httpx

    try:
        response = httpx.post(
            f"{url.rstrip('/')}{path}",
            content=body,
            headers={"Content-Type": "application/json", **_headers(token)},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        raise SubmitError(f"cannot reach {url}: {exc}") from None
    if response.status_code != 201:
        raise SubmitError(f"{what}: the server refused it ({_refusal(response)})")
    created: dict[str, Any] = response.json()
    return created


def _refusal(response: Any) -> str:
    """ "<status>: <the server's one-line message>"."""
    try:
        message = response.json().get("message") or response.text
    except ValueError:
        message = response.text
    return f"{response.status_code}: {message}"


def _upload_local_data(body: bytes, spec_path: Path, url: str, token: str | None) -> bytes:
    """A spec whose dataset is a file on this machine: upload the file (a server reads only
    uploaded data) and point the spec at the server's copy. Other specs go as they are."""
    import json

    import httpx

    try:
        spec = json.loads(body)
    except ValueError:
        return body  # the server says what is wrong with it
    dataset = spec.get("dataset") if isinstance(spec, dict) else None
    if not isinstance(dataset, dict) or dataset.get("name") != "file":
        return body
    path = dataset.get("path")
    if not isinstance(path, str) or path.startswith("uploads/"):
        return body
    local = Path(path).expanduser()
    if not local.is_absolute() and not local.exists():
        local = spec_path.parent / local  # relative to the spec file
    if not local.is_file():
        raise SubmitError(f"{spec_path}: dataset.path {path}: no such file on this machine")
    try:
        with local.open("rb") as data:
            response = httpx.post(
                f"{url.rstrip('/')}/api/datasets",
                params={"filename": local.name},
                content=data.read(),
                headers={"Content-Type": "application/octet-stream", **_headers(token)},
                timeout=300,
            )
    except httpx.HTTPError as exc:
        raise SubmitError(f"cannot upload {local} to {url}: {exc}") from None
    if response.status_code != 201:
        raise SubmitError(f"{local}: the server refused the upload ({_refusal(response)})")
    dataset["path"] = response.json()["path"]
    return json.dumps(spec).encode()


def _line(run: dict[str, Any], values: dict[str, Any], iteration: int, epoch: int) -> str:
    p = run.get("progress") or {}
    parts = [f"run {run['id']}", f"epoch {epoch}/{p.get('max_epochs') or '?'}"]
    parts.append(f"iter {iteration}/{p.get('max_iterations') or '?'}")
    for key, label in (
        ("train_loss", "loss"),
        ("train_accuracy", "acc"),
        ("val_accuracy", "val acc"),
        ("train_rmse", "rmse"),
        ("val_rmse", "val rmse"),
    ):
        v = values.get(key)
        if isinstance(v, (int, float)):
            parts.append(
                f"{label} {100 * v:.1f}%" if key.endswith("accuracy") else f"{label} {v:.4g}"
            )
        elif isinstance(v, str):
            parts.append(f"{label} {v}")
    return "  ".join(parts)


def follow(
    url: str, run: dict[str, Any], token: str | None, stream: TextIO = sys.stderr
) -> dict[str, Any]:
    """Print progress from the run's websocket until it ends; return the final run."""
    from websockets.exceptions import WebSocketException
    from websockets.sync.client import connect

    ws_url = url.rstrip("/").replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    ws_url = f"{ws_url}/ws/runs/{run['id']}"
    tty = stream.isatty()
    values: dict[str, Any] = {}
    iteration = epoch = 0
    try:
        with connect(ws_url, additional_headers=_headers(token), open_timeout=10) as ws:
            for raw in ws:
                msg = json.loads(raw)
                kind = msg.get("type")
                if kind in ("hello", "status"):
                    run = msg.get("run", run)
                    if run["status"] in FINAL:
                        break
                elif kind == "points":
                    for point in msg["points"]:
                        values.update(point["values"])
                        iteration, epoch = point["iteration"], point["epoch"]
                    if tty:
                        stream.write("\r" + _line(run, values, iteration, epoch) + "\033[K")
                        stream.flush()
                elif kind == "deleted":
                    raise SubmitError(f"run {run['id']} was deleted")
    except (OSError, WebSocketException) as exc:
        raise SubmitError(f"lost the stream of run {run['id']}: {exc}") from None
    if tty:
        stream.write("\n")
    stream.write(_line(run, values, iteration, epoch) + "\n")
    return run


def _trial_line(trial: dict[str, Any], metric: str) -> str:
    shown = " ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in trial["params"].items()
    )
    value = trial.get("value")
    status = trial["status"] + (" (early-stopped)" if trial.get("early_stopped") else "")
    parts = [f"trial {trial['index']}", f"run {trial['run_id']}", status, shown]
    if isinstance(value, (int, float)):
        parts.append(f"{metric} {value:.4g}")
    return "  ".join(parts)


def follow_sweep(
    url: str, sweep: dict[str, Any], token: str | None, stream: TextIO = sys.stderr
) -> dict[str, Any]:
    """Poll the sweep until it ends, printing one line per trial as it finishes and the best at
    the end; return the final sweep. Polling (every second) rather than a websocket per trial:
    a sweep's pace is its trials', and one request a second costs the server nothing."""
    import time

    import httpx

    seen: set[int] = set()
    where = f"{url.rstrip('/')}/api/sweeps/{sweep['id']}"
    while True:
        try:
            response = httpx.get(where, headers=_headers(token), timeout=30)
        except httpx.HTTPError as exc:
            raise SubmitError(f"lost sweep {sweep['id']}: {exc}") from None
        if response.status_code != 200:
            raise SubmitError(f"sweep {sweep['id']}: {_refusal(response)}")
        sweep = response.json()
        for trial in sweep["trials"]:
            if trial["index"] not in seen and trial["status"] in FINAL:
                seen.add(trial["index"])
                stream.write(_trial_line(trial, sweep["metric"]) + "\n")
                stream.flush()
        if sweep["status"] != "running":
            break
        time.sleep(1.0)
    best = sweep.get("best")
    if best is not None:
        stream.write(f"best: {_trial_line(best, sweep['metric'])}\n")
    return sweep
