"""RunSpec: what one run trains (DESIGN §6): dataset, model, options, plus labels."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from trainscope.schemas.datasets import DatasetSpec
from trainscope.schemas.model import (
    BatchNormLayer,
    ModelSpec,
    PresetModel,
    check_model,
    resolve_layers,
)
from trainscope.schemas.options import TrainingOptions

# "external": a run logged by the user's own script through the SDK (`trainscope.init`, see
# docs/sdk.md). trainscope does not train it, so it has no dataset or model and cannot be
# restarted, resumed or repeated; it is created by POST /api/runs/external, never by
# POST /api/runs.
RunKind = Literal["train", "lr-range-test", "overfit-batch", "initial-loss", "external", "script"]
# The kinds POST /api/runs trains (the catalog offers these).
RUN_KINDS: tuple[str, ...] = ("train", "lr-range-test", "overfit-batch", "initial-loss")
EXTERNAL_KIND = "external"
# "script": a run of an entry point the operator registered (DESIGN §8): the user's own training
# code, started by trainscope with `args`; no dataset or model of trainscope's.
SCRIPT_KIND = "script"
# Kinds whose data and model are the user's code's business, not the spec's.
OWN_CODE_KINDS = (EXTERNAL_KIND, SCRIPT_KIND)
# Preflight runs (kind overfit-batch): this many mini-batches, trained this many iterations.
OVERFIT_BATCHES = 4
OVERFIT_ITERATIONS = 200


class LRRangeSpec(BaseModel):
    """The learning-rate range test (kind "lr-range-test"): the learn rate rises exponentially
    from `start_learn_rate` to `end_learn_rate` over `iterations`, and the run ends early when
    the smoothed loss explodes (4× its minimum) or becomes non-finite."""

    model_config = ConfigDict(extra="forbid")

    start_learn_rate: float = Field(1e-7, gt=0, le=1e3, description="First learn rate.")
    end_learn_rate: float = Field(10.0, gt=0, le=1e6, description="Last learn rate.")
    iterations: int = Field(300, ge=10, le=100_000, description="Iterations from start to end.")

    @model_validator(mode="after")
    def _rising(self) -> LRRangeSpec:
        if self.end_learn_rate <= self.start_learn_rate:
            raise ValueError(
                f"end_learn_rate {self.end_learn_rate:g} must be above start_learn_rate "
                f"{self.start_learn_rate:g}"
            )
        return self


class RunSpec(BaseModel):
    """A complete description of a training run. Same spec + same seed on CPU → same points."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200, description="A label for people.")
    # Required (a spec without it is refused as `missing`), null only for kind "external".
    dataset: DatasetSpec | None = Field(
        description="Which data and how it is split; null only for an external run."
    )
    model: ModelSpec | None = Field(
        default_factory=lambda: PresetModel(preset="mlp"),
        description='A preset ({"preset": "simple-cnn"}) or a layer list ({"layers": [...]}); '
        "null only for an external run.",
    )
    options: TrainingOptions = Field(default_factory=TrainingOptions)
    tags: list[str] = Field(default_factory=list, max_length=50)
    group: str | None = Field(None, max_length=200)
    kind: RunKind = Field(
        "train",
        description="train (default); preflight checks before tuning: initial-loss (one "
        "iteration: is the first loss near ln(classes)?), overfit-batch (4 mini-batches, no "
        "regularisation, 200 iterations: can the network fit them?), lr-range-test (the "
        "learn rate rises exponentially until the loss explodes; suggests an initial learn "
        "rate).",
    )
    lr_range: LRRangeSpec = Field(
        default_factory=LRRangeSpec, description="Settings of the lr-range-test kind."
    )
    config: dict[str, Any] | None = Field(
        None,
        description="An external run's configuration as its script gave it (trainscope.init("
        "config=...)): shown and compared in the dashboard; null for other runs.",
    )
    entrypoint: str | None = Field(
        None,
        max_length=64,
        description="A registered entry point's name (GET /api/entrypoints): the run is that "
        "code, started with `args`. Makes the kind `script`.",
    )
    args: dict[str, Any] | None = Field(
        None,
        description="An entry point's option values, checked against its schema; the stored "
        "run holds all of them, defaults filled in.",
    )
    launch: dict[str, Any] | None = Field(
        None,
        description="What a script run ran (argv, folder, the code's hash and git commit); "
        "written by the server, ignored on input.",
    )

    branch: dict[str, int] | None = Field(
        None,
        description="A branch's origin: {run_id, epoch, seq} of the parent's point it goes on "
        "from (POST /api/runs/{id}/branch); written by the server.",
    )

    @model_validator(mode="before")
    @classmethod
    def _external_has_no_data(cls, data: Any) -> Any:
        # An external run's script owns its data and model: none is recorded here.
        if isinstance(data, dict) and data.get("kind") == EXTERNAL_KIND:
            return {"dataset": None, "model": None, **data}
        if isinstance(data, dict) and data.get("entrypoint") is not None:
            return {"dataset": None, "model": None, **data, "kind": SCRIPT_KIND}
        return data

    @model_validator(mode="after")
    def _trained_runs_have_data(self) -> RunSpec:
        if self.kind == SCRIPT_KIND and not self.entrypoint:
            raise ValueError("a script run names its entry point (entrypoint)")
        if self.args is not None and self.kind != SCRIPT_KIND:
            raise ValueError(
                "args are an entry point's options: name the entry point (entrypoint) too"
            )
        if self.kind not in OWN_CODE_KINDS:
            missing = [name for name in ("dataset", "model") if getattr(self, name) is None]
            if missing:
                raise ValueError(
                    f"{' and '.join(missing)} may be null only for an external run "
                    f"(kind {self.kind!r} trains on a dataset with a model)"
                )
        return self

    @field_validator("model")
    @classmethod
    def _model_fits_data(cls, model: ModelSpec | None, info: ValidationInfo) -> ModelSpec | None:
        dataset = info.data.get("dataset")
        data_info = dataset.static_info() if dataset is not None else None
        if data_info is not None and model is not None:
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

    @field_validator("options")
    @classmethod
    def _batches_fit_model(cls, options: TrainingOptions, info: ValidationInfo) -> TrainingOptions:
        # Batchnorm normalizes each channel over the mini-batch (and the positions of an image
        # or a sequence): one sample of a vector, or of a 1×1 image, leaves it a single value,
        # which PyTorch refuses mid-run. Only the data can tell for a user's file.
        dataset, model = info.data.get("dataset"), info.data.get("model")
        data_info = dataset.static_info() if dataset is not None else None
        if options.mini_batch_size > 1 or model is None or data_info is None:
            return options
        layers = resolve_layers(model, data_info)
        inputs = [tuple(data_info.input_shape), *check_model(model, data_info)]
        for i, (layer, shape) in enumerate(zip(layers, inputs, strict=False), 1):
            # Values per channel in one sample: vector (F,) 1, sequence (T, C) T, image H·W.
            per_channel = {1: 1, 2: shape[0], 3: math.prod(shape[1:])}[len(shape)]
            if isinstance(layer, BatchNormLayer) and per_channel == 1:
                raise ValueError(
                    f"mini_batch_size 1 leaves batchnorm (layer {i} of the model) one value per "
                    "channel to normalize; use mini_batch_size 2 or more"
                )
        return options


def run_spec_schema() -> dict[str, Any]:
    """The JSON schema the browser builds its form from, with the snake_case names (the MATLAB
    names are accepted on input but are not what a form should show)."""
    return RunSpec.model_json_schema(by_alias=False)
