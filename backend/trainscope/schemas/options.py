"""Training options (DESIGN §4): snake_case names, MATLAB names accepted on input, MATLAB defaults.

Pure pydantic: the server validates specs with this module without importing torch.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

Solver = Literal["sgdm", "adam", "rmsprop", "sgd", "adamw"]
Schedule = Literal[
    "none", "piecewise", "cosine", "linear", "inverse-sqrt", "exponential", "plateau"
]
ClipMethod = Literal["l2norm", "global-l2norm", "absolute-value"]
Shuffle = Literal["once", "every-epoch", "never"]
OutputNetwork = Literal["last-iteration", "best-validation-loss"]
ExecutionEnvironment = Literal["auto", "cpu", "gpu"]

SOLVERS: tuple[str, ...] = ("sgdm", "adam", "rmsprop", "sgd", "adamw")
SCHEDULES: tuple[str, ...] = (
    "none",
    "piecewise",
    "cosine",
    "linear",
    "inverse-sqrt",
    "exponential",
    "plateau",
)

_INF_WORDS = {"inf", "+inf", "infinity", "+infinity"}

# Just below the largest float32 (3.4e38). The weight decay, clipping threshold and leaky-ReLU
# scale reach PyTorch as float32 scalars: a larger number is refused by torch mid-run ("value
# cannot be converted to type float without overflow"), so the spec refuses it first. Smaller
# but absurd values are allowed: they train and diverge, as asked.
MAX_SCALAR = 1e38
# The learn rate too, but adam's first step is lr / (1 - gradient_decay_factor): up to 9e15 × lr
# for a factor just below 1. 1e20 keeps that a float32 as well.
MAX_LEARN_RATE = 1e20
# torch.manual_seed takes a signed or unsigned 64-bit integer.
SEED_MIN, SEED_MAX = -(2**63), 2**64 - 1


def _parse_inf(value: Any) -> Any:
    """Accept MATLAB's `Inf` spelled as a string ("inf", "Inf"): JSON has no infinity literal."""
    if isinstance(value, str) and value.strip().lower() in _INF_WORDS:
        return math.inf
    return value


def _float32_or_inf(value: float) -> float:
    if not math.isinf(value) and value > MAX_SCALAR:
        raise ValueError(f"must be at most {MAX_SCALAR:g} or inf")
    return value


def _dump_inf(value: float) -> float | str:
    return "inf" if math.isinf(value) else value


def _dump_count(value: float) -> int | str:
    return "inf" if math.isinf(value) else int(value)


# A positive number or infinity; JSON carries infinity as the string "inf".
PositiveOrInf = Annotated[
    float,
    BeforeValidator(_parse_inf),
    Field(gt=0),
    AfterValidator(_float32_or_inf),
    PlainSerializer(_dump_inf, return_type=Any, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_SCALAR},
                {"const": "inf"},
            ]
        }
    ),
]
# An integer count >= 1 or infinity (validation patience).
CountOrInf = Annotated[
    float,
    BeforeValidator(_parse_inf),
    Field(ge=1),
    PlainSerializer(_dump_count, return_type=Any, when_used="json"),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 1}, {"const": "inf"}]}),
]


def _opt(default: Any, matlab: str | None, description: str, **kw: Any) -> Any:
    """A field that accepts both its snake_case name and its MATLAB name."""
    # populate_by_name (model config) accepts the snake_case name as well as the alias.
    return Field(
        default,
        validation_alias=AliasChoices(matlab) if matlab else None,
        description=description,
        **kw,
    )


class TrainingOptions(BaseModel):
    """Every training option of DESIGN §4, with MATLAB's defaults.

    `initial_learn_rate` and `squared_gradient_decay_factor` depend on the solver; left out
    (or null) they are filled in from it, so `model_dump()` always shows the values in force.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=False)

    solver: Solver = _opt(
        "sgdm", "Solver", "Optimizer: sgdm (SGD with momentum), adam, rmsprop, sgd, adamw."
    )
    initial_learn_rate: float | None = _opt(
        None,
        "InitialLearnRate",
        "Learning rate at the start (> 0). Default 0.01 for sgdm/sgd, 0.001 otherwise. "
        "Loss goes NaN or spikes: divide by 10. Loss barely moves: multiply by 10.",
        gt=0,
        le=MAX_LEARN_RATE,
    )
    # Upper bounds: far beyond any real run, low enough that a typo is refused, not queued.
    max_epochs: int = _opt(
        30, "MaxEpochs", "Full passes over the training data, in [1, 100000].", ge=1, le=100_000
    )
    mini_batch_size: int = _opt(
        128, "MiniBatchSize", "Samples per iteration, in [1, 1000000].", ge=1, le=1_000_000
    )
    momentum: float = _opt(0.9, "Momentum", "sgdm momentum, in [0, 1).", ge=0, lt=1)
    gradient_decay_factor: float = _opt(
        0.9, "GradientDecayFactor", "adam/adamw beta1, in [0, 1).", ge=0, lt=1
    )
    squared_gradient_decay_factor: float | None = _opt(
        None,
        "SquaredGradientDecayFactor",
        "adam beta2 / rmsprop alpha, in [0, 1). Default 0.999 for adam/adamw, 0.9 for rmsprop.",
        ge=0,
        lt=1,
    )
    epsilon: float = _opt(1e-8, "Epsilon", "Denominator offset for adam/adamw/rmsprop (> 0).", gt=0)
    l2_regularization: float = _opt(
        1e-4,
        "L2Regularization",
        "L2 weight decay (>= 0); coupled (added to the gradient), decoupled for adamw.",
        ge=0,
        le=MAX_SCALAR,
    )
    gradient_threshold_method: ClipMethod = _opt(
        "l2norm",
        "GradientThresholdMethod",
        "l2norm: clip each parameter's gradient norm; global-l2norm: clip the norm of all "
        "gradients together; absolute-value: clip each gradient element.",
    )
    gradient_threshold: PositiveOrInf = _opt(
        math.inf,
        "GradientThreshold",
        "Clipping threshold (> 0, or inf for none). Loss spikes: try 1 with global-l2norm.",
        json_schema_extra={"default": "inf"},  # JSON has no infinity literal
    )
    learn_rate_schedule: Schedule = _opt(
        "none",
        "LearnRateSchedule",
        "none, piecewise (drop by drop_factor every drop_period epochs), cosine, linear, "
        "inverse-sqrt, exponential, plateau (drop when validation loss stalls).",
    )
    learn_rate_drop_period: int = _opt(
        10,
        "LearnRateDropPeriod",
        "Epochs between drops (piecewise, exponential); validations without improvement (plateau).",
        ge=1,
    )
    learn_rate_drop_factor: float = _opt(
        0.1, "LearnRateDropFactor", "Multiplier applied at each drop, in [0, 1].", ge=0, le=1
    )
    warmup_epochs: float = _opt(
        0,
        None,
        "Epochs of linear warm-up from 0 to the initial learn rate, in [0, 100000].",
        ge=0,
        le=100_000,
    )
    shuffle: Shuffle = _opt("once", "Shuffle", "once (before training), every-epoch, or never.")
    validation_frequency: int = _opt(
        50, "ValidationFrequency", "Iterations between validations (>= 1).", ge=1
    )
    validation_patience: CountOrInf = _opt(
        math.inf,
        "ValidationPatience",
        "Stop after this many validations without a new best validation loss (>= 1, or inf).",
        json_schema_extra={"default": "inf"},
    )
    output_network: OutputNetwork = _opt(
        "last-iteration",
        "OutputNetwork",
        "Network kept at the end: last-iteration, or best-validation-loss.",
    )
    seed: int = _opt(
        0,
        None,
        "Seed for initialisation, shuffling and dropout (a 64-bit integer).",
        ge=SEED_MIN,
        le=SEED_MAX,
    )
    execution_environment: ExecutionEnvironment = _opt(
        "auto", "ExecutionEnvironment", "auto (a GPU when there is one), cpu, or gpu."
    )
    update_ratio_frequency: int = _opt(
        0,
        None,
        "Every this many iterations, record each layer's update/weight ratio ‖Δw‖/‖w‖ "
        "(update_ratio/<layer>); 0 = off. Healthy is about 1e-3: far below, the layer "
        "barely learns (raise the learn rate); far above, it is unstable (lower it).",
        ge=0,
        le=1_000_000,
    )

    @model_validator(mode="after")
    def _solver_defaults(self) -> TrainingOptions:
        if self.initial_learn_rate is None:
            self.initial_learn_rate = 0.01 if self.solver in ("sgdm", "sgd") else 0.001
        if self.squared_gradient_decay_factor is None:
            self.squared_gradient_decay_factor = 0.9 if self.solver == "rmsprop" else 0.999
        if self.validation_patience != math.inf and self.validation_patience != int(
            self.validation_patience
        ):
            raise ValueError("validation_patience must be a whole number >= 1 or inf")
        return self

    @property
    def learn_rate(self) -> float:
        """The initial learn rate in force (never None after validation)."""
        assert self.initial_learn_rate is not None
        return self.initial_learn_rate

    @property
    def beta2(self) -> float:
        assert self.squared_gradient_decay_factor is not None
        return self.squared_gradient_decay_factor
