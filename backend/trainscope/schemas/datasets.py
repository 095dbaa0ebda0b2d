"""The dataset part of a run spec (DESIGN §6): which data, how it is split, its own parameters.

Pure pydantic: the server validates specs and builds its forms from the JSON schema of these
classes without importing torch, numpy or scikit-learn. The loading itself lives in
`trainscope.engine.datasets`.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from trainscope.schemas.shapes import DataInfo

DATASET_NAMES: tuple[str, ...] = (
    "digits",
    "mnist",
    "fashion-mnist",
    "synthetic-images",
    "spirals",
    "sine-forecast",
    "sequence-classes",
    "file",
)

# Generated datasets are built in memory as float32 (and float64 while generating): a cap on the
# number of values keeps a typo in a form (num_samples=10**7) from taking a worker's memory.
MAX_GENERATED_VALUES = 50_000_000


class DatasetSpecBase(BaseModel):
    """Fields every dataset has: how its samples are split into training, validation and test."""

    model_config = ConfigDict(extra="forbid")

    # One line for the catalog; the class docstring says the rest.
    description: ClassVar[str] = ""
    catalog_task: ClassVar[str] = "classification"

    validation_fraction: float = Field(
        0.2,
        ge=0,
        lt=1,
        description="Fraction of the non-test samples held out for validation, in [0, 1); "
        "0 means no validation data.",
    )
    test_fraction: float = Field(
        0.2,
        ge=0,
        lt=1,
        description="Fraction of all samples held out for the final test, in [0, 1); "
        "0 means an empty test split.",
    )
    max_train_samples: int | None = Field(
        None,
        ge=1,
        description="Cap on the number of training samples (>= 1), taken after the test and "
        "validation splits, stratified by class; empty for no cap. For quick runs and "
        "overfitting experiments.",
    )
    seed: int = Field(
        0,
        ge=0,
        description="Seed (>= 0) for the splits and for generating synthetic data; separate from "
        "the training seed, so the data stay the same while the training seed varies.",
    )

    def static_info(self) -> DataInfo | None:
        """Task, sample shape and outputs known from the spec alone; None when only the data
        can tell (a user's file)."""
        return None

    # Samples before the splits for datasets of a fixed size; generated ones have num_samples.
    known_samples: ClassVar[int | None] = None

    def train_samples(self) -> int | None:
        """About how many training samples a run sees per epoch (the server's ceiling on
        max_epochs × samples uses it); None when only the data can tell (a user's file)."""
        total = getattr(self, "num_samples", None) or self.known_samples
        if total is None:
            return self.max_train_samples
        n = max(1, int(total * (1 - self.test_fraction) * (1 - self.validation_fraction)))
        return min(n, self.max_train_samples) if self.max_train_samples else n


def _num_samples(default: int) -> Any:
    return Field(
        default, ge=10, le=1_000_000, description="Number of samples generated, in [10, 1000000]."
    )


def _noise(default: float, what: str) -> Any:
    return Field(default, ge=0, le=10, description=f"{what}, in [0, 10].")


def _check_size(values: int, what: str) -> None:
    if values > MAX_GENERATED_VALUES:
        raise ValueError(
            f"{what} = {values:,} values, more than {MAX_GENERATED_VALUES:,}; "
            "lower num_samples or the sample size"
        )


class DigitsSpec(DatasetSpecBase):
    """scikit-learn's bundled handwritten digits: 1797 images of 8×8 pixels, 10 classes,
    pixels scaled to [0, 1]. Small enough to train in seconds on a CPU."""

    description: ClassVar[str] = "Handwritten digits, 1797 images 8×8, 10 classes (bundled)."

    name: Literal["digits"] = "digits"
    known_samples: ClassVar[int | None] = 1797

    def static_info(self) -> DataInfo:
        return DataInfo(task="classification", input_shape=(1, 8, 8), num_classes=10)


_IDX_TEST_FRACTION = (
    "Ignored: the official 10,000-image t10k set is the test split. Kept so a spec can switch "
    "datasets without losing its fields."
)


class _IdxSpecBase(DatasetSpecBase):
    """MNIST-format data: four IDX files (raw or .gz), the official train/t10k split."""

    path: str | None = Field(
        None,
        description="Directory holding train-images-idx3-ubyte, train-labels-idx1-ubyte, "
        "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (each optionally .gz); absolute or "
        "relative to the data directory. Empty: <data dir>/datasets/<name>/, downloaded there "
        "on first use.",
    )
    test_fraction: float = Field(0.2, ge=0, lt=1, description=_IDX_TEST_FRACTION)

    def static_info(self) -> DataInfo:
        # The header of the files has the final word; these are the sizes of the real datasets.
        return DataInfo(task="classification", input_shape=(1, 28, 28), num_classes=10)


class MnistSpec(_IdxSpecBase):
    """MNIST handwritten digits: 60,000 training and 10,000 test images of 28×28 pixels."""

    description: ClassVar[str] = "MNIST digits, 70,000 images 28×28, 10 classes (downloaded)."

    name: Literal["mnist"] = "mnist"
    known_samples: ClassVar[int | None] = 60_000


class FashionMnistSpec(_IdxSpecBase):
    """Zalando's Fashion-MNIST: clothing images in MNIST's format, harder than the digits."""

    description: ClassVar[str] = (
        "Fashion-MNIST clothing, 70,000 images 28×28, 10 classes (downloaded)."
    )

    name: Literal["fashion-mnist"] = "fashion-mnist"
    known_samples: ClassVar[int | None] = 60_000


class SyntheticImagesSpec(DatasetSpecBase):
    """Each class is a fixed smooth random pattern (drawn from the seed); each sample is its
    class's pattern, shifted by a few random pixels, plus Gaussian pixel noise. Needs no files;
    noise and max_shift set the difficulty."""

    description: ClassVar[str] = "Generated images: a smooth pattern per class plus noise."

    name: Literal["synthetic-images"] = "synthetic-images"
    num_samples: int = _num_samples(2000)
    image_size: int = Field(
        28, ge=4, le=128, description="Height and width in pixels, in [4, 128]."
    )
    channels: int = Field(1, ge=1, le=4, description="Colour channels, in [1, 4].")
    num_classes: int = Field(10, ge=2, le=100, description="Number of classes, in [2, 100].")
    noise: float = _noise(0.5, "Standard deviation of the pixel noise (patterns lie in [0, 1])")
    max_shift: int | None = Field(
        None,
        ge=0,
        le=32,
        description="Largest random shift of a sample's pattern, in pixels each way, in [0, 32] "
        "and below image_size / 2; empty: image_size // 8 (3 for 28×28). 0: fixed positions.",
    )

    @model_validator(mode="after")
    def _check(self) -> SyntheticImagesSpec:
        size = self.num_samples * self.channels * self.image_size**2
        _check_size(size, "num_samples × channels × image_size²")
        if self.max_shift is not None and 2 * self.max_shift >= self.image_size:
            raise ValueError(
                f"max_shift={self.max_shift} must be below image_size / 2 = {self.image_size / 2}"
            )
        return self

    @property
    def shift_pixels(self) -> int:
        """The shift in force: max_shift, or image_size // 8 when left empty."""
        return self.image_size // 8 if self.max_shift is None else self.max_shift

    def static_info(self) -> DataInfo:
        shape = (self.channels, self.image_size, self.image_size)
        return DataInfo(task="classification", input_shape=shape, num_classes=self.num_classes)


class SpiralsSpec(DatasetSpecBase):
    """Interleaved 2-D spirals, one arm per class: the classic data a linear model cannot fit
    and a small MLP can."""

    description: ClassVar[str] = "Interleaved 2-D spirals, one arm per class."

    name: Literal["spirals"] = "spirals"
    num_samples: int = _num_samples(900)
    num_classes: int = Field(3, ge=2, le=10, description="Number of arms (classes), in [2, 10].")
    noise: float = _noise(0.2, "Standard deviation of the noise on each point's angle, in radians")
    turns: float = Field(
        1.5, gt=0, le=10, description="Turns each arm makes around the centre, in (0, 10]."
    )

    def static_info(self) -> DataInfo:
        return DataInfo(task="classification", input_shape=(2,), num_classes=self.num_classes)


class SineForecastSpec(DatasetSpecBase):
    """Regression: each sample is a window of a noisy sum of 1–3 sines (random frequency, phase
    and amplitude); the target is the series' next value, noise included."""

    description: ClassVar[str] = "Forecast the next value of a noisy sum of sines (regression)."
    catalog_task: ClassVar[str] = "regression"

    name: Literal["sine-forecast"] = "sine-forecast"
    num_samples: int = _num_samples(2000)
    sequence_length: int = Field(
        50, ge=2, le=10_000, description="Time steps in each input window, in [2, 10000]."
    )
    noise: float = _noise(0.05, "Standard deviation of the noise added to the series")

    @model_validator(mode="after")
    def _not_too_big(self) -> SineForecastSpec:
        _check_size(self.num_samples * self.sequence_length, "num_samples × sequence_length")
        return self

    def static_info(self) -> DataInfo:
        return DataInfo(task="regression", input_shape=(self.sequence_length, 1), num_targets=1)


class SequenceClassesSpec(DatasetSpecBase):
    """Sequence classification: each class is a frequency band; a sample is a sine with a
    frequency from its class's band, random phase and amplitude, plus noise."""

    description: ClassVar[str] = "Classify noisy sequences by their frequency band."

    name: Literal["sequence-classes"] = "sequence-classes"
    num_samples: int = _num_samples(1500)
    sequence_length: int = Field(
        40, ge=8, le=10_000, description="Time steps in each sequence, in [8, 10000]."
    )
    num_classes: int = Field(3, ge=2, le=10, description="Number of classes (bands), in [2, 10].")
    channels: int = Field(
        1,
        ge=1,
        le=16,
        description="Channels per time step (same frequency, own phase), in [1, 16].",
    )
    noise: float = _noise(0.3, "Standard deviation of the noise (signal amplitude 0.5–1.5)")

    @model_validator(mode="after")
    def _not_too_big(self) -> SequenceClassesSpec:
        size = self.num_samples * self.sequence_length * self.channels
        _check_size(size, "num_samples × sequence_length × channels")
        return self

    def static_info(self) -> DataInfo:
        shape = (self.sequence_length, self.channels)
        return DataInfo(task="classification", input_shape=shape, num_classes=self.num_classes)


class FileSpec(DatasetSpecBase):
    """A user's data: a .npz with arrays X and y, or a .csv with a header row.

    X is (N, F) features, (N, T, C) sequences or (N, C, H, W) images; a .csv gives (N, F).
    Class labels may be any values (numbers or strings); they are mapped to 0..C-1 in sorted
    order and kept as the class names.
    """

    description: ClassVar[str] = "Your own .npz (arrays X, y) or .csv (header row) file."
    catalog_task: ClassVar[str] = "auto"

    name: Literal["file"] = "file"
    path: str = Field(
        min_length=1,
        description="Path to a .npz (arrays X and y, no pickled objects) or .csv (header row; "
        "the target column is y, every other column a numeric feature); absolute or relative "
        "to the data directory.",
    )
    target: str = Field(
        "y", min_length=1, description="Name of the target column of a .csv (ignored for .npz)."
    )
    task: Literal["auto", "classification", "regression"] = Field(
        "auto",
        description="auto: classification when y holds strings, or whole numbers with at most "
        "100 distinct values and at most one per two samples; regression otherwise.",
    )


DatasetSpec = Annotated[
    Union[  # noqa: UP007  (the discriminated union reads better spelled out)
        DigitsSpec,
        MnistSpec,
        FashionMnistSpec,
        SyntheticImagesSpec,
        SpiralsSpec,
        SineForecastSpec,
        SequenceClassesSpec,
        FileSpec,
    ],
    Field(discriminator="name"),
]

SPEC_CLASSES: tuple[type[DatasetSpecBase], ...] = (
    DigitsSpec,
    MnistSpec,
    FashionMnistSpec,
    SyntheticImagesSpec,
    SpiralsSpec,
    SineForecastSpec,
    SequenceClassesSpec,
    FileSpec,
)

_ADAPTER: TypeAdapter[DatasetSpec] = TypeAdapter(DatasetSpec)


def parse_dataset_spec(data: Any) -> DatasetSpec:
    """Validate a dataset spec given as a dict (or JSON-like data); raises pydantic's
    ValidationError with the field at fault."""
    return _ADAPTER.validate_python(data)


def dataset_catalog() -> list[dict[str, Any]]:
    """Every dataset with a one-line description, its task and the JSON schema of its
    parameters, for the UI's dataset form (`GET /api/catalog`)."""
    return [
        {
            "name": cls.model_fields["name"].default,
            "description": cls.description,
            "task": cls.catalog_task,
            "schema": cls.model_json_schema(),
        }
        for cls in SPEC_CLASSES
    ]
