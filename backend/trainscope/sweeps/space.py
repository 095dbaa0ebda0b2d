"""A sweep's search space: one dimension per option, grid expansion, seeded random proposals.

Pure: no database, no processes. The same space and seed always propose the same trials, in
the same order, so a sweep's trials can be fixed when it is created and a restarted server (or
another person with the same file) gets exactly those.
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from trainscope.schemas.options import TrainingOptions

# A sweep proposes at most this many trials: every one is validated when the sweep is created,
# and the sweep's row holds them all.
MAX_TRIALS = 1000
# Values a `values` dimension may list.
MAX_VALUES = 100
KINDS = ("values", "uniform", "log_uniform", "int_uniform")

Scalar = bool | int | float | str | None


def _matlab_to_snake() -> dict[str, str]:
    out: dict[str, str] = {}
    for name, field in TrainingOptions.model_fields.items():
        for choice in getattr(field.validation_alias, "choices", []):
            if isinstance(choice, str):
                out[choice] = name
    return out


MATLAB_TO_SNAKE = _matlab_to_snake()


class Dimension(BaseModel):
    """Exactly one of `values` (a list to choose from), `uniform` [a, b], `log_uniform` [a, b]
    (a > 0: uniform in log space, for learn rates), `int_uniform` [a, b] (inclusive)."""

    model_config = ConfigDict(extra="forbid")

    values: list[Scalar | dict[str, Any]] | None = Field(
        None, min_length=1, max_length=MAX_VALUES, description="Values to choose from."
    )
    uniform: tuple[float, float] | None = Field(None, description="[low, high], uniform.")
    log_uniform: tuple[float, float] | None = Field(
        None, description="[low, high], both > 0, uniform in log space."
    )
    int_uniform: tuple[int, int] | None = Field(None, description="[low, high], inclusive.")

    @model_validator(mode="after")
    def _one_kind(self) -> Dimension:
        given = [k for k in KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of values, uniform, log_uniform, int_uniform"
                + (f" (got {', '.join(given)})" if given else "")
            )
        kind = given[0]
        if kind == "values":
            return self
        low, high = getattr(self, kind)
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError(f"{kind}: the bounds must be finite numbers")
        if low > high:
            raise ValueError(f"{kind}: low {low:g} is above high {high:g}")
        if kind == "log_uniform" and low <= 0:
            raise ValueError(f"log_uniform: the bounds must be > 0 (got {low:g})")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k) is not None)

    def grid_values(self) -> list[Any] | None:
        """Every value a grid tries; None for a continuous range (random search only)."""
        if self.values is not None:
            return list(self.values)
        if self.int_uniform is not None:
            low, high = self.int_uniform
            return list(range(low, high + 1)) if high - low < MAX_TRIALS else None
        return None

    def grid_size(self) -> int | None:
        if self.values is not None:
            return len(self.values)
        if self.int_uniform is not None:
            return self.int_uniform[1] - self.int_uniform[0] + 1
        return None

    def sample(self, rng: random.Random) -> Any:
        if self.values is not None:
            return self.values[rng.randrange(len(self.values))]
        if self.int_uniform is not None:
            return rng.randint(*self.int_uniform)
        if self.log_uniform is not None:
            low, high = self.log_uniform
            return _round(math.exp(rng.uniform(math.log(low), math.log(high))))
        assert self.uniform is not None
        return _round(rng.uniform(*self.uniform))


def _round(x: float) -> float:
    """Six significant digits: a trial's learn rate reads 0.00316228, not 0.0031622776601683794,
    in tables and run names, and that is finer than any sweep resolves."""
    return float(f"{x:.6g}")


def canonical_key(key: str) -> str:
    """`InitialLearnRate` and `options.initial_learn_rate` → `initial_learn_rate`; dataset and
    model keys as given."""
    bare = key.removeprefix("options.")
    return MATLAB_TO_SNAKE.get(bare, bare)


def check_key(key: str) -> str | None:
    """Why `key` cannot be a space key, or None. Keys: a training option (snake_case or MATLAB
    name, optionally `options.`-prefixed), `dataset.<parameter>`, `model` or `model.preset`."""
    if key.startswith("dataset."):
        return (
            None
            if key.removeprefix("dataset.") not in ("", "name")
            else ("dataset.<parameter> needs a parameter other than name (one sweep, one dataset)")
        )
    if key in ("model", "model.preset"):
        return None
    if canonical_key(key) in TrainingOptions.model_fields:
        return None
    return (
        "not a training option (snake_case or MATLAB name), dataset.<parameter>, model or "
        "model.preset"
    )


def grid_size(space: dict[str, Dimension]) -> int:
    return math.prod(d.grid_size() or 0 for d in space.values())


def expand_grid(space: dict[str, Dimension]) -> list[dict[str, Any]]:
    """Every combination, the first key varying slowest (like nested loops in key order)."""
    keys = list(space)
    axes = [space[k].grid_values() or [] for k in keys]
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*axes)]


def propose_random(space: dict[str, Dimension], trials: int, seed: int) -> list[dict[str, Any]]:
    """`trials` draws, each key in sorted order from one generator seeded with `seed`: the same
    space and seed give the same trials whatever order the keys were written in."""
    rng = random.Random(seed)
    keys = sorted(space)
    drawn = [{k: space[k].sample(rng) for k in keys} for _ in range(trials)]
    return [{k: d[k] for k in space} for d in drawn]  # shown in the order the space gave


def to_overrides(params: dict[str, Any]) -> dict[str, Any]:
    """A trial's values as a restart body (`options`, `dataset`, `model`), for merge_overrides."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key.startswith("dataset."):
            out.setdefault("dataset", {})[key.removeprefix("dataset.")] = value
        elif key == "model":
            out["model"] = value
        elif key == "model.preset":
            out["model"] = {"preset": value}
        else:
            out.setdefault("options", {})[canonical_key(key)] = value
    return out
