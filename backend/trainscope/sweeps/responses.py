"""What the sweep routes answer, as pydantic bodies (so the OpenAPI document describes them),
built from a sweep's record and its trials' runs. Pure: no database here."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, Field

from trainscope.store import RunRecord, json_safe
from trainscope.store.sweeps import SweepRecord
from trainscope.sweeps.spec import EARLY_STOPPED_TAG

TrialStatus = Literal[
    "pending",
    "deleted",
    "queued",
    "running",
    "completed",
    "stopped",
    "diverged",
    "failed",
    "interrupted",
]


class TrialBody(BaseModel):
    index: int = Field(description="The trial's place in the sweep, from 0.")
    params: dict[str, Any] = Field(description="The values this trial sets (space key → value).")
    run_id: int | None = Field(description="Its run; null while pending or once deleted.")
    status: TrialStatus = Field(description="pending (no run yet), deleted, or the run's status.")
    finish_reason: str | None = None
    message: str | None = None
    value: float | None = Field(
        None, description="The target metric's last value (null: none yet, or not finite)."
    )
    final: dict[str, float | str] = Field(
        default_factory=dict, description="The run's latest value of every metric."
    )
    iteration: int = 0
    max_iterations: int | None = None
    early_stopped: bool = Field(False, description="Stopped by the early-stopping rule.")


class SweepSummary(BaseModel):
    id: int
    name: str | None
    status: Literal["running", "completed", "stopped"]
    message: str | None
    strategy: Literal["grid", "random"]
    metric: str
    goal: Literal["minimize", "maximize"]
    max_parallel: int
    group: str = Field(description="The group its runs are in (GET /api/groups/{name}).")
    created_at: float
    ended_at: float | None
    trials_total: int
    counts: dict[str, int] = Field(description="Trials per status.")
    varying: list[str] = Field(description="The space keys whose value differs across trials.")
    best: TrialBody | None = Field(description="The best trial so far by `metric` and `goal`.")


class SweepBody(SweepSummary):
    base: dict[str, Any]
    space: dict[str, Any]
    seed: int
    early_stop: dict[str, Any] | None
    trials: list[TrialBody]


def trial_bodies(sweep: SweepRecord, trial_runs: list[RunRecord]) -> list[TrialBody]:
    by_trial = {r.sweep_trial: r for r in trial_runs if r.sweep_trial is not None}
    metric = sweep.spec.get("metric", "val_loss")
    out: list[TrialBody] = []
    for index, params in enumerate(sweep.trials):
        run = by_trial.get(index)
        if run is None:
            status = "pending" if index >= sweep.next_trial else "deleted"
            out.append(TrialBody(index=index, params=params, run_id=None, status=status))
            continue
        value = run.latest.get(metric)
        if value is not None and not math.isfinite(value):
            value = None
        out.append(
            TrialBody(
                index=index,
                params=params,
                run_id=run.id,
                status=run.status,
                finish_reason=run.finish_reason,
                message=run.message,
                value=value,
                final=json_safe(run.latest),
                iteration=run.iteration,
                max_iterations=run.max_iterations,
                early_stopped=EARLY_STOPPED_TAG in run.tags,
            )
        )
    return out


def best_trial(trials: list[TrialBody], goal: str) -> TrialBody | None:
    scored = [t for t in trials if t.value is not None]
    if not scored:
        return None
    sign = 1.0 if goal == "minimize" else -1.0
    return min(scored, key=lambda t: (sign * (t.value or 0.0), t.index))


def varying_keys(trials: list[dict[str, Any]]) -> list[str]:
    keys: dict[str, None] = {}
    for params in trials:
        keys.update(dict.fromkeys(params))
    return [k for k in keys if len({repr(p.get(k)) for p in trials}) > 1]


def summary(sweep: SweepRecord, trial_runs: list[RunRecord]) -> SweepSummary:
    return _build(sweep, trial_runs, full=False)


def body(sweep: SweepRecord, trial_runs: list[RunRecord]) -> SweepBody:
    built = _build(sweep, trial_runs, full=True)
    assert isinstance(built, SweepBody)
    return built


def _build(sweep: SweepRecord, trial_runs: list[RunRecord], *, full: bool) -> SweepSummary:
    spec = sweep.spec
    trials = trial_bodies(sweep, trial_runs)
    goal = spec.get("goal") or ("maximize" if "accuracy" in spec["metric"] else "minimize")
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.status] = counts.get(t.status, 0) + 1
    common: dict[str, Any] = {
        "id": sweep.id,
        "name": sweep.name,
        "status": sweep.status,
        "message": sweep.message,
        "strategy": spec.get("strategy", "grid"),
        "metric": spec["metric"],
        "goal": goal,
        "max_parallel": spec.get("max_parallel") or 2,
        "group": sweep.group,
        "created_at": sweep.created_at,
        "ended_at": sweep.ended_at,
        "trials_total": len(sweep.trials),
        "counts": counts,
        "varying": varying_keys(sweep.trials),
        "best": best_trial(trials, goal),
    }
    if not full:
        return SweepSummary(**common)
    return SweepBody(
        **common,
        base=spec["base"],
        space=spec["space"],
        seed=spec.get("seed", 0),
        early_stop=spec.get("early_stop"),
        trials=trials,
    )
