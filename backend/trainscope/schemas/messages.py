"""The websocket messages (DESIGN §6), each a TypedDict with the one function that builds it.

Every place that sends a message builds it here, so a message has the same keys wherever it
comes from. A new message gets its TypedDict and builder here. Points are serialised by
`point_body` alone, for the websockets, `trainscope train --out` and (through the same
`json_number`) the REST API: a non-finite value becomes "NaN", "Infinity" or "-Infinity"
(see store/jsonsafe.py), because JSON has no literal for them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal, TypedDict


def json_number(value: float) -> float | str:
    """`value`, or its name when JSON cannot carry it ("NaN", "Infinity", "-Infinity")."""
    if math.isfinite(value):
        return value
    if value != value:
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


class PointBody(TypedDict):
    seq: int
    iteration: int
    epoch: int
    wall_time: float
    values: dict[str, float | str]


def point_body(
    seq: int, iteration: int, epoch: int, wall_time: float, values: Mapping[str, float]
) -> PointBody:
    """One point as JSON, the same on every path that writes one."""
    return {
        "seq": seq,
        "iteration": iteration,
        "epoch": epoch,
        "wall_time": wall_time,
        "values": {k: json_number(v) if isinstance(v, float) else v for k, v in values.items()},
    }


class ColumnsMessage(TypedDict, total=False):
    """The backlog of a run websocket opened with `encoding=columns`: the body of
    `GET /api/runs/{id}/metrics` (seq, iteration, epoch, wall_time, values by metric, null where
    a point lacks one), in chunks, with no trip through rows."""

    type: Literal["columns"]
    seq: list[int]
    iteration: list[int]
    epoch: list[int]
    wall_time: list[float | str]
    values: dict[str, list[float | str | None]]
    last_seq: int


def columns_messages(body: Mapping[str, Any], chunk: int) -> list[ColumnsMessage]:
    """A columnar metrics body as `columns` messages of at most `chunk` points each."""
    n = len(body["seq"])
    out: list[ColumnsMessage] = []
    for start in range(0, n, chunk):
        end = min(n, start + chunk)
        out.append(
            {
                "type": "columns",
                "seq": body["seq"][start:end],
                "iteration": body["iteration"][start:end],
                "epoch": body["epoch"][start:end],
                "wall_time": body["wall_time"][start:end],
                "values": {k: v[start:end] for k, v in body["values"].items()},
                "last_seq": body["seq"][end - 1],
            }
        )
    return out


class HelloRun(TypedDict):
    type: Literal["hello"]
    run: dict[str, Any]


class HelloRuns(TypedDict):
    type: Literal["hello"]
    runs: list[dict[str, Any]]


class PointsMessage(TypedDict):
    type: Literal["points"]
    points: list[Any]  # PointBody, or an already encoded point (pipeline.EncodedPoint)


class StatusMessage(TypedDict):
    type: Literal["status"]
    status: str
    finish_reason: str | None
    message: str | None
    run: dict[str, Any]


class ProgressBody(TypedDict):
    iteration: int
    epoch: int


class ErrorMessage(TypedDict):
    type: Literal["error"]
    message: str


class DeletedMessage(TypedDict):
    type: Literal["deleted"]
    id: int


class FindingsMessage(TypedDict):
    type: Literal["findings"]
    findings: list[dict[str, Any]]


class ResyncMessage(TypedDict):
    type: Literal["resync"]


def hello_run(run_json: dict[str, Any]) -> HelloRun:
    return {"type": "hello", "run": run_json}


def hello_runs(runs: list[dict[str, Any]]) -> HelloRuns:
    return {"type": "hello", "runs": runs}


def points_message(points: list[Any]) -> PointsMessage:
    return {"type": "points", "points": points}


def status_message(run_json: dict[str, Any]) -> StatusMessage:
    """A run's status, always with the same keys, taken from the run's own JSON."""
    return {
        "type": "status",
        "status": run_json["status"],
        "finish_reason": run_json.get("finish_reason"),
        "message": run_json.get("message"),
        "run": run_json,
    }


def error_message(message: str) -> ErrorMessage:
    return {"type": "error", "message": message}


def deleted_message(run_id: int) -> DeletedMessage:
    return {"type": "deleted", "id": run_id}


def findings_message(findings: list[dict[str, Any]]) -> FindingsMessage:
    return {"type": "findings", "findings": findings}


def resync_message() -> ResyncMessage:
    return {"type": "resync"}


class ProgressMessage(TypedDict):
    """On the run list's websocket, per batch of points: where the run is, its latest values
    and its best validation so far (the server's rule: the lowest val_loss, with the other
    val_ metrics of that validation), so clients never re-derive it."""

    type: Literal["progress"]
    _key: tuple[str, int]  # the hub keeps only the newest message per key for a slow client
    id: int
    progress: dict[str, int]
    last_seq: int
    latest: dict[str, Any]
    best: dict[str, Any] | None


def progress_message(
    run_id: int,
    iteration: int,
    epoch: int,
    last_seq: int,
    latest: dict[str, Any],
    best: dict[str, Any] | None,
) -> ProgressMessage:
    return {
        "type": "progress",
        "_key": ("progress", run_id),
        "id": run_id,
        "progress": {"iteration": iteration, "epoch": epoch},
        "last_seq": last_seq,
        "latest": latest,
        "best": best,
    }
