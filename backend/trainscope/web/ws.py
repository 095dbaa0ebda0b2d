"""Websockets (DESIGN §6): `/ws/runs/{id}?after_seq=N` for one run, `/ws/runs` for the list.

Exactly once: the subscriber is registered *before* the backlog is read, so every point is in
the backlog, in the live feed, or in both — and the live feed skips seqs the backlog sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from typing import Any, Literal

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from trainscope.live.hub import Subscriber
from trainscope.schemas.messages import (
    columns_messages,
    error_message,
    findings_message,
    hello_run,
    hello_runs,
    points_message,
    status_message,
)
from trainscope.schemas.status import FINAL_STATUSES as FINAL
from trainscope.services.pipeline import EncodedPoint
from trainscope.web.state import AppState

router = APIRouter()

BACKLOG_CHUNK = 5_000  # points per message while replaying history


def _dumps(message: Mapping[str, object]) -> str:
    # Values are made JSON-safe before they get here ("NaN" strings); allow_nan=False makes a
    # slip loud instead of sending JSON that browsers reject.
    return json.dumps(message, allow_nan=False, separators=(",", ":"))


async def _pump(ws: WebSocket, sub: Subscriber, last_seq: int | None) -> None:
    """Send the subscriber's messages until the socket closes. Points at or below `last_seq`
    (already sent from the backlog) are skipped."""
    while True:
        for message in await sub.get():
            if message["type"] != "points":
                await ws.send_text(_dumps(message))
                continue
            points: list[EncodedPoint] = message["points"]
            if last_seq is not None:
                points = [p for p in points if p.seq > last_seq]
                if not points:
                    continue
                last_seq = points[-1].seq
            # Each point was encoded once by the pipeline; a frame is just their concatenation.
            await ws.send_text(
                '{"type":"points","points":[' + ",".join(p.json for p in points) + "]}"
            )


async def _until_closed(ws: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await ws.receive_text()  # clients have nothing to say; this notices them leaving


async def _serve(ws: WebSocket, sub: Subscriber, last_seq: int | None) -> None:
    pump = asyncio.ensure_future(_pump(ws, sub, last_seq))
    listen = asyncio.ensure_future(_until_closed(ws))
    try:
        done, _ = await asyncio.wait({pump, listen}, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is pump and not task.cancelled():
                exc = task.exception()
                if exc is not None and not isinstance(exc, (WebSocketDisconnect, RuntimeError)):
                    raise exc
    finally:
        for task in (pump, listen):
            task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(pump, listen, return_exceptions=True)


def _state(ws: WebSocket) -> AppState:
    state: AppState = ws.app.state.trainscope
    return state


INT64_MAX = 2**63 - 1  # ids and seqs are 64-bit integers in the database


@router.websocket("/ws/runs/{run_id}")
async def run_stream(
    ws: WebSocket,
    run_id: int,
    after_seq: int = 0,
    encoding: Literal["rows", "columns"] = "rows",
) -> None:
    """`encoding=columns`: the backlog comes as `columns` messages (the REST metrics body, in
    chunks) instead of `points` rows; live points stay `points` messages either way."""
    state = _state(ws)
    await ws.accept()
    if not (0 <= after_seq <= INT64_MAX):
        # Beyond what the database holds (an overflow there would drop the connection).
        message = f"after_seq must be in [0, {INT64_MAX}] (got {after_seq})"
        await ws.send_text(_dumps(error_message(message)))
        await ws.close(code=4400, reason="after_seq out of range")
        return
    if not (1 <= run_id <= INT64_MAX) or (
        await run_in_threadpool(state.store.get_run, run_id) is None
    ):
        await ws.send_text(_dumps(error_message(f"no run with id {run_id}")))
        await ws.close(code=4404, reason=f"no run with id {run_id}")
        return
    sub = state.hub.subscribe_run(run_id)  # before the backlog: nothing falls in between
    try:
        run = await run_in_threadpool(state.store.get_run, run_id)
        backlog = await run_in_threadpool(state.store.read_points, run_id, after_seq=after_seq)
        if run is None:
            await ws.close(code=4404, reason=f"no run with id {run_id}")
            return
        await ws.send_text(_dumps(hello_run(run.to_json())))
        body: dict[str, Any] = backlog.to_json()
        last_seq = after_seq
        if encoding == "columns":
            # The browser's charts keep columns: no columns → rows → columns round trip.
            for chunk in columns_messages(body, BACKLOG_CHUNK):
                await ws.send_text(_dumps(chunk))
            if body["seq"]:
                last_seq = body["seq"][-1]
        else:
            points = _rows(body)
            for start in range(0, len(points), BACKLOG_CHUNK):
                await ws.send_text(_dumps(points_message(points[start : start + BACKLOG_CHUNK])))
            if points:
                last_seq = points[-1]["seq"]
        # The doctor's findings so far; later changes come live as `findings` messages.
        findings = await run_in_threadpool(state.doctor.findings, run)
        if findings:
            await ws.send_text(_dumps(findings_message(findings)))
        if run.status in FINAL:
            # Nothing live will follow: say so, so a client replaying a finished run knows the
            # backlog is complete. `run` was read after subscribing, so it is current.
            await ws.send_text(_dumps(status_message(run.to_json())))
        await _serve(ws, sub, last_seq)
    except WebSocketDisconnect:
        pass
    finally:
        state.hub.unsubscribe(sub)


def _rows(columns: dict[str, Any]) -> list[dict[str, Any]]:
    """Columnar REST body → the websocket's list of points (values without the nulls)."""
    values = columns["values"]
    out = []
    for i, seq in enumerate(columns["seq"]):
        out.append(
            {
                "seq": seq,
                "iteration": columns["iteration"][i],
                "epoch": columns["epoch"][i],
                "wall_time": columns["wall_time"][i],
                "values": {k: v[i] for k, v in values.items() if v[i] is not None},
            }
        )
    return out


@router.websocket("/ws/runs")
async def runs_stream(ws: WebSocket) -> None:
    """The run list, live: a hello with every run, then `run` (created / status changed),
    `progress` (coalesced per run) and `deleted` messages."""
    state = _state(ws)
    await ws.accept()
    sub = state.hub.subscribe_list()
    try:
        runs = await run_in_threadpool(state.store.list_runs)
        await ws.send_text(_dumps(hello_runs([r.to_json() for r in runs])))
        await _serve(ws, sub, None)
    except WebSocketDisconnect:
        pass
    finally:
        state.hub.unsubscribe(sub)
