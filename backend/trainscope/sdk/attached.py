"""The SDK inside a run that trainscope started (DESIGN §8): `trainscope.init()` attaches.

The worker that started the script gave it a pipe (TRAINSCOPE_ATTACH_FD) and a stop file
(TRAINSCOPE_STOP_FILE). Points go up the pipe as JSON lines and become the run's points on the
worker's side (jobs/script_runner.py); a stop request is the stop file appearing. So no second run
is created, no server address or token is needed, and `run.config` is the run's args.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from trainscope.sdk.columns import Problems, Row, to_columns, with_canonical_names

ATTACH_ENV = "TRAINSCOPE_ATTACH_FD"


def attached_env() -> dict[str, str] | None:
    """The run this process was started for, when it was started by trainscope."""
    if ATTACH_ENV in os.environ and "TRAINSCOPE_RUN_ID" in os.environ:
        return dict(os.environ)
    return None


def run_args() -> dict[str, Any]:
    """The args the run was started with (its options, as the schema checked them)."""
    try:
        args = json.loads(os.environ.get("TRAINSCOPE_ARGS") or "{}")
    except ValueError:
        return {}
    return args if isinstance(args, dict) else {}


def _finite(value: float | None) -> float | str | None:
    # JSON has no NaN: the worker reads these strings back as floats.
    if value is None or math.isfinite(value):
        return value
    return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")


class Lines:
    """One batch for the pipe (the shipper counts `points` and resumes from `first_seq`)."""

    __slots__ = ("data", "first_seq", "points")

    def __init__(self, first_seq: int, rows: list[list[Any]]) -> None:
        self.first_seq = first_seq
        self.points = len(rows)
        self.data = (
            json.dumps({"type": "points", "rows": rows}, separators=(",", ":")) + "\n"
        ).encode()


class AttachedSink:
    """Sink (sdk/sinks.py) that writes to the worker's pipe. Writes are small and the worker
    reads continuously, so a write returns at once; a worker gone makes it fail (Fatal)."""

    def __init__(self, env: dict[str, str], problems: Problems) -> None:
        self.description = f"the trainscope run {env['TRAINSCOPE_RUN_ID']}"
        self.run_id = int(env["TRAINSCOPE_RUN_ID"])
        self._fd = int(env[ATTACH_ENV])
        self._stop_file = Path(env.get("TRAINSCOPE_STOP_FILE", os.devnull + ".none"))
        self._problems = problems
        # Said at once, in init() on the script's own thread: the worker then stops reading
        # metrics off stdout before the script prints its first one (no curve twice).
        self._write({"type": "hello"})

    def _write(self, message: dict[str, Any]) -> None:
        self._write_bytes((json.dumps(message, separators=(",", ":")) + "\n").encode())

    def _write_bytes(self, data: bytes) -> None:
        from trainscope.sdk.sinks import Fatal

        try:
            while data:
                data = data[os.write(self._fd, data) :]
        except OSError as exc:
            raise Fatal(f"the worker that started this run is gone ({exc})") from None

    def create(self) -> int:
        return self.run_id

    def encode(self, first_seq: int, rows: list[Row]) -> list[Any]:
        steps, epochs, times, logged, _ = to_columns(rows, self._problems)
        values = with_canonical_names(logged)  # DESIGN §9, as the other sinks send them
        names = list(values)
        out = []
        for i, row in enumerate(zip(*values.values(), strict=True)):
            point = {k: _finite(v) for k, v in zip(names, row, strict=True) if v is not None}
            if point:
                out.append([steps[i], epochs[i] or None, times[i], point])
        return [Lines(first_seq, out)] if out else []

    def send(self, payload: Any) -> bool:
        assert isinstance(payload, Lines)
        self._write_bytes(payload.data)
        return self.heartbeat()

    def heartbeat(self) -> bool:
        return self._stop_file.exists()

    def update_config(self, config: dict[str, Any]) -> None:
        from trainscope.sdk.sinks import Rejected

        # The run's config is the args trainscope started it with (what restart and compare
        # use): options the script logs later are not merged into it.
        raise Rejected(
            "config logged after the start is not stored for a run trainscope started (its "
            "config is the args it was started with)"
        )

    def finish(self, status: str, message: str | None, summary: dict[str, Any]) -> None:
        # The summary rides along, but the worker keeps only the status: a run trainscope
        # started has no summary stored yet (docs/sdk.md).
        self._write({"type": "finish", "status": status, "message": message, "summary": summary})

    def close(self) -> None:
        pass  # the fd is the process's: it closes when the script exits
