"""Dataset specs: one discriminated union on `name`, documented fields, shapes known up front."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from pydantic import ValidationError

from trainscope.schemas.datasets import (
    DATASET_NAMES,
    DigitsSpec,
    FashionMnistSpec,
    FileSpec,
    MnistSpec,
    SequenceClassesSpec,
    SineForecastSpec,
    SpiralsSpec,
    SyntheticImagesSpec,
    dataset_catalog,
    parse_dataset_spec,
)
from trainscope.schemas.shapes import DataInfo

MINIMAL: dict[str, dict[str, Any]] = {name: {"name": name} for name in DATASET_NAMES}
MINIMAL["file"] = {"name": "file", "path": "data.npz"}


def error_text(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        parse_dataset_spec(data)
    return str(info.value)


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_name_picks_the_spec_class_and_common_defaults(name: str) -> None:
    spec = parse_dataset_spec(MINIMAL[name])
    assert spec.name == name
    assert spec.validation_fraction == 0.2
    assert spec.test_fraction == 0.2
    assert spec.max_train_samples is None
    assert spec.seed == 0
    # A dumped spec is a valid spec: what the server stores, it can load again.
    assert parse_dataset_spec(json.loads(spec.model_dump_json())) == spec


def test_classes_by_name() -> None:
    expected = {
        "digits": DigitsSpec,
        "mnist": MnistSpec,
        "fashion-mnist": FashionMnistSpec,
        "synthetic-images": SyntheticImagesSpec,
        "spirals": SpiralsSpec,
        "sine-forecast": SineForecastSpec,
        "sequence-classes": SequenceClassesSpec,
        "file": FileSpec,
    }
    assert set(expected) == set(DATASET_NAMES)
    for name, cls in expected.items():
        assert type(parse_dataset_spec(MINIMAL[name])) is cls


def test_unknown_name_lists_the_known_ones() -> None:
    text = error_text({"name": "imagenet"})
    assert "imagenet" in text
    assert "digits" in text and "sine-forecast" in text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("validation_fraction", 1.0),
        ("validation_fraction", -0.1),
        ("test_fraction", 1.0),
        ("test_fraction", -0.5),
        ("max_train_samples", 0),
        ("seed", -1),
    ],
)
def test_common_fields_out_of_range_are_refused(field: str, value: float) -> None:
    assert field in error_text({"name": "spirals", field: value})


def test_zero_fractions_are_allowed() -> None:
    spec = parse_dataset_spec({"name": "digits", "validation_fraction": 0, "test_fraction": 0})
    assert spec.validation_fraction == 0 and spec.test_fraction == 0


def test_unknown_fields_are_refused() -> None:
    assert "num_samples" in error_text({"name": "digits", "num_samples": 10})
    assert "image_size" in error_text({"name": "spirals", "image_size": 10})


def test_file_needs_a_path() -> None:
    assert "path" in error_text({"name": "file"})
    assert "path" in error_text({"name": "file", "path": ""})
    assert "task" in error_text({"name": "file", "path": "a.csv", "task": "ranking"})


def test_generated_datasets_refuse_sizes_that_would_fill_memory() -> None:
    text = error_text({"name": "synthetic-images", "num_samples": 1_000_000, "image_size": 128})
    assert "num_samples" in text and "values" in text
    assert "values" in error_text(
        {"name": "sine-forecast", "num_samples": 1_000_000, "sequence_length": 10_000}
    )
    assert "values" in error_text(
        {"name": "sequence-classes", "num_samples": 1_000_000, "sequence_length": 1000}
    )


def test_synthetic_images_shift() -> None:
    assert SyntheticImagesSpec().shift_pixels == 3  # 28 // 8
    assert SyntheticImagesSpec(image_size=8).shift_pixels == 1
    assert SyntheticImagesSpec(max_shift=0).shift_pixels == 0
    assert "max_shift" in error_text({"name": "synthetic-images", "image_size": 8, "max_shift": 4})


def test_static_info_without_loading() -> None:
    assert DigitsSpec().static_info() == DataInfo("classification", (1, 8, 8), 10)
    assert MnistSpec().static_info() == DataInfo("classification", (1, 28, 28), 10)
    assert FashionMnistSpec().static_info() == DataInfo("classification", (1, 28, 28), 10)
    assert SyntheticImagesSpec(image_size=16, channels=3, num_classes=4).static_info() == (
        DataInfo("classification", (3, 16, 16), 4)
    )
    assert SpiralsSpec(num_classes=5).static_info() == DataInfo("classification", (2,), 5)
    info = SineForecastSpec(sequence_length=30).static_info()
    assert info == DataInfo("regression", (30, 1), None, 1)
    assert info.output_size == 1
    assert SequenceClassesSpec(sequence_length=20, channels=2, num_classes=4).static_info() == (
        DataInfo("classification", (20, 2), 4)
    )
    assert FileSpec(path="x.npz").static_info() is None


def test_mnist_says_test_fraction_is_ignored() -> None:
    description = MnistSpec.model_fields["test_fraction"].description or ""
    assert "ignored" in description.lower() and "t10k" in description


def test_catalog_lists_every_dataset_with_a_documented_schema() -> None:
    catalog = dataset_catalog()
    assert [entry["name"] for entry in catalog] == list(DATASET_NAMES)
    json.dumps(catalog)  # served as JSON as is
    tasks = {entry["name"]: entry["task"] for entry in catalog}
    assert tasks["sine-forecast"] == "regression"
    assert tasks["digits"] == tasks["sequence-classes"] == "classification"
    assert tasks["file"] == "auto"
    for entry in catalog:
        assert entry["description"] and "\n" not in entry["description"]
        properties = entry["schema"]["properties"]
        assert {"name", "validation_fraction", "test_fraction", "max_train_samples", "seed"} <= (
            set(properties)
        )
        for field, schema in properties.items():
            # The UI builds its forms from these: every field says what it takes.
            assert field == "name" or schema.get("description"), (entry["name"], field)


def test_importing_the_schemas_pulls_in_no_numeric_libraries() -> None:
    # The web server validates specs with this module and must stay free of torch and numpy.
    code = (
        "import sys, trainscope.schemas.datasets\n"
        "print(sorted(m for m in ('torch', 'numpy', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
