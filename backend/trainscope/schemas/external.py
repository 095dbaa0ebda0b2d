"""The REST bodies of external runs: runs that a user's own training script logs through the SDK
(`trainscope.init`, docs/sdk.md), and how a script's `config` maps onto training options.

Pure pydantic, like every schema: the server validates these without numpy or torch.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from itertools import islice, repeat
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from trainscope.schemas.events import Point
from trainscope.schemas.options import TrainingOptions
from trainscope.schemas.spec import EXTERNAL_KIND, RunSpec

# Seqs are SQLite integers (64-bit).
INT64_MAX = 2**63 - 1
# Points in one request: the SDK sends at most 2,000 (well under the 1 MB default body limit).
MAX_BATCH_POINTS = 20_000
MAX_METRICS = 500

MetricName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ExternalEnd = Literal["completed", "stopped", "failed", "interrupted"]


class ExternalRunCreate(BaseModel):
    """`POST /api/runs/external`: a run the caller's script trains and logs itself."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200, description="A label for people.")
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="The script's options (any JSON object): shown and compared in the "
        "dashboard as the run's `spec.config`. Keys that name a training option (lr, "
        "learning_rate, epochs, batch_size, optimizer, momentum, weight_decay, seed, ... or "
        "the option's own name) are also mirrored into `spec.options` for the doctor.",
    )
    tags: list[str] = Field(default_factory=list, max_length=50)
    group: str | None = Field(None, max_length=200)
    client: dict[str, str | int | float | None] = Field(
        default_factory=dict,
        description="Where the script runs (host, pid, python, sdk version): kept in the "
        "run's `info.client`.",
    )


class PointBatch(BaseModel):
    """`POST /api/runs/{id}/points`: points in columns, the shape `GET .../metrics` answers.

    Every column has one entry per point; `values[name][i]` is null where point i lacks the
    metric. Non-finite values as the strings "NaN", "Infinity", "-Infinity". Seqs strictly
    increase; a seq at or below the run's last stored one is already stored and is skipped,
    so a batch sent again (a retry after a lost answer) is stored once."""

    model_config = ConfigDict(extra="forbid")

    seq: list[Annotated[int, Field(ge=1, le=INT64_MAX)]] = Field(max_length=MAX_BATCH_POINTS)
    iteration: list[Annotated[int, Field(ge=0, le=INT64_MAX)]] = Field(
        max_length=MAX_BATCH_POINTS, description="The script's step of each point."
    )
    epoch: list[Annotated[int, Field(ge=0, le=INT64_MAX)]] | None = Field(
        None, max_length=MAX_BATCH_POINTS, description="0 (or absent) where unknown."
    )
    wall_time: list[float] = Field(
        max_length=MAX_BATCH_POINTS, description="Unix seconds when each point was logged."
    )
    values: dict[MetricName, list[float | None]] = Field(
        default_factory=dict, max_length=MAX_METRICS
    )

    @model_validator(mode="after")
    def _consistent(self) -> PointBatch:
        # Runs on every batch a script sends (thousands of points): each check is a pass at
        # C speed (map, `in`), with a Python loop only to name the offending point.
        n = len(self.seq)
        columns = {"iteration": len(self.iteration), "wall_time": len(self.wall_time)}
        if self.epoch is not None:
            columns["epoch"] = len(self.epoch)
        columns.update({f"values.{k}": len(v) for k, v in self.values.items()})
        wrong = [f"{name} has {count}" for name, count in columns.items() if count != n]
        if wrong:
            raise ValueError(f"every column needs one entry per seq ({n}), but {', '.join(wrong)}")
        seq = self.seq
        if not all(map(operator.lt, seq, islice(seq, 1, None))):
            i = next(i for i in range(1, n) if seq[i] <= seq[i - 1])
            raise ValueError(
                f"seq must strictly increase, but seq[{i}] = {seq[i]} follows {seq[i - 1]}"
            )
        cols = list(self.values.values())
        if n and not any(None not in c for c in cols):  # no column full: a row may be empty
            for i, row in enumerate(zip(*cols, strict=True) if cols else ((),) * n):
                if all(v is None for v in row):
                    raise ValueError(f"the point with seq {seq[i]} has no values")
        return self

    def to_points(self) -> list[Point]:
        names = list(self.values)
        cols = [self.values[k] for k in names]
        epochs = self.epoch if self.epoch is not None else repeat(0)
        if all(None not in c for c in cols):  # the common batch: every point has every metric
            rows = zip(*cols, strict=True)  # lengths checked above
            dicts: Iterable[dict[str, float]] = map(dict, map(zip, repeat(names), rows))
        else:
            dicts = (
                {k: v for k, v in zip(names, row, strict=True) if v is not None}
                for row in zip(*cols, strict=True)
            )
        return list(map(Point, self.seq, self.iteration, epochs, self.wall_time, dicts))


class PointsAnswer(BaseModel):
    stored: int = Field(description="Points of the batch stored now (a resent one: 0).")
    last_seq: int = Field(description="The run's last stored seq.")
    stop: bool = Field(description="A stop was requested (dashboard or REST): end the run.")


class FinishBody(BaseModel):
    """`POST /api/runs/{id}/finish`: the script is done with the run."""

    model_config = ConfigDict(extra="forbid")

    status: ExternalEnd = Field(
        "completed",
        description="completed; stopped (it ended on a stop request, or by Ctrl-C); failed "
        "(an exception: `message` says which); interrupted.",
    )
    message: str | None = Field(None, max_length=10_000)
    summary: dict[MetricName, float | int | str | bool | None] | None = Field(
        None,
        max_length=MAX_METRICS,
        description="One value per name for the whole run (final averages such as a "
        "Trainer's train_runtime, best scores): kept in the run's `info.summary`, not drawn "
        'as curves. Non-finite numbers as the strings "NaN", "Infinity", "-Infinity".',
    )


class ConfigUpdate(BaseModel):
    """`POST /api/runs/{id}/config`: options the script knows only after the run started
    (TensorBoard's `add_hparams` at the end of training, `Run.update_config`)."""

    model_config = ConfigDict(extra="forbid")

    config: dict[str, Any] = Field(
        description="Merged into `spec.config` key by key (a key given again takes the new "
        "value); the training options it names are mirrored into `spec.options` again."
    )


def with_config(
    spec: dict[str, Any], info: dict[str, Any], extra: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An external run's stored spec and info with `extra` merged into its config: the
    config, the mirrored options and the epochs it means to train, everything else as it was."""
    body = ExternalRunCreate(name=spec.get("name"), config={**(spec.get("config") or {}), **extra})
    made = external_spec(body)
    new_spec = {**spec, "config": made.config, "options": made.options.model_dump(mode="json")}
    new_info = {**info, **external_info(body), "client": info.get("client") or {}}
    return new_spec, new_info


# Config keys a training script commonly uses → the training option they mean (DESIGN §4). A
# key may also be the option's own snake_case or MATLAB name.
CONFIG_ALIASES: dict[str, str] = {
    "lr": "initial_learn_rate",
    "learning_rate": "initial_learn_rate",
    "learn_rate": "initial_learn_rate",
    "initial_lr": "initial_learn_rate",
    "epochs": "max_epochs",
    "num_epochs": "max_epochs",
    "n_epochs": "max_epochs",
    "batch_size": "mini_batch_size",
    "optimizer": "solver",
    "optim": "solver",
    "weight_decay": "l2_regularization",
    "wd": "l2_regularization",
    "grad_clip": "gradient_threshold",
    "clip_grad_norm": "gradient_threshold",
    "max_grad_norm": "gradient_threshold",
    "scheduler": "learn_rate_schedule",
    "lr_schedule": "learn_rate_schedule",
    "beta1": "gradient_decay_factor",
    "beta2": "squared_gradient_decay_factor",
    "eps": "epsilon",
    # Hugging Face TrainingArguments (integrations/transformers.py).
    "num_train_epochs": "max_epochs",
    "per_device_train_batch_size": "mini_batch_size",
}


def _option_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for name, field in TrainingOptions.model_fields.items():
        names[name.lower()] = name
        for choice in getattr(field.validation_alias, "choices", []):
            if isinstance(choice, str):
                names[choice.lower()] = name
    names.update(CONFIG_ALIASES)
    return names


OPTION_NAMES = _option_names()


def options_from_config(config: dict[str, Any]) -> dict[str, Any]:
    """The training options a script's config names, each kept only where it is a valid value
    (an `optimizer: "lion"` is simply not mirrored). Keys of nested dicts count too
    (`{"optim": {"lr": 0.1}}`), the outer ones winning."""
    valid: dict[str, Any] = {}
    level: list[dict[str, Any]] = [config]
    for _ in range(3):  # the outer keys first, then those one and two dicts down
        inner: list[dict[str, Any]] = []
        for d in level:
            for key, value in d.items():
                if isinstance(value, dict):
                    inner.append(value)
                    continue
                name = OPTION_NAMES.get(str(key).lower())
                if name is None or name in valid or isinstance(value, bool) or value is None:
                    continue
                if name == "solver" and isinstance(value, str):
                    value = value.lower()  # "Adam", "SGD": the solver of the same kind
                try:
                    TrainingOptions.model_validate({name: value})
                except ValidationError:
                    continue  # the first valid value of an option wins
                valid[name] = value
        level = inner
    # Together they may still disagree (a rule over two options): drop what is named.
    for _ in range(len(valid)):
        try:
            TrainingOptions.model_validate(valid)
            break
        except ValidationError as exc:
            bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
            if not bad & valid.keys():
                return {}
            for name in bad & valid.keys():
                del valid[name]
    else:
        if valid:
            try:
                TrainingOptions.model_validate(valid)
            except ValidationError:
                return {}
    return valid


def external_spec(body: ExternalRunCreate) -> RunSpec:
    """The stored spec of an external run: kind external, no dataset or model, the config as
    given and the training options it names mirrored into `options` (the doctor reads them)."""
    return RunSpec.model_validate(
        {
            "kind": EXTERNAL_KIND,
            "name": body.name,
            "tags": body.tags,
            "group": body.group,
            "config": body.config,
            "options": options_from_config(body.config),
        }
    )


def external_info(body: ExternalRunCreate) -> dict[str, Any]:
    """The run's `info`: where its script runs, which options its config named, and the
    epochs it means to train when it said (the run's progress shows them)."""
    mirrored = options_from_config(body.config)
    info: dict[str, Any] = {"client": body.client, "mirrored_options": sorted(mirrored)}
    if isinstance(mirrored.get("max_epochs"), int):
        info["max_epochs"] = mirrored["max_epochs"]
    return info
