"""RunSpec: what one run trains (DESIGN §6): dataset, model, options, plus labels."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from trainscope.schemas.datasets import DatasetSpec
from trainscope.schemas.model import ModelSpec, PresetModel, check_model
from trainscope.schemas.options import TrainingOptions


class RunSpec(BaseModel):
    """A complete description of a training run. Same spec + same seed on CPU → same points."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200, description="A label for people.")
    dataset: DatasetSpec
    model: ModelSpec = Field(
        default_factory=lambda: PresetModel(preset="mlp"),
        description='A preset ({"preset": "simple-cnn"}) or a layer list ({"layers": [...]}).',
    )
    options: TrainingOptions = Field(default_factory=TrainingOptions)
    tags: list[str] = Field(default_factory=list, max_length=50)
    group: str | None = Field(None, max_length=200)

    @field_validator("model")
    @classmethod
    def _model_fits_data(cls, model: ModelSpec, info: ValidationInfo) -> ModelSpec:
        dataset = info.data.get("dataset")
        data_info = dataset.static_info() if dataset is not None else None
        if data_info is not None:
            check_model(model, data_info)  # raises ModelShapeError (a ValueError) naming the layer
        return model

    @field_validator("options")
    @classmethod
    def _options_fit_data(cls, options: TrainingOptions, info: ValidationInfo) -> TrainingOptions:
        dataset = info.data.get("dataset")
        if dataset is None or dataset.validation_fraction > 0:
            return options
        needs_validation = []
        if not math.isinf(options.validation_patience):
            needs_validation.append("validation_patience")
        if options.learn_rate_schedule == "plateau":
            needs_validation.append("learn_rate_schedule 'plateau'")
        if options.output_network == "best-validation-loss":
            needs_validation.append("output_network 'best-validation-loss'")
        if needs_validation:
            verb = "needs" if len(needs_validation) == 1 else "need"
            raise ValueError(
                f"{', '.join(needs_validation)} {verb} validation data, but "
                "dataset.validation_fraction is 0"
            )
        return options


def run_spec_schema() -> dict[str, Any]:
    """The JSON schema the browser builds its form from, with the snake_case names (the MATLAB
    names are accepted on input but are not what a form should show)."""
    return RunSpec.model_json_schema(by_alias=False)
