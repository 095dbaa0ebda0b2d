"""REST for external runs: runs a user's own training script logs through the SDK
(`import trainscope; run = trainscope.init(...)`, docs/sdk.md). Create one, post its points in
batches, finish it. Plain `def` routes: they write to the database."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from trainscope.schemas.external import (
    ConfigUpdate,
    ExternalRunCreate,
    FinishBody,
    PointBatch,
    PointsAnswer,
)
from trainscope.services.errors import ExternalRunError
from trainscope.services.pipeline import describe_store_error
from trainscope.web.errors import error_responses
from trainscope.web.routes_runs import RunId
from trainscope.web.state import RunsDep

router = APIRouter(prefix="/api/runs", tags=["external runs"])

CREATE_EXAMPLES: dict[str, Any] = {
    "pytorch-script": {
        "summary": "A plain PyTorch script's run",
        "value": {
            "name": "resnet18 · cifar10",
            "config": {"lr": 0.1, "batch_size": 128, "epochs": 30, "optimizer": "sgdm"},
            "tags": ["baseline"],
        },
    }
}
POINTS_EXAMPLES: dict[str, Any] = {
    "two-iterations": {
        "summary": "Two training iterations, the second with a validation",
        "value": {
            "seq": [1, 2],
            "iteration": [1, 2],
            "epoch": [1, 1],
            "wall_time": [1763700000.1, 1763700000.3],
            "values": {"train_loss": [2.31, 2.2], "val_loss": [None, 2.25]},
        },
    }
}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "The store refused the write (database locked, disk full): send again"}
}


def _http_error(exc: Exception) -> Exception:
    """The HTTP error for what the service raised: its own (404, 409), or the store's refusal
    as a 503 with Retry-After (the SDK waits and sends the same batch again)."""
    if isinstance(exc, ExternalRunError):
        return HTTPException(exc.status_code, exc.message)
    if isinstance(exc, OperationalError):
        msg = f"could not store points: {describe_store_error(exc)}; send them again"
        return HTTPException(503, msg, headers={"Retry-After": "1"})
    return exc


@router.post(
    "/external",
    status_code=status.HTTP_201_CREATED,
    summary="Create an external run (logged by the caller's own script)",
    responses=error_responses(413, 422, 429),
)
def create_external_run(
    request: Request,
    runs: RunsDep,
    body: Annotated[ExternalRunCreate, Body(openapi_examples=CREATE_EXAMPLES)],
) -> dict[str, Any]:
    """The run starts `running` with `spec.kind` "external", no dataset or model, `spec.config`
    as given and the training options the config names mirrored into `spec.options`. Counts
    against the client's runs per minute. Restart, resume and repeat refuse it (409)."""
    runs.admission.take_rate(request.client.host if request.client else "unknown")
    return runs.external.create(body).to_json()


def _points_body() -> dict[str, Any]:
    """The request body's OpenAPI entry, written out: the route parses the body itself."""
    schema = PointBatch.model_json_schema(ref_template="#/components/schemas/{model}")
    return {
        "required": True,
        "content": {"application/json": {"schema": schema, "examples": POINTS_EXAMPLES}},
    }


def parse_point_batch(body: bytes) -> PointBatch:
    """The batch, parsed and validated by pydantic-core straight from the bytes: about twice
    as fast as FastAPI's `json.loads` then validation, on the route every script's points
    take. Its errors answer 422 like every other body's."""
    try:
        return PointBatch.model_validate_json(body)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors) from None


@router.post(
    "/{run_id}/points",
    summary="Add a batch of points to an external run",
    responses={**error_responses(404, 409, 413, 422), **UNAVAILABLE},
    openapi_extra={"requestBody": _points_body()},
)
async def post_points(request: Request, runs: RunsDep, run_id: RunId) -> PointsAnswer:
    """Columns like `GET /metrics` answers. Stored, then sent to the run's websocket watchers
    and the doctor. Idempotent by seq: points at or below the run's last stored seq are
    skipped, so a batch sent again after a lost answer is stored once. An empty batch is a
    heartbeat. `stop` in the answer: someone asked the run to stop (the script should end it
    with `finish` status `stopped`). 409 once the run has ended; an `interrupted` one (the
    server restarted, or the script was silent a while) is running again."""
    batch = parse_point_batch(await request.body())
    try:
        # The database write blocks: on the thread pool, as a plain `def` route would be.
        return await run_in_threadpool(runs.external.add_points, run_id, batch)
    except Exception as exc:
        raise _http_error(exc) from None


@router.post(
    "/{run_id}/finish",
    summary="End an external run",
    responses={**error_responses(404, 409, 422), **UNAVAILABLE},
)
def finish_external_run(
    runs: RunsDep, run_id: RunId, body: Annotated[FinishBody, Body()] | None = None
) -> dict[str, Any]:
    """Records the final status (default `completed`) and message; the doctor diagnoses the
    run once more. The same finish again answers the run (idempotent); another status once it
    has ended is a 409."""
    try:
        return runs.external.finish(run_id, body or FinishBody()).to_json()
    except Exception as exc:
        raise _http_error(exc) from None


@router.post(
    "/{run_id}/config",
    summary="Add to an external run's config",
    responses={**error_responses(404, 409, 422), **UNAVAILABLE},
)
def update_external_config(
    runs: RunsDep, run_id: RunId, body: Annotated[ConfigUpdate, Body()]
) -> dict[str, Any]:
    """Options the script knows only after the run started (TensorBoard's `add_hparams` at
    the end of training): merged into `spec.config` key by key, the training options they
    name mirrored into `spec.options` again. Answers the run."""
    try:
        return runs.external.update_config(run_id, body).to_json()
    except Exception as exc:
        raise _http_error(exc) from None
