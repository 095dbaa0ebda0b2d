"""The whole server in this process: `create_app(settings, executor=ScriptedExecutor())` behind
Starlette's TestClient, offering what `conftest.Server` offers (`api()`, `ws(path)`,
`data_dir`, `url`), so a test reads the same against either.

Real: the routers, service, pipeline, store (a SQLite file), hub, doctor and websockets. Fake:
only the executor (tests/fake_executor.py), so no process starts and no torch loads. Takes well
under a second to start where a real server waits seconds for a warm worker.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close

from trainscope.config import Settings
from trainscope.web.app import create_app

from ..fake_executor import ScriptedExecutor

# The Host and Origin a browser on the loopback server sends; the server answers only loopback
# names when bound to 127.0.0.1.
URL = "http://127.0.0.1"


class InProcessSocket:
    """A TestClient websocket that reads like `websockets.sync.client.ClientConnection`:
    `recv(timeout)` returns text and raises `ConnectionClosed` (with the close frame received)
    once the server has closed, so assertions on close codes read the same."""

    def __init__(self, session: WebSocketTestSession) -> None:
        self._session = session

    def recv(self, timeout: float | None = None) -> str:
        async def receive() -> Any:
            # The session's own receive() has no timeout; this is the same call under one.
            with anyio.fail_after(timeout):
                return await self._session._send_rx.receive()

        try:
            message: dict[str, Any] = self._session.portal.call(receive)
        except TimeoutError:
            raise TimeoutError(f"no websocket message within {timeout} s") from None
        if message["type"] == "websocket.close":
            close = Close(message.get("code", 1000), message.get("reason") or "")
            raise ConnectionClosed(close, None)
        text = message.get("text")
        if text is None:
            text = message["bytes"].decode()
        return str(text)

    def send(self, data: str) -> None:
        self._session.send_text(data)

    def recv_json(self, timeout: float | None = None) -> Any:
        return json.loads(self.recv(timeout))


@dataclass
class InProcessServer:
    client: TestClient
    executor: ScriptedExecutor
    data_dir: Path
    url: str = URL

    def api(self) -> contextlib.AbstractContextManager[TestClient]:
        # One client for the app's whole life: leaving it would end the app's lifespan.
        return contextlib.nullcontext(self.client)

    @contextlib.contextmanager
    def ws(self, path: str, headers: dict[str, str] | None = None) -> Iterator[InProcessSocket]:
        try:
            url = self.url.replace("http", "ws", 1) + path  # a loopback Host, as `api()` sends
            with self.client.websocket_connect(url, headers=dict(headers or {})) as session:
                yield InProcessSocket(session)
        except WebSocketDisconnect:
            pass  # the server closed first; the test has already seen the close frame


@contextlib.contextmanager
def in_process_server(data_dir: Path, **settings: Any) -> Iterator[InProcessServer]:
    """`settings` as `Settings` takes them (`api_token="..."`); two runs at once, as the real
    server fixture's TRAINSCOPE_MAX_RUNS=2."""
    executor = ScriptedExecutor(slots=2)
    app = create_app(Settings(data_dir=data_dir, max_runs=2, **settings), executor=executor)
    with TestClient(app, base_url=URL) as client:
        yield InProcessServer(client, executor, data_dir)
