"""Every bad request gets a 4xx naming what was wrong; never a traceback."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trainscope.entrypoints.validation import ArgsInvalid
from trainscope.schemas.datasets import DATASET_NAMES
from trainscope.schemas.errors import format_error_list
from trainscope.schemas.layers import LAYER_TYPES
from trainscope.schemas.spec import RunSpec
from trainscope.services.errors import RunError, SpecRejected, TooManyRuns

TAGS = (*DATASET_NAMES, *LAYER_TYPES)


# ---- the error bodies, as the OpenAPI document declares them -----------------------------------


class ErrorBody(BaseModel):
    """Every error but 422: `message` is one line; `detail` says the same (FastAPI's field)."""

    detail: str
    message: str


class Problem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(BaseModel):
    """422: one problem per entry of `detail`, each naming its field; `message` joins them."""

    detail: list[Problem]
    message: str


_DESCRIPTIONS = {
    404: "No run with this id",
    409: "The run is not in a state that allows this",
    413: "The request body is over the limit (TRAINSCOPE_MAX_BODY_BYTES)",
    422: "The body or a parameter is invalid (or the body is not JSON); each field is named",
    429: "The queue is full or this client started too many runs this minute (Retry-After)",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that can answer these error statuses."""
    return {
        code: {
            "model": ValidationErrorBody if code == 422 else ErrorBody,
            "description": _DESCRIPTIONS[code],
        }
        for code in codes
    }


def _validation_body(errors: list[Any]) -> dict[str, Any]:
    """FastAPI's 422 shape (`detail`: [{loc, msg, type}]) with our one-line messages, plus
    `message` joining them for clients that show a single line."""
    stripped = []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        stripped.append({**err, "loc": loc[1:] if loc[:1] == ("body",) else loc})
    lines = format_error_list(stripped, RunSpec, TAGS)
    # `loc` as it came (["query", "limit"], ["body", "options", "momentum"]); the one-line
    # messages leave the "body" out, since the spec is what people think of.
    detail = [
        {"loc": list(e.get("loc", ())), "msg": line, "type": e.get("type")}
        for e, line in zip(errors, lines, strict=True)
    ]
    return {"detail": detail, "message": "; ".join(lines)}


def _json_invalid(reason: str) -> JSONResponse:
    msg = f"request body is not valid JSON: {reason}"
    return JSONResponse(
        status_code=422,
        content={"detail": [{"loc": ["body"], "msg": msg, "type": "json_invalid"}], "message": msg},
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        # Malformed JSON arrives as a json_invalid error: say so plainly.
        for e in errors:
            if e.get("type") == "json_invalid":
                return _json_invalid(str(e.get("ctx", {}).get("error", e["msg"])))
        return JSONResponse(status_code=422, content=_validation_body(errors))

    @app.exception_handler(ValidationError)
    async def _model_invalid(request: Request, exc: ValidationError) -> JSONResponse:
        # Raised in a route on a spec built from the body (restart's merged spec).
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        return JSONResponse(status_code=422, content=_validation_body(errors))

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        """Starlette's and FastAPI's own errors (unknown path, wrong method, a body over the
        limit) with a `message` like ours."""
        cause = exc.__cause__
        if exc.status_code == 400 and isinstance(cause, UnicodeDecodeError):
            # FastAPI answers a body it cannot decode with a bare 400 "There was an error
            # parsing the body"; it is malformed JSON like any other (JSON is UTF-8).
            return _json_invalid(f"not UTF-8 ({cause.reason} at byte {cause.start})")
        if exc.status_code in (204, 304):  # no body allowed
            return Response(status_code=exc.status_code, headers=exc.headers)
        return JSONResponse(
            status_code=exc.status_code,
            content={"detail": exc.detail, "message": str(exc.detail)},
            headers=exc.headers,
        )

    @app.exception_handler(ArgsInvalid)
    async def _args_invalid(request: Request, exc: ArgsInvalid) -> JSONResponse:
        # An entry point's args the schema refuses: every bad option at once, at its field.
        detail = [
            {"loc": ["body", *e["loc"]], "msg": line, "type": e.get("type")}
            for e, line in zip(exc.errors, exc.lines, strict=True)
        ]
        return JSONResponse(
            status_code=422, content={"detail": detail, "message": "; ".join(exc.lines)}
        )

    @app.exception_handler(RunError)
    async def _run_error(request: Request, exc: RunError) -> JSONResponse:
        if isinstance(exc, SpecRejected):
            # Shaped like a validation error: the dashboard shows it at the field.
            loc = list(exc.loc) if exc.loc[:1] in (("body",), ("query",)) else ["body", *exc.loc]
            detail = [{"loc": loc, "msg": exc.message, "type": "value_error"}]
            return JSONResponse(status_code=422, content={"detail": detail, "message": exc.message})
        headers = {}
        if isinstance(exc, TooManyRuns):
            headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
        return JSONResponse(
            status_code=exc.status_code,
            content={"detail": exc.message, "message": exc.message},
            headers=headers,
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
                    raise _TooLarge(limit)
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


class _TooLarge(HTTPException):
    """Raised from `receive` while the body streams in. An HTTPException, because FastAPI turns
    any other exception from reading the body into 400 "There was an error parsing the body";
    this one it passes on, and the handler above answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")
