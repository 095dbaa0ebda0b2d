"""Websockets (DESIGN §6): `/ws/runs/{id}?after_seq=N` for one run, `/ws/runs` for the list.

Exactly once: the subscriber is registered *before* the backlog is read, so every point is in
the backlog, in the live feed, or in both — and the live feed skips seqs the backlog sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import anyio
import anyio.to_thread
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

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
from trainscope.store.records import RunRecord
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

# A watcher's opening (its run, backlog and findings read, and their frames encoded) runs in a
# worker thread, whole, at most this many at once. When 30 browsers connect in the same second,
# 30 threads each doing a few small reads and encodes would take turns on the GIL with each
# other and with the pipeline's thread: every opening finished ~300 ms late, and every live
# point with them. Two at a time, they are served in order (the first hello in 36-85 ms, not
# 150-230) and the pipeline keeps its share (benchmarks/stream_latency.py, docs/benchmarks.md).
OPENINGS_AT_ONCE = 2
# Frames encoded per trip to a worker thread: a run of ordinary length is one trip (hello, a
# backlog chunk or two, findings, status); a long backlog is sent chunk by chunk as encoded.
FRAMES_PER_TRIP = 6


def _openings(state: AppState) -> anyio.CapacityLimiter:
    """The app's limiter of openings, made on the loop that serves it (in-process tests run
    one app under several loops)."""
    loop = asyncio.get_running_loop()
    limiter = state.ws_openings.get(loop)
    if limiter is None:
        limiter = state.ws_openings[loop] = anyio.CapacityLimiter(OPENINGS_AT_ONCE)
    return limiter


class _Opening:
    """What a new watcher of a run is sent before the live feed, as encoded frames, in order:
    hello, the backlog, the findings so far, and the status when the run has ended."""

    def __init__(self, state: AppState, run_id: int, after_seq: int, encoding: str) -> None:
        # Read after subscribing (run_stream), so the run and its backlog are current.
        self.run = state.store.get_run(run_id)
        self.last_seq = after_seq
        self._frames: Iterator[str] = iter(())
        if self.run is None:
            return
        backlog = state.store.read_points(run_id, after_seq=after_seq).to_json()
        if backlog["seq"]:
            self.last_seq = backlog["seq"][-1]
        findings = state.doctor.findings(self.run)
        self._frames = self._encode(self.run, backlog, findings, encoding)

    @staticmethod
    def _encode(
        run: RunRecord, body: dict[str, Any], findings: list[dict[str, Any]], encoding: str
    ) -> Iterator[str]:
        yield _dumps(hello_run(run.to_json()))
        if encoding == "columns":
            # The browser's charts keep columns: no columns → rows → columns round trip.
            for chunk in columns_messages(body, BACKLOG_CHUNK):
                yield _dumps(chunk)
        else:
            for start in range(0, len(body["seq"]), BACKLOG_CHUNK):
                yield _dumps(points_message(_rows(body, start, start + BACKLOG_CHUNK)))
        # The doctor's findings so far; later changes come live as `findings` messages.
        if findings:
            yield _dumps(findings_message(findings))
        if run.status in FINAL:
            # Nothing live will follow: say so, so a client replaying a finished run knows the
            # backlog is complete.
            yield _dumps(status_message(run.to_json()))

    def next_frames(self) -> list[str]:
        """The next frames, encoded (in a worker thread); empty once all were given."""
        return list(itertools.islice(self._frames, FRAMES_PER_TRIP))


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
    if not (1 <= run_id <= INT64_MAX):
        await _no_run(ws, run_id)
        return
    sub = state.hub.subscribe_run(run_id)  # before the backlog: nothing falls in between
    try:
        limiter = _openings(state)

        def first_frames() -> tuple[_Opening, list[str]]:
            opening = _Opening(state, run_id, after_seq, encoding)
            return opening, opening.next_frames()

        opening, frames = await anyio.to_thread.run_sync(first_frames, limiter=limiter)
        if opening.run is None:
            await _no_run(ws, run_id)
            return
        while frames:
            for frame in frames:
                await ws.send_text(frame)
            if len(frames) < FRAMES_PER_TRIP:
                break
            frames = await anyio.to_thread.run_sync(opening.next_frames, limiter=limiter)
        await _serve(ws, sub, opening.last_seq)
    except WebSocketDisconnect:
        pass
    finally:
        state.hub.unsubscribe(sub)


async def _no_run(ws: WebSocket, run_id: int) -> None:
    await ws.send_text(_dumps(error_message(f"no run with id {run_id}")))
    await ws.close(code=4404, reason=f"no run with id {run_id}")


def _rows(columns: dict[str, Any], start: int, stop: int) -> list[dict[str, Any]]:
    """Rows `start:stop` of a columnar REST body as the websocket's points (values without
    the nulls)."""
    values = columns["values"]
    out = []
    for i in range(start, min(stop, len(columns["seq"]))):
        out.append(
            {
                "seq": columns["seq"][i],
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

        def hello() -> str:  # read and encoded in a worker thread: 10,000 runs take a while
            return _dumps(hello_runs([r.to_json() for r in state.store.list_runs()]))

        await ws.send_text(await anyio.to_thread.run_sync(hello, limiter=_openings(state)))
        await _serve(ws, sub, None)
    except WebSocketDisconnect:
        pass
    finally:
        state.hub.unsubscribe(sub)
