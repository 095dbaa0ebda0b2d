"""`SweepSpec`: what `POST /api/sweeps` takes, and the trials it proposes.

A sweep's trials are fixed when it is created (grid: every combination; random: seeded draws)
and each is validated as a RunSpec then, so a bad combination is a 422 naming the space key at
once, not a failed run twenty minutes later.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from trainscope.schemas.errors import format_validation_error
from trainscope.schemas.overrides import merge_overrides
from trainscope.schemas.spec import SCRIPT_KIND, RunSpec
from trainscope.sweeps.space import (
    MAX_TRIALS,
    Dimension,
    canonical_key,
    check_key,
    expand_grid,
    grid_size,
    propose_random,
    to_overrides,
)

Goal = Literal["minimize", "maximize"]
EARLY_STOPPED_TAG = "early-stopped"
SWEEP_TAG = "sweep"
# How a trial's values are applied to the base spec: a restart's merge (MATLAB names mapped, a
# switched solver's default learn rate), schemas.overrides.merge_overrides.
Merge = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]


class EarlyStopSpec(BaseModel):
    """The median stopping rule: once a trial is past `grace_fraction` of its iterations, it is
    stopped when its best target metric so far is worse than the median of the other trials'
    best at the same iteration (at least `min_trials` of them having got that far)."""

    model_config = ConfigDict(extra="forbid")

    rule: Literal["median"] = "median"
    grace_fraction: float = Field(
        0.25, ge=0, le=1, description="Fraction of its iterations a trial always gets."
    )
    min_trials: int = Field(
        3, ge=1, le=100, description="Other trials that must have reached the same iteration."
    )


class SweepSpec(BaseModel):
    """A base RunSpec, a space of options to vary, and how to search it."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200, description="A label for people.")
    base: RunSpec = Field(description="The run every trial starts from.")
    strategy: Literal["grid", "random"] = Field(
        "grid", description="grid: every combination; random: `trials` seeded draws."
    )
    space: dict[str, Dimension] = Field(
        min_length=1,
        max_length=20,
        description="Option name (snake_case or MATLAB), dataset.<parameter>, model or "
        'model.preset → {"values": [...]} | {"uniform": [a, b]} | {"log_uniform": [a, b]} | '
        '{"int_uniform": [a, b]}.',
    )
    trials: int | None = Field(
        None, ge=1, le=MAX_TRIALS, description="Random search: how many trials (default 10)."
    )
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Random search: the draws' seed.")
    max_parallel: int | None = Field(
        None, ge=1, le=64, description="Trials queued or running at once (default: 2)."
    )
    metric: str = Field(
        "val_loss",
        pattern=r"^[a-z][a-z0-9_]{0,63}$",
        description="The target metric (its last value ranks trials).",
    )
    goal: Goal | None = Field(
        None, description="Default: maximize for an accuracy, minimize otherwise."
    )
    early_stop: EarlyStopSpec | None = Field(
        None, description="Stop hopeless trials early (median stopping rule)."
    )

    @field_validator("space")
    @classmethod
    def _keys(cls, space: dict[str, Dimension], info: ValidationInfo) -> dict[str, Dimension]:
        base = info.data.get("base")
        if base is not None and base.kind == SCRIPT_KIND:
            # An entry point's sweep varies its own options: the runs service checks each
            # trial's args against the entry point's schema (an unknown name is a 422 there).
            return space
        seen: dict[str, str] = {}
        for key in space:
            why = check_key(key)
            if why is not None:
                raise ValueError(f"{key}: {why}")
            same = seen.setdefault(canonical_key(key), key)
            if same != key:
                raise ValueError(f"{key} and {same} are the same option")
        if "model" in space and "model.preset" in space:
            raise ValueError("model and model.preset both set the model: use one")
        return space

    @model_validator(mode="after")
    def _strategy_fits(self) -> SweepSpec:
        if self.strategy == "grid":
            if self.trials is not None:
                raise ValueError("trials: only for strategy random (a grid runs every combination)")
            for key, dim in self.space.items():
                if dim.grid_size() is None:
                    raise ValueError(
                        f"space.{key}: a grid needs {{'values': [...]}} or int_uniform; "
                        f"{dim.kind} ranges are for strategy random"
                    )
            size = grid_size(self.space)
            if size > MAX_TRIALS:
                raise ValueError(
                    f"space: the grid has {size:,} combinations, more than {MAX_TRIALS} "
                    "(use strategy random with trials)"
                )
        return self

    @property
    def target_goal(self) -> Goal:
        if self.goal is not None:
            return self.goal
        return "maximize" if "accuracy" in self.metric else "minimize"

    @property
    def parallel(self) -> int:
        return self.max_parallel or 2

    def stored(self) -> dict[str, Any]:
        """As the store keeps it: every default filled in, each dimension by its one kind."""
        out = self.model_dump(mode="json")
        out["space"] = {
            k: d.model_dump(mode="json", exclude_none=True) for k, d in self.space.items()
        }
        return out

    def proposals(self) -> list[dict[str, Any]]:
        if self.strategy == "grid":
            return expand_grid(self.space)
        return propose_random(self.space, self.trials or 10, self.seed)


def trial_name(sweep_name: str | None, params: dict[str, Any]) -> str:
    """`lr sweep · initial_learn_rate=0.01 mini_batch_size=32` (at most 200 characters)."""
    shown = " ".join(f"{canonical_key(k)}={_short(v)}" for k, v in params.items())
    return f"{sweep_name or 'sweep'} · {shown}"[:200]


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return str(value.get("preset", "layers"))
    return str(value)


def trial_spec(
    sweep: SweepSpec,
    params: dict[str, Any],
    *,
    group: str | None,
    merge: Merge = merge_overrides,
) -> RunSpec:
    """The RunSpec of one trial: the base with the trial's values merged in as a restart's
    overrides would be; raises pydantic's ValidationError when the combination is not a valid
    run."""
    base = sweep.base.model_dump(mode="json")
    if sweep.base.kind == SCRIPT_KIND:
        merged = {**base, "args": {**(base.get("args") or {}), **params}}
    else:
        merged = merge(base, to_overrides(params))
    merged["name"] = trial_name(sweep.name or sweep.base.name, params)
    merged["group"] = group
    merged["tags"] = list(dict.fromkeys([*sweep.base.tags, SWEEP_TAG]))[:50]
    return RunSpec.model_validate(merged)


class TrialRejected(ValueError):
    """A proposed trial that is not a valid run: `loc` names the space key (or base field)."""

    def __init__(self, loc: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


def check_trials(sweep: SweepSpec, merge: Merge = merge_overrides) -> list[RunSpec]:
    """Every trial's RunSpec, or TrialRejected for the first that is not valid."""
    out: list[RunSpec] = []
    for index, params in enumerate(sweep.proposals()):
        try:
            out.append(trial_spec(sweep, params, group=None, merge=merge))
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = tuple(str(p) for p in err["loc"])
            line = format_validation_error(exc, RunSpec)[0]
            shown = ", ".join(f"{k}={_short(v)}" for k, v in params.items())
            raise TrialRejected(
                _space_loc(sweep, loc), f"trial {index} ({shown}): {line}"
            ) from None
    return out


def _space_loc(sweep: SweepSpec, loc: tuple[str, ...]) -> tuple[str, ...]:
    """The space key an error in a trial's spec comes from, else the base field."""
    for key in sweep.space:
        target = canonical_key(key)
        if key.startswith("dataset."):
            if loc[:2] == ("dataset", key.removeprefix("dataset.")):
                return ("space", key)
        elif key.startswith("model"):
            if loc[:1] == ("model",):
                return ("space", key)
        elif loc[:1] == ("options",) and target in loc:
            return ("space", key)
    return ("base", *loc)
