"""REST for runs (DESIGN §6). Plain `def` routes: they touch the database, FastAPI runs them in
its threadpool so the event loop (websockets) never waits on SQLite."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response, status
from fastapi.responses import JSONResponse, StreamingResponse

from trainscope.schemas.spec import RunSpec
from trainscope.web.csv_export import points_csv
from trainscope.web.state import RunsDep, StateDep

router = APIRouter(prefix="/api/runs", tags=["runs"])

RunStatusName = Literal[
    "queued", "running", "completed", "stopped", "diverged", "failed", "interrupted"
]

SPEC_EXAMPLES: dict[str, Any] = {
    "digits": {
        "summary": "Simple CNN on the bundled digits, sgdm",
        "value": {
            "name": "digits · simple CNN",
            "dataset": {"name": "digits"},
            "model": {"preset": "simple-cnn"},
            "options": {
                "solver": "sgdm",
                "initial_learn_rate": 0.01,
                "max_epochs": 10,
                "mini_batch_size": 64,
                "validation_frequency": 10,
            },
        },
    },
    "matlab-names": {
        "summary": "MATLAB option names, a layer list, a schedule",
        "value": {
            "dataset": {"name": "spirals", "num_classes": 3},
            "model": {"layers": [{"type": "fc", "units": 64}, {"type": "tanh"}]},
            "options": {
                "solver": "adam",
                "InitialLearnRate": 0.01,
                "MaxEpochs": 40,
                "LearnRateSchedule": "piecewise",
                "LearnRateDropPeriod": 10,
            },
            "tags": ["spirals"],
        },
    },
}
RESTART_EXAMPLES: dict[str, Any] = {
    "lower-lr": {
        "summary": "The loss went NaN: lower the learn rate tenfold",
        "value": {"options": {"initial_learn_rate": 0.01}},
    },
    "clip": {
        "summary": "Loss spikes: clip the global gradient norm",
        "value": {"options": {"GradientThreshold": 1, "GradientThresholdMethod": "global-l2norm"}},
    },
}


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create and queue a run")
def create_run(
    runs: RunsDep, spec: Annotated[RunSpec, Body(openapi_examples=SPEC_EXAMPLES)]
) -> dict[str, Any]:
    """Validate a `RunSpec` (MATLAB option names accepted) and queue it on the workers."""
    return runs.create(spec).to_json()


@router.get("", summary="List runs, newest first")
def list_runs(
    state: StateDep,
    status_: Annotated[list[RunStatusName] | None, Query(alias="status")] = None,
    group: str | None = None,
    tag: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[dict[str, Any]]:
    """Filter by `status` (repeatable), `group` and `tag`."""
    runs = state.store.list_runs(status=status_, group=group, tag=tag, limit=limit)
    return [r.to_json() for r in runs]


@router.get("/{run_id}", summary="One run")
def get_run(runs: RunsDep, run_id: int) -> dict[str, Any]:
    return runs.get(run_id).to_json()


@router.post("/{run_id}/stop", summary="Stop a queued or running run gracefully")
def stop_run(runs: RunsDep, run_id: int) -> dict[str, Any]:
    """The loop sees the request within one iteration and checkpoints; answers with the run
    once it has stopped (409 when it had already ended)."""
    return runs.stop(run_id).to_json()


@router.post(
    "/{run_id}/restart",
    status_code=status.HTTP_201_CREATED,
    summary="Restart with changes: a new run whose parent_id is this one",
)
def restart_run(
    runs: RunsDep,
    run_id: int,
    overrides: Annotated[dict[str, Any], Body(openapi_examples=RESTART_EXAMPLES)],
) -> dict[str, Any]:
    """`options` and `dataset` are merged into the parent's; `model`, `name`, `tags`, `group`
    replace. The result is validated like a new spec (422 naming the field)."""
    return runs.restart(run_id, overrides).to_json()


@router.post("/{run_id}/resume", summary="Continue a stopped or interrupted run")
def resume_run(runs: RunsDep, run_id: int) -> dict[str, Any]:
    """Continues from the last checkpoint with the same run id; the points continue their seq
    and equal those of a run that was never interrupted (bit for bit on CPU)."""
    return runs.resume(run_id).to_json()


@router.delete("/{run_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a run")
def delete_run(runs: RunsDep, run_id: int) -> Response:
    """Stops it if needed and deletes its points, findings, artefacts and checkpoints."""
    runs.delete(run_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{run_id}/metrics", summary="Points after a seq, columnar")
def get_metrics(
    runs: RunsDep,
    state: StateDep,
    run_id: int,
    after_seq: Annotated[int, Query(ge=0)] = 0,
    before_seq: Annotated[int | None, Query(ge=1)] = None,
    max_points: Annotated[int | None, Query(ge=10, le=1_000_000)] = None,
    limit: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> JSONResponse:
    """Columns `seq`, `iteration`, `epoch`, `wall_time` and `values` (one list per metric, null
    where a point lacks it), for the points with `after_seq` < seq (< `before_seq` when given:
    the dashboard fetches the detail of a zoomed-in window of a downsampled history this way).
    With `max_points`, downsampled keeping every bucket's minimum and maximum and every
    non-finite value, so no spike or NaN is hidden. Non-finite numbers are the strings "NaN",
    "Infinity", "-Infinity"."""
    runs.get(run_id)
    if max_points is not None:
        cols = state.store.read_points(
            run_id, after_seq=after_seq, before_seq=before_seq, max_points=max_points
        )
    else:
        cols = state.store.read_points(
            run_id, after_seq=after_seq, before_seq=before_seq, limit=limit
        )
    return JSONResponse(cols.to_json())


@router.get(
    "/{run_id}/metrics.csv",
    summary="Every point as CSV",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def get_metrics_csv(runs: RunsDep, state: StateDep, run_id: int) -> StreamingResponse:
    """`seq,iteration,epoch,wall_time` and one column per metric, every stored point (never
    downsampled); empty where a point lacks a metric; NaN, Infinity, -Infinity as such."""
    run = runs.get(run_id)
    return StreamingResponse(
        points_csv(state.store, run_id, sorted(run.latest)),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="trainscope-run-{run_id}.csv"'},
    )


@router.get("/{run_id}/findings", summary="The doctor's findings")
def get_findings(runs: RunsDep, state: StateDep, run_id: int) -> list[dict[str, Any]]:
    runs.get(run_id)
    return state.store.get_findings(run_id)


@router.get("/{run_id}/artefacts", summary="Results the UI draws (confusion matrix, predictions)")
def get_artefacts(runs: RunsDep, state: StateDep, run_id: int) -> dict[str, Any]:
    runs.get(run_id)
    return state.store.get_artefacts(run_id)
