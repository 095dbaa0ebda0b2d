"""Datasets for the training engine: `load_dataset(spec, data_dir)` gives split arrays.

numpy and scikit-learn only (no torch): the training loop turns the arrays into tensors.
`load_dataset` is a pure function of (spec, data_dir), so callers may cache its result by
`spec.model_dump_json()`; the only side effect is the first download of MNIST-format data.
"""

from __future__ import annotations

from pathlib import Path

from trainscope.engine.datasets.base import DatasetError, DatasetSplits, Labeled, Split
from trainscope.engine.datasets.builtin import (
    load_digits_dataset,
    make_sequence_classes,
    make_sine_forecast,
    make_spirals,
    make_synthetic_images,
)
from trainscope.engine.datasets.files import load_file_dataset
from trainscope.engine.datasets.idx import load_idx_dataset
from trainscope.engine.datasets.split import (
    PURPOSE_TEST,
    PURPOSE_VALIDATION,
    cap,
    check_class_sizes,
    hold_out,
)
from trainscope.schemas.datasets import (
    DatasetSpec,
    DigitsSpec,
    FashionMnistSpec,
    FileSpec,
    MnistSpec,
    SequenceClassesSpec,
    SineForecastSpec,
    SpiralsSpec,
    SyntheticImagesSpec,
)

__all__ = ["DatasetError", "DatasetSplits", "Split", "load_dataset"]


def _load_all(spec: DatasetSpec, data_dir: Path) -> Labeled:
    """Every sample of a dataset that has no official test set."""
    if isinstance(spec, DigitsSpec):
        return load_digits_dataset(spec)
    if isinstance(spec, SyntheticImagesSpec):
        return make_synthetic_images(spec)
    if isinstance(spec, SpiralsSpec):
        return make_spirals(spec)
    if isinstance(spec, SineForecastSpec):
        return make_sine_forecast(spec)
    if isinstance(spec, SequenceClassesSpec):
        return make_sequence_classes(spec)
    if isinstance(spec, FileSpec):
        return load_file_dataset(spec, data_dir)
    raise DatasetError(f"unknown dataset {spec.name!r}")


def load_dataset(spec: DatasetSpec, data_dir: Path) -> DatasetSplits:
    """Load (or generate) the dataset of `spec` and split it into training, validation and
    test parts (see `split` for the order). Raises DatasetError with a one-line message."""
    data_dir = Path(data_dir)
    if isinstance(spec, (MnistSpec, FashionMnistSpec)):
        rest, test = load_idx_dataset(spec, data_dir)  # the official t10k files are the test set
        with_test = False
    else:
        rest, test = _load_all(spec, data_dir), None
        with_test = spec.test_fraction > 0
    with_validation = spec.validation_fraction > 0
    try:
        check_class_sizes(rest, with_test=with_test, with_validation=with_validation)
        if test is None:
            rest, test = hold_out(rest, spec.test_fraction, spec.seed, PURPOSE_TEST, "test")
        train, val = hold_out(
            rest, spec.validation_fraction, spec.seed, PURPOSE_VALIDATION, "validation"
        )
    except DatasetError as error:
        # Say which data could not be split: the file's name, or the dataset's.
        source = Path(spec.path).name if isinstance(spec, FileSpec) else spec.name
        raise DatasetError(f"{source}: {error}") from None
    train = cap(train, spec.max_train_samples, spec.seed)
    return DatasetSplits(
        train=train.split(),
        val=val.split() if with_validation else None,
        test=test.split(),
        info=train.info(),
        class_names=train.class_names,
    )
