"""REST for runs (DESIGN §6). Plain `def` routes: they touch the database, FastAPI runs them in
its threadpool so the event loop (websockets) never waits on SQLite."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from trainscope.schemas.events import RunStatus
from trainscope.schemas.findings import FindingBody
from trainscope.schemas.spec import RunSpec
from trainscope.web.csv_export import points_csv
from trainscope.web.errors import error_responses
from trainscope.web.state import RunsDep, StateDep

router = APIRouter(prefix="/api/runs", tags=["runs"])

# Ids and seqs are SQLite integers (64-bit): a larger number is refused with 422 here rather
# than overflowing in the database driver (a 500).
INT64_MAX = 2**63 - 1
RunId = Annotated[int, Path(ge=1, le=INT64_MAX, description="The run's id.")]

RunStatusName = RunStatus  # one Literal of the statuses (schemas/events.py)

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


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create and queue a run",
    responses=error_responses(404, 413, 422, 429),
)
def create_run(
    request: Request,
    runs: RunsDep,
    spec: Annotated[RunSpec, Body(openapi_examples=SPEC_EXAMPLES)],
) -> dict[str, Any]:
    """Validate a `RunSpec` (MATLAB option names accepted) and queue it on the workers. 422
    also for a spec over this server's limits (max_epochs × samples, files it may read); 429
    when the queue is full or this client started too many runs this minute. With
    `entrypoint` (a registered entry point, GET /api/entrypoints) and `args`: a run of that
    code, its args checked against its schema (422 naming each bad one); 404 for an entry
    point this server has not registered."""
    return runs.create(spec, client=_client(request)).to_json()


def _client(request: Request) -> str:
    """Who is asking, for the per-client rate limit: the peer's address."""
    return request.client.host if request.client else "unknown"


@router.get("", summary="List runs, newest first", responses=error_responses(422))
def list_runs(
    state: StateDep,
    status_: Annotated[list[RunStatusName] | None, Query(alias="status")] = None,
    group: str | None = None,
    tag: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    before_id: Annotated[
        int | None, Query(ge=1, le=INT64_MAX, description="Only runs older than this id.")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="A part of the name, any case.")
    ] = None,
) -> list[dict[str, Any]]:
    """Filter by `status` (repeatable), `group`, `tag` and `q`; page with `before_id` (the
    last id of the page before) and `limit`."""
    runs = state.store.list_runs(
        status=status_, group=group, tag=tag, limit=limit, before_id=before_id, name_contains=q
    )
    return [r.to_json() for r in runs]


@router.get("/{run_id}", summary="One run", responses=error_responses(404, 422))
def get_run(runs: RunsDep, run_id: RunId) -> dict[str, Any]:
    """With `branchable_epochs`: the epochs POST /api/runs/{id}/branch can start from; and
    `lineage`: a branch's history, oldest first, `[{run_id, epoch, until_seq}]` (read each
    entry's points from its run with the previous entry's until_seq < seq ≤ until_seq; the
    run's own points come after the last), empty for a run that is not a branch."""
    run = runs.get(run_id)
    return {
        **run.to_json(),
        "branchable_epochs": runs.branchable_epochs(run),
        "lineage": runs.lineage(run),
    }


@router.post(
    "/{run_id}/stop",
    summary="Stop a queued or running run gracefully",
    responses=error_responses(404, 409, 422),
)
def stop_run(runs: RunsDep, run_id: RunId) -> dict[str, Any]:
    """The loop sees the request within one iteration and checkpoints; answers with the run
    once it has stopped (409 when it had already ended). An external run (logged by its own
    script) is answered at once, still `running`, with `info.stop_requested` true: the script
    hears it with its next batch and ends the run `stopped` itself."""
    return runs.stop(run_id).to_json()


@router.post(
    "/{run_id}/restart",
    status_code=status.HTTP_201_CREATED,
    summary="Restart with changes: a new run whose parent_id is this one",
    responses=error_responses(404, 409, 413, 422, 429),
)
def restart_run(
    request: Request,
    runs: RunsDep,
    run_id: RunId,
    overrides: Annotated[dict[str, Any], Body(openapi_examples=RESTART_EXAMPLES)],
) -> dict[str, Any]:
    """`options` and `dataset` are merged into the parent's; `model`, `name`, `tags`, `group`
    replace. The result is validated like a new spec (422 naming the field). 409 for an
    external run (its own script trains it)."""
    return runs.restart(run_id, overrides, client=_client(request)).to_json()


class BranchBody(BaseModel):
    epoch: int = Field(ge=1, description="The epoch whose end the branch goes on from.")
    options: dict[str, Any] = Field(
        default_factory=dict, description="Options changed from the branch point on."
    )


@router.post(
    "/{run_id}/branch",
    status_code=status.HTTP_201_CREATED,
    summary="Branch from an epoch with changed options: a new run going on from its checkpoint",
    responses=error_responses(404, 409, 413, 422, 429),
)
def branch_run(request: Request, runs: RunsDep, run_id: RunId, body: BranchBody) -> dict[str, Any]:
    """The new run's `spec.branch` is {run_id, epoch}; it trains the epochs after `epoch` from
    the parent's checkpoint there with `options` merged. 422 naming an option that cannot
    change (mini_batch_size, seed, shuffle); 409 listing the branchable epochs when `epoch`
    has no checkpoint. See docs/api.md for the optimizer state and the schedule."""
    return runs.branch(run_id, body.epoch, body.options, client=_client(request)).to_json()


class RepeatBody(BaseModel):
    count: int = Field(3, ge=1, le=50, description="How many new runs.")


class RepeatAnswer(BaseModel):
    group: str = Field(description="The group of the parent and its repeats.")
    parent: dict[str, Any] = Field(description="The run repeated, now in the group.")
    runs: list[dict[str, Any]] = Field(description="The new runs, each with its own seed.")


@router.post(
    "/{run_id}/repeat",
    status_code=status.HTTP_201_CREATED,
    summary="Repeat a run with other seeds: N new runs in one group with it",
    responses=error_responses(404, 409, 413, 422, 429),
)
def repeat_run(request: Request, runs: RunsDep, run_id: RunId, repeat: RepeatBody) -> RepeatAnswer:
    """The new runs are identical to this one but for `options.seed` (the smallest seeds no
    member of the group has used) and have it as `parent_id`. The group is the run's own, or
    `repeats-<id>` when it had none (the run joins it). `GET /api/groups/{group}` shows their
    mean curves with bands and how consistent they are. One request against the rate limit."""
    group, parent, made = runs.repeat(run_id, repeat.count, client=_client(request))
    return RepeatAnswer(group=group, parent=parent.to_json(), runs=[r.to_json() for r in made])


@router.post(
    "/{run_id}/resume",
    summary="Continue a stopped or interrupted run",
    responses=error_responses(404, 409, 422),
)
def resume_run(runs: RunsDep, run_id: RunId) -> dict[str, Any]:
    """Continues from the last checkpoint with the same run id; the points continue their seq
    and equal those of a run that was never interrupted (bit for bit on CPU)."""
    return runs.resume(run_id).to_json()


@router.delete(
    "/{run_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a run",
    responses=error_responses(404, 422),
)
def delete_run(runs: RunsDep, run_id: RunId) -> Response:
    """Stops it if needed and deletes its points, findings, artefacts and checkpoints."""
    runs.delete(run_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{run_id}/metrics",
    summary="Points after a seq, columnar",
    responses=error_responses(404, 422),
)
def get_metrics(
    runs: RunsDep,
    state: StateDep,
    run_id: RunId,
    after_seq: Annotated[int, Query(ge=0, le=INT64_MAX)] = 0,
    before_seq: Annotated[int | None, Query(ge=1, le=INT64_MAX)] = None,
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
    responses={200: {"content": {"text/csv": {}}}, **error_responses(404, 422)},
)
def get_metrics_csv(runs: RunsDep, state: StateDep, run_id: RunId) -> StreamingResponse:
    """`seq,iteration,epoch,wall_time` and one column per metric, every stored point (never
    downsampled); empty where a point lacks a metric; NaN, Infinity, -Infinity as such."""
    run = runs.get(run_id)
    return StreamingResponse(
        points_csv(state.store, run_id, sorted(run.latest)),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="trainscope-run-{run_id}.csv"'},
    )


@router.get(
    "/{run_id}/findings", summary="The doctor's findings", responses=error_responses(404, 422)
)
def get_findings(
    runs: RunsDep,
    state: StateDep,
    run_id: RunId,
    refresh: Annotated[
        bool,
        Query(description="Diagnose the run again now instead of returning the stored findings."),
    ] = False,
) -> list[FindingBody]:
    """What the doctor read in the run's curves (docs/doctor.md), most severe first. Computed
    live about every second while the run trains and again when it ends; `patch` is a body for
    `POST /api/runs/{id}/restart` that applies the suggested fix; `branch`, where a branch
    of this run is the better fix, a body for `POST /api/runs/{id}/branch` (with its sentence)."""
    run = runs.get(run_id)
    if refresh:
        state.doctor.refresh(run_id, force=True)
    return [FindingBody.model_validate(f) for f in state.doctor.findings(run)]


@router.get(
    "/{run_id}/logs",
    summary="A script run's console: stdout and stderr, in order",
    responses=error_responses(404, 422),
)
def get_logs(
    runs: RunsDep,
    state: StateDep,
    run_id: RunId,
    after: Annotated[int, Query(ge=0, le=INT64_MAX, description="The last line seen.")] = 0,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> dict[str, Any]:
    """`lines`: [{n, stream, text}] with n > `after`, oldest first; `next`: the `after` for the
    next call; `skipped`: lines dropped between the kept start and end of a very long console
    (the first megabyte and the last four are kept). Live on the run's websocket as `logs`
    messages. Empty for runs that are not scripts."""
    runs.get(run_id)
    assert state.pipeline.console is not None
    return state.pipeline.console.read(run_id, after=after, limit=limit)


@router.get(
    "/{run_id}/artefacts",
    summary="Results the UI draws (confusion matrix, predictions)",
    responses=error_responses(404, 422),
)
def get_artefacts(runs: RunsDep, state: StateDep, run_id: RunId) -> dict[str, Any]:
    runs.get(run_id)
    return state.store.get_artefacts(run_id)
