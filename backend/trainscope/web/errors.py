"""Every bad request gets a 4xx naming what was wrong; never a traceback."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trainscope.schemas.datasets import DATASET_NAMES
from trainscope.schemas.errors import format_error_list
from trainscope.schemas.layers import LAYER_TYPES
from trainscope.schemas.spec import RunSpec
from trainscope.web.service import RunError

TAGS = (*DATASET_NAMES, *LAYER_TYPES)


def _validation_body(errors: list[Any]) -> dict[str, Any]:
    """FastAPI's 422 shape (`detail`: [{loc, msg, type}]) with our one-line messages, plus
    `message` joining them for clients that show a single line."""
    stripped = []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        stripped.append({**err, "loc": loc[1:] if loc[:1] == ("body",) else loc})
    lines = format_error_list(stripped, RunSpec, TAGS)
    detail = [
        {"loc": ["body", *e["loc"]], "msg": line, "type": e.get("type")}
        for e, line in zip(stripped, lines, strict=True)
    ]
    return {"detail": detail, "message": "; ".join(lines)}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        # Malformed JSON arrives as a json_invalid error: say so plainly.
        for e in errors:
            if e.get("type") == "json_invalid":
                msg = f"request body is not valid JSON: {e.get('ctx', {}).get('error', e['msg'])}"
                return JSONResponse(
                    status_code=422,
                    content={
                        "detail": [{"loc": ["body"], "msg": msg, "type": "json_invalid"}],
                        "message": msg,
                    },
                )
        return JSONResponse(status_code=422, content=_validation_body(errors))

    @app.exception_handler(ValidationError)
    async def _model_invalid(request: Request, exc: ValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content=_validation_body(list(exc.errors())))

    @app.exception_handler(RunError)
    async def _run_error(request: Request, exc: RunError) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code, content={"detail": exc.message, "message": exc.message}
        )


class BodyLimit:
    """413 for a request body over the limit, by Content-Length or as it streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger or {}  # paths with a limit of their own (uploads)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope.get("path", ""), self.max_bytes)
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._reject(send, limit)
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._reject(send, limit)

    async def _reject(self, send: Send, limit: int) -> None:
        msg = f"request body larger than {limit} bytes"
        body = json.dumps({"detail": msg, "message": msg}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass
