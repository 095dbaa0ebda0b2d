"""RunSpec: the whole spec validates together, and its problems read as one line each."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from trainscope.schemas.datasets import DATASET_NAMES
from trainscope.schemas.errors import format_validation_error
from trainscope.schemas.layers import LAYER_TYPES
from trainscope.schemas.spec import RunSpec, run_spec_schema


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as info:
        RunSpec.model_validate(raw)
    return format_validation_error(info.value, RunSpec, tags=(*DATASET_NAMES, *LAYER_TYPES))


def test_minimal_spec_gets_the_mlp_and_matlab_defaults() -> None:
    spec = RunSpec.model_validate({"dataset": {"name": "digits"}})
    assert spec.model.model_dump() == {"preset": "mlp"}
    assert spec.options.max_epochs == 30
    assert spec.dataset.validation_fraction == 0.2


def test_spec_round_trips_through_json() -> None:
    spec = RunSpec.model_validate(
        {
            "name": "x",
            "dataset": {"name": "spirals", "num_classes": 4},
            "model": {"layers": [{"type": "fc", "units": 8}, {"type": "relu"}]},
            "options": {"InitialLearnRate": 0.3, "GradientThreshold": 2, "solver": "adam"},
            "tags": ["a"],
            "group": "g",
        }
    )
    assert RunSpec.model_validate_json(spec.model_dump_json()) == spec


def test_model_that_does_not_fit_the_dataset_is_refused_at_the_model() -> None:
    lines = problems({"dataset": {"name": "spirals"}, "model": {"preset": "simple-cnn"}})
    assert lines == ["model: preset 'simple-cnn' needs image input; dataset gives vector 2"]


def test_validation_dependent_options_need_validation_data() -> None:
    lines = problems(
        {
            "dataset": {"name": "digits", "validation_fraction": 0},
            "options": {"validation_patience": 5},
        }
    )
    assert lines == [
        "options: validation_patience needs validation data, but dataset.validation_fraction is 0"
    ]
    lines = problems(
        {
            "dataset": {"name": "digits", "validation_fraction": 0},
            "options": {"learn_rate_schedule": "plateau", "output_network": "best-validation-loss"},
        }
    )
    assert "need validation data" in lines[0]


def test_all_problems_are_reported_at_once() -> None:
    lines = problems(
        {
            "dataset": {"name": "digits", "test_fraction": 2},
            "options": {"max_epochs": 0, "shuffle": "sometimes"},
            "colour": "red",
        }
    )
    assert len(lines) == 4
    assert "dataset.test_fraction: must be less than 1 (got 2)" in lines
    assert "unknown field 'colour'" in lines


def test_unknown_dataset_lists_the_known_ones() -> None:
    lines = problems({"dataset": {"name": "imagenet"}})
    assert len(lines) == 1
    assert "dataset" in lines[0] and "digits" in lines[0] and "imagenet" in lines[0]


def test_schema_for_forms_names_every_option_with_its_range() -> None:
    schema = run_spec_schema()
    assert set(schema["properties"]) >= {"dataset", "model", "options", "name", "tags", "group"}
    options = schema["$defs"]["TrainingOptions"]["properties"]
    assert "initial_learn_rate" in options and "InitialLearnRate" not in options
    assert all(p.get("description") for p in options.values())
    # JSON has no infinity: the schema must be valid JSON and say how "inf" is written.
    json.dumps(schema, allow_nan=False)
    assert options["gradient_threshold"]["default"] == "inf"
    assert {"const": "inf"} in options["validation_patience"]["anyOf"]
