"""A run spec with changes applied: what a restart's overrides and a sweep trial's values do to
the spec they start from. Spec logic, shared by the runs service (restart) and the sweeps
(every trial is the base spec merged with its values)."""

from __future__ import annotations

from typing import Any

from trainscope.schemas.options import TrainingOptions


def _matlab_to_snake() -> dict[str, str]:
    out: dict[str, str] = {}
    for name, field in TrainingOptions.model_fields.items():
        alias = field.validation_alias
        for choice in getattr(alias, "choices", []):
            if isinstance(choice, str):
                out[choice] = name
    return out


# Each option's MATLAB name (DESIGN §4, e.g. InitialLearnRate) → its snake_case name.
MATLAB_TO_SNAKE = _matlab_to_snake()


def merge_overrides(spec: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """The parent's spec with a restart's overrides applied.

    `options` and `dataset` are merged key by key (MATLAB names mapped to ours so a parent's
    `initial_learn_rate` and an override's `InitialLearnRate` do not both survive); `model`,
    `name`, `tags` and `group` are replaced. Switching solver without naming a learn rate takes
    the new solver's default where the parent had its old solver's default.
    """
    merged = {k: v for k, v in spec.items()}
    for key, value in overrides.items():
        if key == "options" and isinstance(value, dict):
            opts = dict(spec.get("options", {}))
            new = {MATLAB_TO_SNAKE.get(k, k): v for k, v in value.items()}
            if "solver" in new and new["solver"] != opts.get("solver"):
                old = TrainingOptions(solver=opts.get("solver", "sgdm"))
                for derived in ("initial_learn_rate", "squared_gradient_decay_factor"):
                    if derived not in new and opts.get(derived) == getattr(old, derived):
                        opts.pop(derived, None)
            opts.update(new)
            merged["options"] = opts
        elif key == "dataset" and isinstance(value, dict):
            base = dict(spec.get("dataset", {}))
            if "name" in value and value["name"] != base.get("name"):
                base = {}  # another dataset: its own parameters, not the old one's
            merged["dataset"] = {**base, **value}
        else:
            merged[key] = value
    return merged
