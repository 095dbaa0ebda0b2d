"""Datasets: what a user checks — split sizes, class balance, no leaks, same data per seed,
MNIST-format files read (and fetched) correctly, and clear messages for broken files."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import math
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from trainscope.engine.datasets import DatasetError, DatasetSplits, Split, idx, load_dataset
from trainscope.schemas.datasets import DATASET_NAMES, DatasetSpec, parse_dataset_spec

SMALL: dict[str, dict[str, Any]] = {
    "digits": {},
    "synthetic-images": {"num_samples": 500, "image_size": 16},
    "spirals": {"num_samples": 300},
    "sine-forecast": {"num_samples": 400, "sequence_length": 20},
    "sequence-classes": {"num_samples": 300, "sequence_length": 24, "channels": 2},
}
GENERATED = [name for name in SMALL if name != "digits"]


def spec(name: str, **fields: Any) -> DatasetSpec:
    return parse_dataset_spec({"name": name, **SMALL.get(name, {}), **fields})


def rows(split: Split | None) -> list[bytes]:
    """One fingerprint per sample (its pixels/values and label): equal rows, equal samples."""
    assert split is not None
    return [
        hashlib.sha1(x.tobytes() + np.asarray(y).tobytes()).digest()
        for x, y in zip(split.X, split.y, strict=True)
    ]


def class_fractions(y: npt.NDArray[Any], num_classes: int) -> npt.NDArray[np.float64]:
    return np.bincount(y, minlength=num_classes) / len(y)


def same(a: DatasetSplits, b: DatasetSplits) -> bool:
    parts = [(a.train, b.train), (a.test, b.test), (a.val, b.val)]
    return all(
        x is not None and y is not None and np.array_equal(x.X, y.X) and np.array_equal(x.y, y.y)
        for x, y in parts
    )


# --- built-in and generated datasets -------------------------------------------------------


@pytest.mark.parametrize("name", list(SMALL))
def test_shapes_and_dtypes_match_the_static_info(name: str, tmp_path: Path) -> None:
    s = spec(name)
    data = load_dataset(s, tmp_path)
    assert data.info == s.static_info()
    for part in (data.train, data.val, data.test):
        assert part is not None
        assert part.X.dtype == np.float32
        assert part.X.shape[1:] == data.info.input_shape
        assert np.isfinite(part.X).all()
        if data.info.task == "classification":
            assert part.y.dtype == np.int64 and part.y.shape == (len(part),)
            assert part.y.min() >= 0 and part.y.max() < (data.info.num_classes or 0)
        else:
            assert part.y.dtype == np.float32 and part.y.shape == (len(part), 1)
    if data.info.task == "classification":
        assert data.class_names is not None and len(data.class_names) == data.info.num_classes
        # Every class is in every part.
        assert len(np.unique(data.test.y)) == data.info.num_classes
    else:
        assert data.class_names is None


@pytest.mark.parametrize("name", list(SMALL))
def test_builds_well_under_a_second(name: str, tmp_path: Path) -> None:
    load_dataset(spec(name), tmp_path)  # imports and caches warm
    start = time.perf_counter()
    load_dataset(spec(name), tmp_path)
    assert time.perf_counter() - start < 0.5


def test_split_sizes_add_up() -> None:
    data = load_dataset(spec("spirals", num_samples=900), Path("."))
    assert data.val is not None
    # Test first: ceil(0.2 × 900) = 180; validation: ceil(0.2 × 720) = 144; the rest trains.
    assert (len(data.test), len(data.val), len(data.train)) == (180, 144, 576)
    digits = load_dataset(spec("digits", test_fraction=0.1, validation_fraction=0.25), Path("."))
    assert digits.val is not None
    assert len(digits.test) == math.ceil(0.1 * 1797)
    assert len(digits.val) == math.ceil(0.25 * (1797 - len(digits.test)))
    assert len(digits.train) + len(digits.val) + len(digits.test) == 1797


def test_no_sample_is_in_two_splits(tmp_path: Path) -> None:
    data = load_dataset(spec("synthetic-images"), tmp_path)
    train, val, test = set(rows(data.train)), set(rows(data.val)), set(rows(data.test))
    assert not train & test and not val & test and not train & val
    assert len(train | val | test) == 500  # every sample used exactly once


def test_stratification_keeps_class_proportions(tmp_path: Path) -> None:
    data = load_dataset(spec("digits"), tmp_path)
    assert data.val is not None
    overall = class_fractions(np.concatenate([data.train.y, data.val.y, data.test.y]), 10)
    for part in (data.train, data.val, data.test):
        assert np.abs(class_fractions(part.y, 10) - overall).max() < 0.01
    balanced = load_dataset(spec("spirals", num_samples=900), tmp_path)
    assert np.bincount(balanced.test.y).tolist() == [60, 60, 60]


@pytest.mark.parametrize("name", list(SMALL))
def test_same_spec_same_arrays(name: str, tmp_path: Path) -> None:
    assert same(load_dataset(spec(name), tmp_path), load_dataset(spec(name), tmp_path))


@pytest.mark.parametrize("name", list(SMALL))
def test_another_seed_gives_another_split(name: str, tmp_path: Path) -> None:
    a = load_dataset(spec(name, seed=0), tmp_path)
    b = load_dataset(spec(name, seed=1), tmp_path)
    assert not np.array_equal(a.test.X, b.test.X)
    if name in GENERATED:  # new data altogether, not only a new split
        assert not set(rows(a.test)) & set(rows(b.test) + rows(b.train))


def test_the_test_set_does_not_depend_on_validation_or_cap(tmp_path: Path) -> None:
    base = load_dataset(spec("digits"), tmp_path)
    other = load_dataset(spec("digits", validation_fraction=0.5, max_train_samples=100), tmp_path)
    assert np.array_equal(base.test.X, other.test.X)


def test_max_train_samples_caps_training_only_and_keeps_balance(tmp_path: Path) -> None:
    full = load_dataset(spec("digits"), tmp_path)
    capped = load_dataset(spec("digits", max_train_samples=200), tmp_path)
    assert len(capped.train) == 200
    assert capped.val is not None and full.val is not None
    assert len(capped.val) == len(full.val) and len(capped.test) == len(full.test)
    assert np.bincount(capped.train.y, minlength=10).min() >= 19  # ~20 per class
    assert set(rows(capped.train)) <= set(rows(full.train))
    # Fewer samples than classes (overfitting one batch): still honoured.
    assert len(load_dataset(spec("spirals", max_train_samples=2), tmp_path).train) == 2
    # A cap above the training size changes nothing.
    assert len(load_dataset(spec("digits", max_train_samples=10**6), tmp_path).train) == len(
        full.train
    )


def test_zero_fractions(tmp_path: Path) -> None:
    data = load_dataset(spec("spirals", validation_fraction=0, test_fraction=0), tmp_path)
    assert data.val is None
    assert len(data.test) == 0 and data.test.X.shape == (0, 2)
    assert len(data.train) == 300


def test_regression_targets_are_float_columns(tmp_path: Path) -> None:
    data = load_dataset(spec("sine-forecast"), tmp_path)
    assert data.train.y.dtype == np.float32 and data.train.y.shape == (len(data.train), 1)
    assert data.info.task == "regression" and data.info.num_targets == 1
    # The input is the window just before the target: the next value is close to the last.
    last = data.test.X[:, -1, 0]
    assert np.corrcoef(last, data.test.y[:, 0])[0, 1] > 0.5


def test_classes_are_separable_by_their_definition(tmp_path: Path) -> None:
    # Sequence classes are frequency bands: the dominant FFT bin grows with the class.
    data = load_dataset(spec("sequence-classes", noise=0.0, sequence_length=200), tmp_path)
    peak = np.abs(np.fft.rfft(data.train.X[:, :, 0], axis=1)).argmax(axis=1)
    means = [peak[data.train.y == c].mean() for c in range(3)]
    assert means == sorted(means)
    # Spiral arms: without noise, a point's angle is 2π (turns × radius + class / classes).
    spirals = load_dataset(spec("spirals", noise=0.0, turns=1.5), tmp_path)
    x, y = spirals.train.X[:, 0].astype(np.float64), spirals.train.X[:, 1].astype(np.float64)
    arm = (np.arctan2(y, x) / (2 * np.pi) - 1.5 * np.hypot(x, y)) * 3
    assert np.allclose(np.mod(arm - spirals.train.y + 0.5, 3) - 0.5, 0, atol=1e-4)


def test_every_dataset_name_has_a_loader(tmp_path: Path) -> None:
    assert set(SMALL) | {"mnist", "fashion-mnist", "file"} == set(DATASET_NAMES)


# --- MNIST-format IDX files ----------------------------------------------------------------


def idx_bytes(array: npt.NDArray[Any]) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx(path: Path, array: npt.NDArray[Any]) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def tiny_mnist(
    directory: Path, gz: bool, n_train: int = 60, n_test: int = 20, rows: int = 5, cols: int = 4
) -> dict[str, npt.NDArray[np.uint8]]:
    """Four IDX files whose every image is filled with its label × 20 (+ its index), so a test
    can check that images and labels stay together."""
    directory.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, npt.NDArray[np.uint8]] = {}
    for part, n in (("train", n_train), ("t10k", n_test)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        images = np.empty((n, rows, cols), dtype=np.uint8)
        images[:] = (labels * 20)[:, None, None]
        images[:, 0, 0] = np.arange(n) % 256
        arrays[f"{part}-images-idx3-ubyte"] = images
        arrays[f"{part}-labels-idx1-ubyte"] = labels
    for name, array in arrays.items():
        write_idx(directory / (name + (".gz" if gz else "")), array)
    return arrays


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    # Port 9 (discard) on localhost refuses at once: a download "fails" without the internet.
    monkeypatch.setattr(
        idx,
        "MIRRORS",
        {"mnist": ("http://127.0.0.1:9/",), "fashion-mnist": ("http://127.0.0.1:9/",)},
    )
    monkeypatch.setattr(idx, "DOWNLOAD_TIMEOUT_S", 5.0)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_files_load_with_shape_from_header_and_official_test_set(
    tmp_path: Path, gz: bool, no_network: None
) -> None:
    arrays = tiny_mnist(tmp_path / "mnist-files", gz=gz)
    s = parse_dataset_spec({"name": "mnist", "path": str(tmp_path / "mnist-files")})
    data = load_dataset(s, tmp_path / "data")
    assert data.info.input_shape == (1, 5, 4) and data.info.num_classes == 10
    assert data.class_names == [str(d) for d in range(10)]
    # t10k is the test split, whole and in order; test_fraction does not apply.
    assert np.array_equal(data.test.y, arrays["t10k-labels-idx1-ubyte"])
    assert np.allclose(data.test.X[:, 0], arrays["t10k-images-idx3-ubyte"] / 255)
    assert data.val is not None
    assert len(data.train) + len(data.val) == 60 and len(data.val) == 12
    # Pixels in [0, 1], and each image still carries its own label.
    for part in (data.train, data.val):
        assert part.X.dtype == np.float32 and part.X.min() >= 0 and part.X.max() <= 1
        assert np.allclose(part.X[:, 0, 1, 1] * 255, part.y * 20, atol=1e-3)


def test_idx_relative_path_is_inside_the_data_dir(tmp_path: Path, no_network: None) -> None:
    tiny_mnist(tmp_path / "data" / "my-mnist", gz=True)
    s = parse_dataset_spec({"name": "fashion-mnist", "path": "my-mnist"})
    data = load_dataset(s, tmp_path / "data")
    assert data.class_names is not None and data.class_names[9] == "Ankle boot"


def test_idx_default_directory_is_used_without_downloading(
    tmp_path: Path, no_network: None
) -> None:
    tiny_mnist(tmp_path / "datasets" / "mnist", gz=False)
    data = load_dataset(parse_dataset_spec({"name": "mnist"}), tmp_path)
    assert len(data.test) == 20


def test_idx_missing_files_in_a_chosen_directory(tmp_path: Path, no_network: None) -> None:
    (tmp_path / "empty").mkdir()
    s = parse_dataset_spec({"name": "mnist", "path": str(tmp_path / "empty")})
    with pytest.raises(DatasetError) as info:
        load_dataset(s, tmp_path)
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message and "t10k-labels-idx1-ubyte" in message
    assert str(tmp_path / "empty") in message and "\n" not in message
    assert "download" not in message  # a directory the user chose is never written to


def test_idx_missing_files_and_failed_download(tmp_path: Path, no_network: None) -> None:
    with pytest.raises(DatasetError) as info:
        load_dataset(parse_dataset_spec({"name": "mnist"}), tmp_path)
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message
    assert str(tmp_path / "datasets" / "mnist") in message
    assert "download failed" in message and "127.0.0.1:9" in message
    assert "\n" not in message


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server standing in for a download mirror."""
    root = tmp_path / "mirror"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", root
    finally:
        server.shutdown()
        server.server_close()


def test_idx_download_fills_the_default_directory(
    tmp_path: Path, mirror: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, root = mirror
    arrays = tiny_mnist(root / "good", gz=True)
    (root / "bad").mkdir()
    (root / "bad" / "train-images-idx3-ubyte.gz").write_bytes(b"<html>not found</html>")
    # The first mirror lacks files or serves junk: the loader moves on to the next one.
    monkeypatch.setattr(idx, "MIRRORS", {"mnist": (url + "bad/", url + "good/")})
    data = load_dataset(parse_dataset_spec({"name": "mnist"}), tmp_path / "data")
    target = tmp_path / "data" / "datasets" / "mnist"
    assert sorted(p.name for p in target.iterdir()) == sorted(f"{n}.gz" for n in idx.FILES)
    assert np.array_equal(data.test.y, arrays["t10k-labels-idx1-ubyte"])


def test_idx_download_of_junk_is_not_kept(
    tmp_path: Path, mirror: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, root = mirror
    for name in idx.FILES:
        (root / f"{name}.gz").write_bytes(gzip.compress(b"\0\0\x08\x03 truncated"))
    monkeypatch.setattr(idx, "MIRRORS", {"mnist": (url,)})
    with pytest.raises(DatasetError, match=r"download failed.*corrupt IDX"):
        load_dataset(parse_dataset_spec({"name": "mnist"}), tmp_path / "data")
    assert list((tmp_path / "data" / "datasets" / "mnist").iterdir()) == []


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("train-images-idx3-ubyte", idx_bytes(np.zeros((3, 5, 4)))[:-7], "corrupt IDX"),
        ("train-images-idx3-ubyte", idx_bytes(np.zeros((3, 20))), "not an IDX file"),
        ("train-labels-idx1-ubyte", b"\x12\x34", "not an IDX file"),
        ("train-images-idx3-ubyte.gz", b"\x1f\x8b\x08 no gzip", "cannot read"),
        ("train-labels-idx1-ubyte", idx_bytes(np.full(60, 12)), "labels must be 0-9"),
        ("train-labels-idx1-ubyte", idx_bytes(np.zeros(59)), "labels"),
    ],
)
def test_corrupt_idx_files_are_named(
    tmp_path: Path, name: str, content: bytes, expected: str, no_network: None
) -> None:
    directory = tmp_path / "files"
    tiny_mnist(directory, gz=False)
    base = name.removesuffix(".gz")
    (directory / base).unlink()
    (directory / name).write_bytes(content)
    s = parse_dataset_spec({"name": "mnist", "path": str(directory)})
    with pytest.raises(DatasetError) as info:
        load_dataset(s, tmp_path)
    assert name in str(info.value) and expected in str(info.value)


# --- the user's own files ------------------------------------------------------------------


def load_file(tmp_path: Path, filename: str, **fields: Any) -> DatasetSplits:
    return load_dataset(parse_dataset_spec({"name": "file", "path": filename, **fields}), tmp_path)


def file_error(tmp_path: Path, filename: str, **fields: Any) -> str:
    with pytest.raises(DatasetError) as info:
        load_file(tmp_path, filename, **fields)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_npz_classification_with_string_labels(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 3, 8, 8))
    y = np.array(["cat", "dog", "owl"] * 30)
    np.savez(tmp_path / "pets.npz", X=X, y=y)
    data = load_file(tmp_path, "pets.npz")
    assert data.info.task == "classification" and data.info.input_shape == (3, 8, 8)
    assert data.class_names == ["cat", "dog", "owl"]
    # The label of each sample survives the mapping: find it back by its pixels.
    originals = {x.astype(np.float32).tobytes(): label for x, label in zip(X, y, strict=True)}
    for x, code in zip(data.train.X, data.train.y, strict=True):
        assert data.class_names[code] == originals[x.tobytes()]


def test_npz_integer_labels_keep_their_values_as_names(tmp_path: Path) -> None:
    X = np.arange(120, dtype=np.float64).reshape(60, 2)
    np.savez(tmp_path / "d.npz", X=X, y=np.repeat([3, 7, 10], 20))
    data = load_file(tmp_path, "d.npz")
    assert data.class_names == ["3", "7", "10"] and data.info.num_classes == 3


def test_npz_regression(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "r.npz", X=rng.normal(size=(50, 10, 2)), y=rng.normal(size=50))
    data = load_file(tmp_path, "r.npz")
    assert data.info.task == "regression" and data.info.input_shape == (10, 2)
    assert data.train.y.dtype == np.float32 and data.train.y.shape == (len(data.train), 1)
    np.savez(tmp_path / "r2.npz", X=rng.normal(size=(50, 4)), y=rng.normal(size=(50, 3)))
    assert load_file(tmp_path, "r2.npz").info.num_targets == 3
    # Whole numbers, but many of them (ages): a quantity, not classes.
    np.savez(tmp_path / "ages.npz", X=rng.normal(size=(300, 4)), y=np.arange(300) % 150)
    assert load_file(tmp_path, "ages.npz").info.task == "regression"
    # ... unless the user says otherwise.
    np.savez(tmp_path / "few.npz", X=rng.normal(size=(60, 4)), y=np.arange(60) % 3)
    assert load_file(tmp_path, "few.npz", task="regression").info.task == "regression"


def test_csv_classification_and_regression(tmp_path: Path) -> None:
    lines = ["height,width,y"] + [f"{i},{i % 7 * 0.5},{'ab'[i % 2]}" for i in range(40)]
    (tmp_path / "c.csv").write_text("\n".join(lines) + "\n")
    data = load_file(tmp_path, "c.csv", validation_fraction=0.25)
    assert data.info.task == "classification" and data.info.input_shape == (2,)
    assert data.class_names == ["a", "b"]
    assert data.val is not None and len(data.train) + len(data.val) + len(data.test) == 40
    lines = ["price,a,b"] + [f"{i * 1.5 + 0.25},{i},{i * i}" for i in range(30)]
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    data = load_file(tmp_path, "r.csv", target="price")
    assert data.info.task == "regression"
    assert data.train.y.dtype == np.float32 and data.train.y.shape == (len(data.train), 1)
    # Each target is still next to its own features.
    assert np.allclose(data.train.y[:, 0], data.train.X[:, 0] * 1.5 + 0.25)


def save_npz(tmp_path: Path, name: str, **arrays: Any) -> str:
    np.savez(tmp_path / name, **arrays)
    return name


GOOD_X = np.zeros((30, 4))
GOOD_Y = np.arange(30) % 3


@pytest.mark.parametrize(
    ("arrays", "expected"),
    [
        ({"X": GOOD_X}, "missing array y"),
        ({"features": GOOD_X, "y": GOOD_Y}, "missing array X"),
        ({"X": np.array([["a", "b"]] * 30), "y": GOOD_Y}, "X must be numeric"),
        ({"X": np.where(np.eye(30, 4) > 0, np.nan, 1.0), "y": GOOD_Y}, "NaN"),
        ({"X": np.full((30, 4), np.inf), "y": GOOD_Y}, "infinite"),
        ({"X": GOOD_X, "y": GOOD_Y[:29]}, "X has 30 samples but y has 29"),
        ({"X": np.zeros(30), "y": GOOD_Y}, "X must be (N, F) features, (N, T, C) sequences or"),
        ({"X": np.zeros((30, 1, 2, 2, 2)), "y": GOOD_Y}, "got shape (30, 1, 2, 2, 2)"),
        ({"X": GOOD_X, "y": np.zeros((30, 2, 2))}, "y must be"),
        ({"X": GOOD_X, "y": np.zeros(30, dtype=int)}, "single class"),
        ({"X": GOOD_X, "y": np.array([0] * 28 + [1, 1])}, "class '1' has only 2"),
    ],
)
def test_npz_problems_have_clear_messages(
    tmp_path: Path, arrays: dict[str, Any], expected: str
) -> None:
    message = file_error(tmp_path, save_npz(tmp_path, "bad.npz", **arrays), task="classification")
    assert "bad.npz" in message and expected in message


def test_npz_with_pickled_objects_is_refused(tmp_path: Path) -> None:
    X = np.empty(30, dtype=object)
    X[:] = [[1.0, 2.0]] * 30
    message = file_error(tmp_path, save_npz(tmp_path, "obj.npz", X=X, y=GOOD_Y))
    assert "obj.npz" in message and "dtype=object" in message and "X" in message


def test_file_problems_have_clear_messages(tmp_path: Path) -> None:
    assert "not found" in file_error(tmp_path, "nothing.npz")
    (tmp_path / "data.txt").write_text("1,2,3\n")
    assert "'.txt'" in file_error(tmp_path, "data.txt") and ".npz" in file_error(
        tmp_path, "data.txt"
    )
    (tmp_path / "broken.npz").write_bytes(b"not a zip at all")
    assert "not a readable .npz" in file_error(tmp_path, "broken.npz")
    (tmp_path / "c.csv").write_text("a,b,label\n1,2,0\n3,4,1\n")
    message = file_error(tmp_path, "c.csv")
    assert "no column named 'y'" in message and "a, b, label" in message
    (tmp_path / "words.csv").write_text("a,y\n1,0\nhello,1\n2,0\n")
    assert "row 3, column 'a': 'hello' is not a number" in file_error(tmp_path, "words.csv")
    (tmp_path / "ragged.csv").write_text("a,b,y\n1,2,0\n1,0\n")
    assert "a row has 2 fields, the header 3" in file_error(tmp_path, "ragged.csv")
    (tmp_path / "empty.csv").write_text("")
    assert "empty" in file_error(tmp_path, "empty.csv")
    (tmp_path / "text.csv").write_text("a,y\n" + "".join(f"{i},x{i}\n" for i in range(9)))
    assert "regression targets must be numeric" in file_error(
        tmp_path, "text.csv", task="regression"
    )


def test_too_few_samples_for_the_split(tmp_path: Path) -> None:
    name = save_npz(
        tmp_path, "small.npz", X=np.random.default_rng(0).normal(size=(12, 2)), y=np.arange(12) % 4
    )
    # 12 samples, 4 classes: 20% test is 3 samples, fewer than one per class.
    message = file_error(tmp_path, name, task="classification")
    assert "test_fraction=0.2" in message and "4" in message
    data = load_file(
        tmp_path, name, task="classification", test_fraction=0.34, validation_fraction=0
    )
    assert len(data.test) == 5 and len(np.unique(data.test.y)) == 4
