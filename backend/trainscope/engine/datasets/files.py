"""A user's own data: a .npz with arrays X and y, or a .csv with a header row.

Every check here ends in a DatasetError that names the file and says what to change: these
messages are what a user sees in the dashboard when a run fails before its first iteration.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import numpy.typing as npt

from trainscope.engine.datasets.base import DatasetError, Labeled
from trainscope.schemas.datasets import FileSpec
from trainscope.schemas.shapes import Task

# task="auto" calls whole-number targets classes up to this many distinct values.
MAX_AUTO_CLASSES = 100
_NUMERIC = "biuf"  # numpy dtype kinds: bool, signed, unsigned, float


def load_file_dataset(spec: FileSpec, data_dir: Path) -> Labeled:
    path = data_dir / Path(spec.path).expanduser()
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "not found"
        raise DatasetError(f"data file {path} {what}")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        X, y = _read_npz(path)
    elif suffix == ".csv":
        X, y = _read_csv(path, spec.target)
    else:
        raise DatasetError(
            f"{path.name}: unsupported extension '{suffix}'; use .npz (arrays X and y) or "
            ".csv (a header row and a target column)"
        )
    return to_labeled(X, y, spec.task, path.name)


def _read_npz(path: Path) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    try:
        # allow_pickle=False: a data file must never run code when it is loaded.
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DatasetError(f"{path.name}: not a readable .npz file ({error})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DatasetError(f"{path.name}: a single .npy array, not a .npz with arrays X and y")
    with archive:
        missing = [key for key in ("X", "y") if key not in archive.files]
        if missing:
            found = ", ".join(archive.files) or "none"
            raise DatasetError(
                f"{path.name}: missing array {' and '.join(missing)}; the .npz must hold "
                f"arrays named X and y (found: {found})"
            )
        arrays = []
        for key in ("X", "y"):
            try:
                arrays.append(np.asarray(archive[key]))
            except ValueError as error:
                if "pickle" not in str(error):
                    raise DatasetError(f"{path.name}: cannot read array {key} ({error})") from None
                raise DatasetError(
                    f"{path.name}: array {key} holds Python objects (dtype=object), which "
                    "loading would have to unpickle; save plain numeric arrays (labels may be "
                    "numbers or fixed-width strings)"
                ) from None
    return arrays[0], arrays[1]


def _read_csv(path: Path, target: str) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as stream:
            rows = [row for row in csv.reader(stream) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DatasetError(f"{path.name}: cannot read the CSV ({error})") from None
    if not rows:
        raise DatasetError(f"{path.name}: the file is empty; expected a header row and data")
    header = [name.strip() for name in rows[0]]
    if target not in header:
        raise DatasetError(
            f"{path.name}: no column named '{target}' (columns: {', '.join(header)}); "
            "set target to the name of the label column"
        )
    if len(header) < 2:
        raise DatasetError(f"{path.name}: only the target column '{target}'; no features")
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DatasetError(
                f"{path.name}: a row has {len(row)} fields, the header {len(header)} "
                f"(row {line}, counting the header as row 1)"
            )
    cells = np.array(rows[1:], dtype=str).reshape(len(rows) - 1, len(header))
    cells = np.char.strip(cells)
    t = header.index(target)
    features = [c for c in range(len(header)) if c != t]
    try:
        X = cells[:, features].astype(np.float64)
    except ValueError:
        _raise_first_bad_cell(path, cells, header, features)
    labels = cells[:, t]
    if np.any(labels == ""):
        first = int(np.argmax(labels == "")) + 2
        raise DatasetError(f"{path.name}: row {first} has an empty '{target}' value")
    try:
        y: npt.NDArray[Any] = labels.astype(np.float64)
    except ValueError:
        y = labels  # class names such as "cat", "dog"
    return X, y


def _raise_first_bad_cell(
    path: Path, cells: npt.NDArray[Any], header: list[str], features: list[int]
) -> NoReturn:
    for r, row in enumerate(cells):
        for c in features:
            try:
                float(row[c])
            except ValueError:
                raise DatasetError(
                    f"{path.name}: row {r + 2}, column '{header[c]}': '{row[c]}' is not a "
                    "number; every column but the target must be numeric"
                ) from None
    raise AssertionError("unreachable: some cell failed to convert")


def to_labeled(X: npt.NDArray[Any], y: npt.NDArray[Any], task: str, source: str) -> Labeled:
    """Check arrays from a file and turn them into float32 samples with int64 class indices
    or float32 (N, targets) regression targets."""
    if X.dtype.kind not in _NUMERIC:
        raise DatasetError(f"{source}: X must be numeric; got dtype {X.dtype}")
    if X.ndim not in (2, 3, 4):
        raise DatasetError(
            f"{source}: X must be (N, F) features, (N, T, C) sequences or (N, C, H, W) "
            f"images; got shape {X.shape}"
        )
    if y.ndim not in (1, 2):
        raise DatasetError(
            f"{source}: y must be (N,) labels or targets, or (N, K) targets; got shape {y.shape}"
        )
    if len(X) != len(y):
        raise DatasetError(f"{source}: X has {len(X)} samples but y has {len(y)}")
    if len(X) < 2:
        raise DatasetError(f"{source}: {len(X)} sample(s); a dataset needs at least 2")
    X32 = X.astype(np.float32)
    finite = np.isfinite(X32)
    if not finite.all():
        sample = int(np.argmin(finite.reshape(len(X32), -1).all(axis=1)))
        raise DatasetError(
            f"{source}: X contains NaN or infinite values (first in sample {sample}); "
            "remove or fill them"
        )
    resolved = _resolve_task(y) if task == "auto" else task
    if resolved == "classification":
        codes, names = _encode_classes(y, source)
        return Labeled(X32, codes, "classification", names)
    if y.dtype.kind not in _NUMERIC:
        raise DatasetError(
            f"{source}: regression targets must be numeric; y has dtype {y.dtype} "
            "(use task=classification for class labels)"
        )
    targets = y.astype(np.float32).reshape(len(y), -1)
    if not np.isfinite(targets).all():
        raise DatasetError(f"{source}: y contains NaN or infinite values")
    return Labeled(X32, targets, "regression")


def _resolve_task(y: npt.NDArray[Any]) -> Task:
    if y.ndim == 2 and y.shape[1] > 1:
        return "regression"
    if y.dtype.kind not in _NUMERIC:
        return "classification"  # strings: class names
    values = y.reshape(-1)
    if y.dtype.kind == "f":
        whole = np.isfinite(values).all() and (values == np.round(values)).all()
        if not whole:
            return "regression"
    distinct = len(np.unique(values))
    # Few distinct whole numbers relative to N: labels. Many (ages, counts): a quantity.
    if distinct <= MAX_AUTO_CLASSES and distinct <= len(values) // 2:
        return "classification"
    return "regression"


def _encode_classes(y: npt.NDArray[Any], source: str) -> tuple[npt.NDArray[np.int64], list[str]]:
    if y.ndim == 2:
        if y.shape[1] != 1:
            raise DatasetError(
                f"{source}: classification needs one label per sample; y has shape {y.shape}"
            )
        y = y[:, 0]
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise DatasetError(f"{source}: y contains NaN or infinite labels")
    values, codes = np.unique(y, return_inverse=True)
    if len(values) < 2:
        raise DatasetError(
            f"{source}: y has a single class ({_label_name(values[0])}); classification needs "
            "at least 2"
        )
    return codes.astype(np.int64).reshape(-1), [_label_name(v) for v in values]


def _label_name(value: Any) -> str:
    # 3.0 from a CSV is the class "3", as the user wrote it.
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    return str(value)
