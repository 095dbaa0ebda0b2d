"""Training options: MATLAB names and defaults, solver-dependent defaults, clear messages."""

from __future__ import annotations

import json
import math

import pytest
from pydantic import ValidationError

from trainscope.schemas.errors import format_validation_error
from trainscope.schemas.options import TrainingOptions


def messages(**kwargs: object) -> list[str]:
    with pytest.raises(ValidationError) as info:
        TrainingOptions.model_validate(kwargs)
    return format_validation_error(info.value, TrainingOptions)


def test_defaults_are_matlabs() -> None:
    o = TrainingOptions()
    assert o.solver == "sgdm"
    assert o.initial_learn_rate == 0.01
    assert o.max_epochs == 30
    assert o.mini_batch_size == 128
    assert o.momentum == 0.9
    assert o.l2_regularization == 1e-4
    assert o.gradient_threshold == math.inf
    assert o.gradient_threshold_method == "l2norm"
    assert o.learn_rate_schedule == "none"
    assert (o.learn_rate_drop_period, o.learn_rate_drop_factor) == (10, 0.1)
    assert o.shuffle == "once"
    assert o.validation_frequency == 50
    assert o.validation_patience == math.inf
    assert o.output_network == "last-iteration"
    assert o.execution_environment == "auto"


@pytest.mark.parametrize(
    ("solver", "lr", "beta2"),
    [
        ("sgdm", 0.01, 0.999),
        ("sgd", 0.01, 0.999),
        ("adam", 0.001, 0.999),
        ("adamw", 0.001, 0.999),
        ("rmsprop", 0.001, 0.9),
    ],
)
def test_solver_dependent_defaults(solver: str, lr: float, beta2: float) -> None:
    o = TrainingOptions(solver=solver)  # type: ignore[arg-type]
    assert o.initial_learn_rate == lr
    assert o.squared_gradient_decay_factor == beta2


def test_explicit_values_beat_solver_defaults() -> None:
    o = TrainingOptions(
        solver="rmsprop", initial_learn_rate=0.05, squared_gradient_decay_factor=0.99
    )
    assert (o.initial_learn_rate, o.squared_gradient_decay_factor) == (0.05, 0.99)


def test_matlab_names_are_accepted() -> None:
    o = TrainingOptions.model_validate(
        {
            "InitialLearnRate": 0.1,
            "MaxEpochs": 4,
            "MiniBatchSize": 32,
            "Momentum": 0.5,
            "L2Regularization": 0.0,
            "GradientThreshold": "Inf",
            "LearnRateSchedule": "piecewise",
            "LearnRateDropPeriod": 2,
            "LearnRateDropFactor": 0.5,
            "Shuffle": "every-epoch",
            "ValidationFrequency": 7,
            "ValidationPatience": 3,
            "OutputNetwork": "best-validation-loss",
            "ExecutionEnvironment": "cpu",
            "GradientThresholdMethod": "global-l2norm",
            "GradientDecayFactor": 0.8,
            "SquaredGradientDecayFactor": 0.95,
            "Epsilon": 1e-6,
        }
    )
    assert o.initial_learn_rate == 0.1
    assert o.max_epochs == 4
    assert o.learn_rate_schedule == "piecewise"
    assert o.validation_patience == 3
    assert o.gradient_threshold == math.inf
    assert o.gradient_threshold_method == "global-l2norm"


def test_infinity_round_trips_through_json() -> None:
    o = TrainingOptions(gradient_threshold=math.inf, validation_patience=5)
    dumped = json.loads(o.model_dump_json())
    assert dumped["gradient_threshold"] == "inf"
    assert dumped["validation_patience"] == 5
    assert TrainingOptions.model_validate(dumped) == o


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("initial_learn_rate", -1, "initial_learn_rate: must be greater than 0 (got -1)"),
        ("initial_learn_rate", 0, "initial_learn_rate: must be greater than 0 (got 0)"),
        ("max_epochs", 0, "max_epochs: must be greater than or equal to 1 (got 0)"),
        ("mini_batch_size", 2.5, "mini_batch_size"),
        ("momentum", 1.0, "momentum: must be less than 1 (got 1.0)"),
        ("momentum", -0.1, "momentum: must be greater than or equal to 0"),
        ("gradient_decay_factor", 1, "gradient_decay_factor: must be less than 1"),
        (
            "squared_gradient_decay_factor",
            1.5,
            "squared_gradient_decay_factor: must be less than 1",
        ),
        ("epsilon", 0, "epsilon: must be greater than 0"),
        ("l2_regularization", -1e-4, "l2_regularization: must be greater than or equal to 0"),
        ("gradient_threshold", 0, "gradient_threshold: must be greater than 0"),
        ("gradient_threshold", "lots", "gradient_threshold"),
        (
            "gradient_threshold_method",
            "l1",
            "gradient_threshold_method: must be 'l2norm', 'global-l2norm' or 'absolute-value'",
        ),
        (
            "solver",
            "lbfgs",
            "solver: must be 'sgdm', 'adam', 'rmsprop', 'sgd' or 'adamw' (got 'lbfgs')",
        ),
        ("learn_rate_schedule", "step", "learn_rate_schedule: must be 'none', 'piecewise'"),
        ("learn_rate_drop_period", 0, "learn_rate_drop_period: must be greater than or equal to 1"),
        ("learn_rate_drop_factor", 2, "learn_rate_drop_factor: must be less than or equal to 1"),
        ("warmup_epochs", -1, "warmup_epochs: must be greater than or equal to 0"),
        ("shuffle", "always", "shuffle: must be 'once', 'every-epoch' or 'never'"),
        ("validation_frequency", 0, "validation_frequency: must be greater than or equal to 1"),
        ("validation_patience", 0, "validation_patience: must be greater than or equal to 1"),
        ("validation_patience", 2.5, "validation_patience must be a whole number"),
        (
            "output_network",
            "best",
            "output_network: must be 'last-iteration' or 'best-validation-loss'",
        ),
        ("execution_environment", "tpu", "execution_environment: must be 'auto', 'cpu' or 'gpu'"),
        ("seed", "abc", "seed"),
    ],
)
def test_every_bad_value_names_the_field_and_the_range(
    field: str, value: object, expected: str
) -> None:
    lines = messages(**{field: value})
    assert any(expected in line for line in lines), lines


def test_matlab_name_errors_name_the_matlab_field() -> None:
    lines = messages(InitialLearnRate=-1)
    assert lines == ["InitialLearnRate: must be greater than 0 (got -1)"]


def test_unknown_option_suggests_the_right_name() -> None:
    lines = messages(learn_rate=0.1)
    assert len(lines) == 1
    assert "unknown field 'learn_rate'" in lines[0]
    assert "did you mean" in lines[0]
