"""Where the shipper puts a run's points: a trainscope server over REST, or the local store.

Each sink turns a batch of rows into a payload once (`encode`); a payload that could not be
delivered is sent again as it is, so a retry costs no re-encoding and can never differ from the
first attempt. Errors say what the shipper should do: `Transient` (retry with backoff, nothing
dropped), `Rejected` (this payload can never be accepted: drop it, say why, carry on), `Fatal`
(the run is gone or we may not write to it: stop shipping).
"""

from __future__ import annotations

import json
import os
import platform
import socket
import sys
from pathlib import Path
from typing import Any, Protocol

from trainscope.sdk.columns import (
    Problems,
    Row,
    dense,
    json_column,
    to_columns,
    with_canonical_names,
)
from trainscope.version import __version__

# A request carries at most this many points (~120 bytes each as JSON): far under the server's
# default 1 MB body limit. A server with a smaller limit answers 413 and the batch is halved.
MAX_POINTS_PER_REQUEST = 2_000
CONNECT_TIMEOUT_S = 5.0
REQUEST_TIMEOUT_S = 30.0


class Transient(Exception):
    """Try again later (network error, 5xx, 429); `retry_after_s` when the server said."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Rejected(Exception):
    """This payload will never be accepted (422, 413 for one point)."""


class Fatal(Exception):
    """The run cannot take points any more (deleted, ended, wrong token)."""


class Payload(Protocol):
    points: int
    first_seq: int


class Sink(Protocol):
    description: str

    def create(self) -> int: ...

    def encode(self, first_seq: int, rows: list[Row]) -> list[Any]: ...

    def send(self, payload: Any) -> bool: ...

    def heartbeat(self) -> bool: ...

    def update_config(self, config: dict[str, Any]) -> None: ...

    def finish(self, status: str, message: str | None, summary: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


def client_info() -> dict[str, str | int | float | None]:
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "python": platform.python_version(),
        "sdk": __version__,
    }


class Body:
    """One request's JSON, with the rows it holds (kept only to split it on a 413)."""

    __slots__ = ("body", "first_seq", "points", "rows")

    def __init__(self, first_seq: int, rows: list[Row], body: bytes) -> None:
        self.first_seq = first_seq
        self.rows = rows
        self.points = len(rows)
        self.body = body


class ServerSink:
    def __init__(
        self, url: str, token: str | None, create_body: dict[str, Any], problems: Problems
    ) -> None:
        import httpx  # here, not at import: `import trainscope` stays instant

        self.url = url.rstrip("/")
        self.description = self.url
        self._create_body = create_body
        self._problems = problems
        headers = {"Content-Type": "application/json", "User-Agent": "trainscope-sdk"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        # One keep-alive connection for the run's whole life.
        self._client = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=httpx.Timeout(REQUEST_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
        )
        self.run_id = 0

    def create(self) -> int:
        answer = self._post("/api/runs/external", json.dumps(self._create_body).encode())
        self.run_id = int(answer["id"])
        return self.run_id

    def encode(self, first_seq: int, rows: list[Row]) -> list[Any]:
        """Bodies of at most MAX_POINTS_PER_REQUEST points, seqs from `first_seq` on. Rows left
        with no value (every one not a number) are dropped before seqs are given out, so the
        seqs have no gaps."""
        steps, epochs, times, values, empty = to_columns(rows, self._problems)
        if empty:
            drop = set(empty)
            rows = [r for i, r in enumerate(rows) if i not in drop]
            steps, epochs, times, values, _ = to_columns(rows, self._problems)
        values = with_canonical_names(values)
        out: list[Any] = []
        for start in range(0, len(rows), MAX_POINTS_PER_REQUEST):
            end = start + MAX_POINTS_PER_REQUEST
            doc: dict[str, Any] = {
                "seq": list(range(first_seq + start, first_seq + min(end, len(rows)))),
                "iteration": steps[start:end],
                "wall_time": times[start:end],
                "values": {k: json_column(v[start:end]) for k, v in values.items()},
            }
            if any(epochs[start:end]):
                doc["epoch"] = epochs[start:end]
            body = json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()
            out.append(Body(first_seq + start, rows[start:end], body))
        return out

    def send(self, payload: Any) -> bool:
        assert isinstance(payload, Body)
        try:
            answer = self._post(f"/api/runs/{self.run_id}/points", payload.body)
        except _TooLarge:
            if payload.points <= 1:
                raise Rejected("one point is larger than the server's body limit") from None
            half = payload.points // 2
            a = self.encode(payload.first_seq, payload.rows[:half])
            b = self.encode(payload.first_seq + half, payload.rows[half:])
            return any([self.send(p) for p in (*a, *b)])
        return bool(answer.get("stop"))

    def heartbeat(self) -> bool:
        empty = b'{"seq":[],"iteration":[],"wall_time":[],"values":{}}'
        answer = self._post(f"/api/runs/{self.run_id}/points", empty)
        return bool(answer.get("stop"))

    def update_config(self, config: dict[str, Any]) -> None:
        self._post(f"/api/runs/{self.run_id}/config", json.dumps({"config": config}).encode())

    def finish(self, status: str, message: str | None, summary: dict[str, Any]) -> None:
        doc: dict[str, Any] = {"status": status, "message": message}
        if summary:
            doc["summary"] = summary
        try:
            try:
                self._post(f"/api/runs/{self.run_id}/finish", json.dumps(doc).encode())
            except Rejected as exc:
                if "summary" not in doc:
                    raise
                # A summary the server will never take (too many names, a name too long)
                # must not keep the run from ending: end it without, and say so.
                print(
                    f"trainscope: the run's summary was refused ({exc}); ending it without",
                    file=sys.stderr,
                )
                del doc["summary"]
                self._post(f"/api/runs/{self.run_id}/finish", json.dumps(doc).encode())
        except Fatal as exc:
            if "already ended" not in str(exc):
                raise

    def close(self) -> None:
        self._client.close()

    def _post(self, path: str, body: bytes) -> dict[str, Any]:
        import httpx

        try:
            response = self._client.post(path, content=body)
        except httpx.HTTPError as exc:  # connect refused, reset, timed out: all worth a retry
            raise Transient(f"{type(exc).__name__}: {exc}") from None
        code = response.status_code
        if code < 300:
            answer: dict[str, Any] = response.json()
            return answer
        message = _message(response)
        if code == 413:
            raise _TooLarge(message)
        if code == 429 or code >= 500:
            retry_after = response.headers.get("retry-after")
            wait = float(retry_after) if retry_after and retry_after.isdigit() else None
            raise Transient(f"{code}: {message}", wait)
        if code in (401, 403, 404, 409):
            raise Fatal(f"{code}: {message}")
        raise Rejected(f"{code}: {message}")


class _TooLarge(Exception):
    pass


def _message(response: Any) -> str:
    try:
        return str(response.json().get("message") or response.text)
    except ValueError:
        return str(response.text[:300])


class LocalPayload:
    __slots__ = ("events", "first_seq", "points")

    def __init__(self, first_seq: int, events: list[Any]) -> None:
        self.first_seq = first_seq
        self.events = events
        self.points = len(events)


class LocalSink:
    """Writes into the store of a data directory (SQLite, like `trainscope serve` uses): a
    server started on the same directory shows the run, and asking it to stop the run there
    reaches this script too (read back with every batch). Not live over websockets: those
    are fed by the server's own process."""

    def __init__(
        self, data_dir: Path, spec: dict[str, Any], info: dict[str, Any], problems: Problems
    ) -> None:
        from trainscope.store import Store, sqlite_url  # sqlalchemy, numpy: only in local mode

        data_dir.mkdir(parents=True, exist_ok=True)
        self.description = str(data_dir)
        self._store = Store.open(sqlite_url(data_dir))
        # Recorded as its run's owner, with a heartbeat: a server starting on this directory
        # meanwhile leaves the run alone while this script lives (store/owners.py).
        self._store.register_owner("sdk", data_dir=str(data_dir))
        self._spec = spec
        self._info = info
        self._problems = problems
        self.run_id = 0

    def create(self) -> int:
        import time

        run = self._store.create_run(
            self._spec,
            name=self._spec.get("name"),
            parent_id=None,
            group=self._spec.get("group"),
            tags=list(self._spec.get("tags") or []),
            status="running",
            info=self._info,
            started_at=time.time(),
        )
        self.run_id = run.id
        return run.id

    def encode(self, first_seq: int, rows: list[Row]) -> list[Any]:
        from trainscope.schemas.events import Point

        steps, epochs, times, logged, empty = to_columns(rows, self._problems)
        values = with_canonical_names(logged)
        if values is logged and all(map(dense, values.values())) and not empty:
            # Every value a float already: the logged dicts (copied in log()) go in as they are.
            dicts = [r[3] for r in rows]
        else:
            names = list(values)
            dicts = [
                {k: v for k, v in zip(names, row, strict=True) if v is not None}
                for row in zip(*values.values(), strict=True)
            ]
        kept = [i for i, d in enumerate(dicts) if d] if empty else range(len(dicts))
        events = [
            Point(first_seq + n, steps[i], epochs[i], times[i], dicts[i])
            for n, i in enumerate(kept)
        ]
        return [LocalPayload(first_seq, events)] if events else []

    def send(self, payload: Any) -> bool:
        assert isinstance(payload, LocalPayload)
        self._write([(self.run_id, p) for p in payload.events])
        return self.heartbeat()

    def heartbeat(self) -> bool:
        run = self._store.get_run(self.run_id)
        if run is None:
            raise Fatal(f"run {self.run_id} was deleted from {self.description}")
        if run.status == "interrupted":  # a server started on the directory meanwhile
            self._store.update_run(self.run_id, status="running", message=None, ended_at=None)
        return bool(run.info.get("stop_requested"))

    def update_config(self, config: dict[str, Any]) -> None:
        from sqlalchemy.exc import OperationalError

        from trainscope.schemas.external import with_config

        run = self._store.get_run(self.run_id)
        if run is None:
            raise Fatal(f"run {self.run_id} was deleted from {self.description}")
        spec, info = with_config(run.spec, run.info, config)
        try:
            self._store.update_run(self.run_id, spec=spec, info=info)
        except OperationalError as exc:  # locked by another process past the busy timeout
            raise Transient(str(exc.orig) if exc.orig else str(exc)) from None

    def finish(self, status: str, message: str | None, summary: dict[str, Any]) -> None:
        from trainscope.schemas.events import Status

        run = self._store.get_run(self.run_id)
        iteration = run.iteration if run is not None else 0
        if run is not None and summary:  # where the server keeps it (services/external.py)
            self._store.update_run(self.run_id, info={**run.info, "summary": summary})
        self._write([(self.run_id, Status(status, message=message, iteration=iteration))])  # type: ignore[arg-type]

    def close(self) -> None:
        self._store.close()

    def _write(self, events: list[Any]) -> None:
        from sqlalchemy.exc import OperationalError

        try:
            self._store.ingest(events)
        except OperationalError as exc:  # locked by another process past the busy timeout
            raise Transient(str(exc.orig) if exc.orig else str(exc)) from None
