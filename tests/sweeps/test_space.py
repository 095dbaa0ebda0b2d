"""Search spaces: grid expansion, seeded random proposals, and what a bad space is told."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import ValidationError

from trainscope.schemas.overrides import merge_overrides
from trainscope.sweeps.spec import SweepSpec, TrialRejected, check_trials

BASE: dict[str, Any] = {"dataset": {"name": "spirals"}, "options": {"max_epochs": 2}}


def sweep(**kwargs: Any) -> SweepSpec:
    return SweepSpec.model_validate({"base": BASE, **kwargs})


def test_a_2x2_grid_proposes_exactly_its_four_combinations_first_key_slowest() -> None:
    s = sweep(
        space={
            "initial_learn_rate": {"values": [0.1, 0.01]},
            "MiniBatchSize": {"values": [16, 32]},
        }
    )
    assert s.proposals() == [
        {"initial_learn_rate": 0.1, "MiniBatchSize": 16},
        {"initial_learn_rate": 0.1, "MiniBatchSize": 32},
        {"initial_learn_rate": 0.01, "MiniBatchSize": 16},
        {"initial_learn_rate": 0.01, "MiniBatchSize": 32},
    ]
    specs = check_trials(s, merge_overrides)
    got = [(t.options.initial_learn_rate, t.options.mini_batch_size) for t in specs]
    assert got == [(0.1, 16), (0.1, 32), (0.01, 16), (0.01, 32)]


def test_random_search_with_the_same_seed_proposes_the_same_trials() -> None:
    space = {
        "initial_learn_rate": {"log_uniform": [1e-4, 1e-1]},
        "momentum": {"uniform": [0.8, 0.99]},
        "mini_batch_size": {"int_uniform": [8, 64]},
        "solver": {"values": ["sgdm", "adam"]},
    }
    a = sweep(strategy="random", space=space, trials=12, seed=7).proposals()
    b = sweep(strategy="random", space=dict(reversed(space.items())), trials=12, seed=7)
    assert a == [{k: t[k] for k in space} for t in b.proposals()]  # key order does not matter
    assert a != sweep(strategy="random", space=space, trials=12, seed=8).proposals()
    assert len({repr(t) for t in a}) == 12
    for t in a:
        assert 1e-4 <= t["initial_learn_rate"] <= 1e-1 and 0.8 <= t["momentum"] <= 0.99
        assert isinstance(t["mini_batch_size"], int) and 8 <= t["mini_batch_size"] <= 64
    # log-uniform: as many draws below the geometric middle as above, roughly
    lrs = [
        t["initial_learn_rate"]
        for t in sweep(strategy="random", space=space, trials=400, seed=1).proposals()
    ]
    below = sum(lr < math.sqrt(1e-4 * 1e-1) for lr in lrs)
    assert 150 < below < 250


def test_dataset_and_model_keys_set_those_parts() -> None:
    s = sweep(
        space={"dataset.num_samples": {"values": [300, 600]}, "model.preset": {"values": ["mlp"]}}
    )
    specs = check_trials(s, merge_overrides)
    assert [t.dataset.num_samples for t in specs] == [300, 600]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"space": {"learn_rate": {"values": [1]}}}, "space", "learn_rate: not a training option"),
        ({"space": {"momentum": {"values": [0.9], "uniform": [0, 1]}}}, "momentum", "exactly one"),
        ({"space": {"momentum": {"uniform": [0.9, 0.1]}}}, "momentum", "low 0.9 is above high"),
        ({"space": {"initial_learn_rate": {"log_uniform": [0, 1]}}}, "initial_learn_rate", "> 0"),
        ({"space": {"momentum": {"uniform": [0, 1]}}}, "", "a grid needs"),
        ({"space": {"momentum": {"values": [0.9]}}, "trials": 3}, "", "only for strategy random"),
        (
            {"space": {"seed": {"int_uniform": [0, 10]}, "epsilon": {"values": [1e-8] * 100}}},
            "",
            "1,100 combinations",
        ),
        (
            {"space": {"InitialLearnRate": {"values": [1]}, "initial_learn_rate": {"values": [1]}}},
            "space",
            "are the same option",
        ),
    ],
)
def test_a_bad_space_is_refused_naming_the_field(
    body: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as info:
        sweep(**body)
    err = info.value.errors()[0]
    assert field in [str(p) for p in err["loc"]] or field == ""
    assert words in err["msg"]


def test_a_trial_that_is_not_a_valid_run_names_its_space_key() -> None:
    s = sweep(space={"Momentum": {"values": [0.9, 1.5]}})
    with pytest.raises(TrialRejected) as info:
        check_trials(s, merge_overrides)
    assert info.value.loc == ("space", "Momentum")
    assert info.value.message.startswith("trial 1 (Momentum=1.5): options.momentum:")
