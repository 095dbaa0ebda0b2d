"""REST for sweeps (issue 8): create, list, one with its trials and best so far, stop. Plain
`def` routes: they touch the database. The scheduler (services/sweep_scheduler.py) starts the
trials."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request, status

from trainscope.services.errors import RunNotFound
from trainscope.sweeps.responses import SweepBody, SweepSummary, body, summary
from trainscope.sweeps.spec import SweepSpec
from trainscope.web.errors import error_responses
from trainscope.web.state import StateDep, SweepsDep

router = APIRouter(prefix="/api/sweeps", tags=["sweeps"])

INT64_MAX = 2**63 - 1
SweepId = Annotated[int, Path(ge=1, le=INT64_MAX, description="The sweep's id.")]

_BASE: dict[str, Any] = {
    "dataset": {"name": "digits", "max_train_samples": 600},
    "model": {"preset": "simple-cnn"},
    "options": {"max_epochs": 4, "validation_frequency": 10},
}
SWEEP_EXAMPLES: dict[str, Any] = {
    "grid": {
        "summary": "A 3 × 2 grid over learn rate and batch size",
        "value": {
            "name": "digits lr × batch",
            "base": _BASE,
            "strategy": "grid",
            "space": {
                "initial_learn_rate": {"values": [0.003, 0.01, 0.03]},
                "MiniBatchSize": {"values": [32, 64]},
            },
            "max_parallel": 2,
        },
    },
    "random": {
        "summary": "Random search, log-uniform learn rate, with early stopping",
        "value": {
            "base": _BASE,
            "strategy": "random",
            "space": {
                "initial_learn_rate": {"log_uniform": [0.0001, 0.1]},
                "momentum": {"uniform": [0.8, 0.99]},
            },
            "trials": 8,
            "seed": 1,
            "metric": "val_accuracy",
            "early_stop": {"rule": "median", "grace_fraction": 0.3, "min_trials": 3},
        },
    },
}


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a sweep: a base RunSpec and a space of options",
    responses=error_responses(413, 422, 429),
)
def create_sweep(
    request: Request,
    state: StateDep,
    sweeps: SweepsDep,
    spec: Annotated[SweepSpec, Body(openapi_examples=SWEEP_EXAMPLES)],
) -> SweepBody:
    """Every trial is proposed now (grid: every combination, the first key varying slowest;
    random: `trials` draws seeded with `seed`, the same for the same body) and validated as a
    RunSpec: a bad one is a 422 naming the space key. The trials queue on the workers at most
    `max_parallel` at a time, behind any single run that waits. The request counts once against
    the per-minute rate limit, however many trials it has."""
    sweep = sweeps.create(spec, client=_client(request))
    return body(sweep, state.store.list_runs(sweep_id=sweep.id, limit=None))


@router.get("", summary="List sweeps, newest first", responses=error_responses(422))
def list_sweeps(
    state: StateDep,
    status_: Annotated[
        list[Literal["running", "completed", "stopped"]] | None, Query(alias="status")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[SweepSummary]:
    found = state.store.list_sweeps(status=status_, limit=limit)
    return [summary(s, state.store.list_runs(sweep_id=s.id, limit=None)) for s in found]


@router.get(
    "/{sweep_id}",
    summary="One sweep with its trials and best so far",
    responses=error_responses(404, 422),
)
def get_sweep(state: StateDep, sweep_id: SweepId) -> SweepBody:
    """Each trial: its values, its run (null while pending), status, the target metric's last
    value and the run's latest metrics; `best` by `metric` and `goal`; `varying` the keys whose
    values differ (the columns of a trial table)."""
    sweep = state.store.get_sweep(sweep_id)
    if sweep is None:
        raise RunNotFound(f"no sweep with id {sweep_id}")
    return body(sweep, state.store.list_runs(sweep_id=sweep_id, limit=None))


@router.post(
    "/{sweep_id}/stop",
    summary="Stop a sweep: no more trials, its queued and running ones stopped",
    responses=error_responses(404, 409, 422),
)
def stop_sweep(state: StateDep, sweeps: SweepsDep, sweep_id: SweepId) -> SweepBody:
    """Answers once its trials have stopped (within the stop grace period); 409 when the sweep
    had already ended."""
    sweep = sweeps.stop(sweep_id, wait_s=state.settings.stop_grace_s)
    return body(sweep, state.store.list_runs(sweep_id=sweep_id, limit=None))
