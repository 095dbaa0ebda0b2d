"""MNIST and Fashion-MNIST: IDX files (raw or gzipped), downloaded on first use.

The IDX format (http://yann.lecun.com/exdb/mnist/): a magic number 0x0000TTDD (TT the element
type, 0x08 for unsigned bytes; DD the number of dimensions), the dimensions as big-endian
32-bit integers, then the elements row-major.
"""

from __future__ import annotations

import gzip
import os
import struct
import tempfile
import urllib.request
import zlib
from pathlib import Path

import numpy as np
import numpy.typing as npt

from trainscope.engine.datasets.base import DatasetError, Labeled
from trainscope.schemas.datasets import FashionMnistSpec, MnistSpec

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

# Base URLs tried in order; each holds the four files gzipped. A module-level table so tests
# (and air-gapped deployments) can replace it.
MIRRORS: dict[str, tuple[str, ...]] = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    "fashion-mnist": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
}
DOWNLOAD_TIMEOUT_S = 30.0

CLASS_NAMES: dict[str, list[str]] = {
    "mnist": [str(d) for d in range(10)],
    "fashion-mnist": [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
}

_UBYTE = 0x08


def read_idx(path: Path, ndim: int) -> npt.NDArray[np.uint8]:
    """The array in an IDX file of unsigned bytes with `ndim` dimensions (gzipped when the name
    ends in .gz); DatasetError naming the file when it is not one."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as stream:
                raw = stream.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(f"{path}: cannot read the file ({error})") from None
    return parse_idx(raw, ndim, str(path))


def parse_idx(raw: bytes, ndim: int, source: str) -> npt.NDArray[np.uint8]:
    header = 4 + 4 * ndim
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != _UBYTE or raw[3] != ndim:
        magic = raw[:4].hex() if len(raw) >= 4 else "missing"
        raise DatasetError(
            f"{source}: not an IDX file of bytes with {ndim} dimension(s) "
            f"(magic number {magic}, expected 000008{ndim:02x}); the file is corrupt or not "
            "what its name says"
        )
    if len(raw) < header:
        raise DatasetError(f"{source}: corrupt IDX file: the header is cut short")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(dims, dtype=np.int64))
    found = len(raw) - header
    if found != expected:
        raise DatasetError(
            f"{source}: corrupt IDX file: its header promises {'×'.join(map(str, dims))} = "
            f"{expected} bytes of data, the file holds {found} (truncated download?)"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _find(directory: Path, base: str) -> Path | None:
    for candidate in (directory / base, directory / f"{base}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _download(url: str, destination: Path) -> None:
    """Fetch a gzipped IDX file, check it, then move it into place in one step, so a
    concurrent loader or an interrupted download never leaves a half-written file."""
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
        data = response.read()
    try:
        ndim = 3 if "images" in destination.name else 1
        parse_idx(gzip.decompress(data), ndim, url)
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(f"{url}: not a gzipped IDX file ({error})") from None
    handle, temporary = tempfile.mkstemp(dir=destination.parent, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def locate_files(name: str, directory: Path, download: bool) -> dict[str, Path]:
    """The four IDX files in `directory`, downloading the missing ones when `download`."""
    found = {base: _find(directory, base) for base in FILES}
    missing = [base for base, path in found.items() if path is None]
    if not missing:
        return {base: path for base, path in found.items() if path is not None}
    looked_for = ", ".join(f"{base}[.gz]" for base in missing)
    if not download:
        raise DatasetError(f"{name}: {looked_for} not found in {directory}")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatasetError(
            f"{name}: {looked_for} not found in {directory}, which cannot be created ({error})"
        ) from None
    for base in missing:
        failures: list[str] = []
        for mirror in MIRRORS[name]:
            url = f"{mirror}{base}.gz"
            try:
                _download(url, directory / f"{base}.gz")
                break
            except (OSError, ValueError) as error:  # URLError and timeouts are OSErrors
                failures.append(f"{url}: {' '.join(str(error).split())}")
        else:
            reasons = "; ".join(failures) or "no download mirrors configured"
            raise DatasetError(
                f"{name}: {looked_for} not found in {directory} and the download failed ({reasons})"
            )
    return locate_files(name, directory, download=False)


def _load_pair(
    images_path: Path, labels_path: Path
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    images = read_idx(images_path, 3)
    labels = read_idx(labels_path, 1)
    if len(images) != len(labels):
        raise DatasetError(
            f"{images_path} holds {len(images)} images but {labels_path} {len(labels)} labels"
        )
    if labels.size and labels.max() > 9:
        raise DatasetError(f"{labels_path}: labels must be 0-9, found {labels.max()}")
    X = images.astype(np.float32)[:, None, :, :]  # (N, 1, rows, cols)
    X *= np.float32(1 / 255)
    return X, labels.astype(np.int64)


def load_idx_dataset(spec: MnistSpec | FashionMnistSpec, data_dir: Path) -> tuple[Labeled, Labeled]:
    """(training files, t10k files) of an MNIST-format dataset."""
    if spec.path is None:
        directory, download = data_dir / "datasets" / spec.name, True
    else:
        # A directory the user chose is never written to: a missing file there is a mistake
        # to report, not something to fetch.
        directory, download = data_dir / Path(spec.path).expanduser(), False
    paths = locate_files(spec.name, directory, download)
    X_train, y_train = _load_pair(paths[TRAIN_IMAGES], paths[TRAIN_LABELS])
    X_test, y_test = _load_pair(paths[TEST_IMAGES], paths[TEST_LABELS])
    if X_train.shape[1:] != X_test.shape[1:]:
        raise DatasetError(
            f"{spec.name}: training images are {X_train.shape[2]}×{X_train.shape[3]} but test "
            f"images {X_test.shape[2]}×{X_test.shape[3]} in {directory}"
        )
    names = CLASS_NAMES[spec.name]
    return (
        Labeled(X_train, y_train, "classification", names),
        Labeled(X_test, y_test, "classification", names),
    )
