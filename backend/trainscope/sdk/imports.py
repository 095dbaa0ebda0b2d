"""Runs brought in from files (TensorBoard logs, CSV): created and filled through the SDK's own
sinks, a server's REST API or the local store, with the points' own steps and wall times.

`trainscope import` (integrations/imports.py) reads the files; this module only writes. Each
imported run carries the tag `imported` and, in `info.client.import_source`, where it came from,
so that importing the same files again can find the run made the first time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trainscope.sdk.columns import Problems, Row
from trainscope.sdk.run import Run, _data_dir, _json_safe, _local_spec
from trainscope.sdk.sinks import LocalSink, ServerSink, Sink, client_info

IMPORT_TAG = "imported"
# Rows handed to the shipper at a time, each chunk delivered before the next: memory stays
# bounded and the shipper's buffer (twice this) never overflows, whatever the run's size.
CHUNK_ROWS = 50_000
CREATE_TIMEOUT_S = 30.0


class Unreachable(Exception):
    """The server (or the local store) cannot be read: one line saying why."""


def server_token(token: str | None) -> str | None:
    return token if token is not None else os.environ.get("TRAINSCOPE_API_TOKEN") or None


def imported_sources(
    url: str | None, token: str | None, dir: str | os.PathLike[str] | None
) -> dict[str, int]:
    """Where each run imported before came from → its id, on the server at `url` or in the
    local store of `dir` (default as `trainscope.init`'s). Raises `Unreachable`."""
    runs = _server_runs(url, server_token(token)) if url else _local_runs(_data_dir(dir))
    found: dict[str, int] = {}
    for run in runs:
        client = (run.get("info") or {}).get("client") or {}
        source = client.get("import_source")
        if isinstance(source, str):
            found.setdefault(source, int(run["id"]))
    return found


def _server_runs(url: str, token: str | None) -> list[dict[str, Any]]:
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    where = url.rstrip("/")
    try:
        response = httpx.get(
            f"{where}/api/runs",
            params={"tag": IMPORT_TAG, "limit": 5000},
            headers=headers,
            timeout=10.0,
        )
    except httpx.HTTPError as exc:
        raise Unreachable(f"cannot reach {where}: {exc}") from None
    if response.status_code in (401, 403):
        raise Unreachable(
            f"{where} refused the request ({response.status_code}): give its API token with "
            "--token or $TRAINSCOPE_API_TOKEN"
        )
    if response.status_code != 200:
        raise Unreachable(f"{where} answered {response.status_code}: {response.text[:200]}")
    try:
        runs: list[dict[str, Any]] = response.json()
    except ValueError:
        raise Unreachable(f"{where} is not a trainscope server (its answer is not JSON)") from None
    return runs


def _local_runs(data_dir: Path) -> list[dict[str, Any]]:
    from sqlalchemy.exc import SQLAlchemyError

    from trainscope.store import Store, sqlite_url

    try:
        # Called just before importing into it: creating an empty store here is no harm.
        data_dir.mkdir(parents=True, exist_ok=True)
        store = Store.open(sqlite_url(data_dir))
    except (OSError, SQLAlchemyError) as exc:
        raise Unreachable(f"cannot open the store in {data_dir}: {exc}") from None
    try:
        return [{"id": r.id, "info": r.info} for r in store.list_runs(tag=IMPORT_TAG, limit=None)]
    finally:
        store.close()


def record_run(
    name: str,
    config: dict[str, Any],
    rows: Sequence[Row],
    *,
    source: str,
    tags: Sequence[str],
    url: str | None,
    token: str | None,
    dir: str | os.PathLike[str] | None,
) -> int:
    """Create one completed run holding `rows` (step, epoch, wall_time, values) in order;
    its id. Raises `Unreachable` when the run could not be created or filled."""
    config_json = _json_safe(json.loads(json.dumps(config, default=str, allow_nan=True)))
    all_tags = [IMPORT_TAG, *(t for t in tags if t != IMPORT_TAG)]
    client = {**client_info(), "import_source": source}
    problems = Problems()
    sink: Sink
    if url:
        body = {"name": name, "config": config_json, "tags": all_tags, "client": client}
        sink = ServerSink(url, server_token(token), body, problems)
    else:
        spec, info = _local_spec(name, config_json, all_tags, None)
        info["client"] = client
        sink = LocalSink(_data_dir(dir), spec, info, problems)
    run = Run(
        sink,
        name=name,
        config=config,
        dashboard=url.rstrip("/") if url else None,
        flush_every_s=0.05,
        max_buffered=2 * CHUNK_ROWS,
        finish_timeout_s=CREATE_TIMEOUT_S,
    )
    shipper = run._shipper
    if not shipper.created.wait(CREATE_TIMEOUT_S) or shipper.fatal is not None:
        run.finish("failed", "import: the run could not be created", timeout=1.0)
        raise Unreachable(
            f"could not create the run on {sink.description}: {shipper.fatal or 'no answer'}"
        )
    for start in range(0, len(rows), CHUNK_ROWS):
        run._rows.extend(rows[start : start + CHUNK_ROWS])
        if not run.flush(timeout=None) or shipper.fatal is not None:
            break
    delivered = shipper.fatal is None and run.finish("completed")
    if not delivered or shipper.rejected:
        why = shipper.fatal or (
            f"{shipper.rejected:,} points were refused (said above)"
            if shipper.rejected
            else "the points were not all delivered"
        )
        raise Unreachable(
            f"run {run.id} on {sink.description} is incomplete: {why}; delete it before "
            "importing again"
        )
    assert run.id is not None
    return run.id
