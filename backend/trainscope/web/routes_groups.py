"""REST for groups (issue 8): a group's members, their curves as bands, a consistency verdict.
A group is runs that belong together: repeats of one spec with other seeds, or a sweep."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from trainscope.services.errors import RunNotFound
from trainscope.store import RunRecord, Store
from trainscope.sweeps.bands import Curve, bands, verdict
from trainscope.web.errors import error_responses
from trainscope.web.state import StateDep

router = APIRouter(prefix="/api/groups", tags=["groups"])

MAX_MEMBERS = 200  # bands of more runs than this say nothing a chart can show
GroupName = Annotated[str, Path(min_length=1, max_length=200, description="The group's name.")]


class BandBody(BaseModel):
    """One metric over the members, at each `iteration` of a common grid: mean, sample
    standard deviation, min and max of the members that have a value there (`n` of them)."""

    iteration: list[int]
    mean: list[float | None]
    std: list[float | None]
    min: list[float | None]
    max: list[float | None]
    n: list[int]


class VerdictBody(BaseModel):
    verdict: Literal["consistent", "variable", "inconsistent", "unknown"]
    metric: str | None = Field(description="The final validation metric judged.")
    message: str
    values: dict[str, float] = Field(description="Run id → its final value.")
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None


class GroupBody(BaseModel):
    name: str
    sweep_id: int | None = Field(description="The sweep whose trials these are, if one.")
    members: list[dict[str, Any]] = Field(description="The runs, oldest first.")
    metrics: dict[str, BandBody] = Field(description="Metric name → its band.")
    verdict: VerdictBody


def _curves(store: Store, run: RunRecord, max_points: int) -> dict[str, Curve]:
    cols = store.read_points(run.id, max_points=max_points)
    out: dict[str, Curve] = {}
    for metric, values in cols.values.items():
        pairs = [(i, v) for i, v in zip(cols.iteration, values, strict=True) if v is not None]
        if pairs:
            out[metric] = ([i for i, _ in pairs], [v for _, v in pairs])
    return out


@router.get(
    "/{name}", summary="A group: members, bands, consistency", responses=error_responses(404, 422)
)
def get_group(
    state: StateDep,
    name: GroupName,
    max_points: Annotated[int, Query(ge=10, le=10_000)] = 1000,
) -> GroupBody:
    """Bands per metric on the union of the members' iterations (thinned to `max_points`),
    each member interpolated between its own points and absent outside them. The verdict
    reads the spread of the finished (completed) members' final validation accuracy (rmse,
    else loss): consistent, variable or inconsistent (docs/api.md gives the thresholds)."""
    members = state.store.list_runs(group=name, limit=MAX_MEMBERS)
    if not members:
        raise RunNotFound(f"no runs in group {name!r}")
    members.reverse()  # oldest first: the parent of repeats leads
    curves = {r.id: _curves(state.store, r, max_points) for r in members}
    finals = {r.id: r.latest for r in members if r.status == "completed"}
    v = verdict(finals)
    sweep_ids = {r.sweep_id for r in members}
    return GroupBody(
        name=name,
        sweep_id=next(iter(sweep_ids)) if len(sweep_ids) == 1 else None,
        members=[r.to_json() for r in members],
        metrics={
            m: BandBody(iteration=b.iteration, mean=b.mean, std=b.std, min=b.min, max=b.max, n=b.n)
            for m, b in bands(curves, max_points).items()
        },
        verdict=VerdictBody(
            verdict=v.verdict,
            metric=v.metric,
            message=v.message,
            values={str(k): x for k, x in v.values.items()},
            mean=v.mean,
            std=v.std,
            min=v.min,
            max=v.max,
        ),
    )
