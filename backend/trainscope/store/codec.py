"""The binary format of one chunk of points (the `point_chunks.data` blob).

    b"TSPC" | header length (uint32 LE) | header (UTF-8 JSON) | padding to 8 | arrays

The header names every array, its dtype, and where it lies (offset from the start of the
arrays, element count):

    {"format": 1, "count": n,
     "columns": {"seq": ["<i8", off, n], "iteration": ["<i8", ...], "epoch": ["<i4", ...],
                 "wall_time": ["<f8", ...]},
     "metrics": [[name, ["<f8", off, k], ["<i4", off, k] or null], ...]}

A metric's second array holds the (chunk-local) rows it is present in; it is null when the
metric is in every row. An integer array that is an arithmetic progression (seq and iteration
almost always, the rows of a metric recorded every N iterations) is written as
`["range", start, step, n]` instead: about a third less to store and to read back.

Arrays are little-endian and 8-byte aligned, so decoding is a zero-copy `np.frombuffer` per
array. Floats are stored as IEEE doubles: NaN and ±Inf round trip bit for bit. Only the three
dtypes below are ever read: no pickle, no object arrays.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trainscope.store.arrays import MetricArray, PointArrays

MAGIC = b"TSPC"
FORMAT = 1
_ALLOWED_DTYPES = {"<i8", "<i4", "<f8"}
_BASE_COLUMNS = (("seq", "<i8"), ("iteration", "<i8"), ("epoch", "<i4"), ("wall_time", "<f8"))


class CodecError(ValueError):
    """A blob that is not a chunk this code wrote."""


def _pad8(n: int) -> int:
    return -n % 8


def encode_chunk(points: PointArrays) -> bytes:
    parts: list[Any] = []  # bytes and contiguous arrays: b"".join copies each once
    offset = 0

    def add(array: NDArray[Any], dtype: str) -> list[Any]:
        nonlocal offset
        if dtype != "<f8" and len(array) >= 2:
            step = int(array[1] - array[0])
            if bool(np.all(np.diff(array) == step)):
                return ["range", int(array[0]), step, len(array)]
        # The array itself, not .tobytes() plus padding: each of those would be a copy.
        data = np.ascontiguousarray(array, dtype=dtype)
        spec = [dtype, offset, len(array)]
        parts.append(data)
        pad = _pad8(data.nbytes)
        if pad:
            parts.append(b"\0" * pad)
        offset += data.nbytes + pad
        return spec

    columns = {name: add(getattr(points, name), dtype) for name, dtype in _BASE_COLUMNS}
    metrics = [
        [
            name,
            add(m.values, "<f8"),
            None if m.rows is None else add(m.rows, "<i4"),
        ]
        for name, m in points.metrics.items()
    ]
    header = json.dumps(
        {"format": FORMAT, "count": len(points), "columns": columns, "metrics": metrics},
        separators=(",", ":"),
    ).encode()
    lead = MAGIC + struct.pack("<I", len(header)) + header
    return b"".join([lead, b"\0" * _pad8(len(lead)), *parts])


def decode_chunk(blob: bytes | memoryview) -> PointArrays:
    """The inverse of `encode_chunk`. The arrays are read-only views of `blob`."""
    buf = memoryview(blob)
    if len(buf) < 8 or bytes(buf[:4]) != MAGIC:
        raise CodecError("not a trainscope point chunk")
    (header_len,) = struct.unpack_from("<I", buf, 4)
    if 8 + header_len > len(buf):
        raise CodecError("chunk header runs past the end of the blob")
    try:
        header = json.loads(bytes(buf[8 : 8 + header_len]))
        if header["format"] != FORMAT:
            raise CodecError(f"unknown chunk format {header['format']!r}")
        count = int(header["count"])
        start = 8 + header_len + _pad8(8 + header_len)

        def read(spec: list[Any]) -> NDArray[Any]:
            n = spec[-1]
            if not isinstance(n, int) or not 0 <= n <= count:
                raise CodecError(f"chunk array of {n!r} elements in a chunk of {count}")
            if spec[0] == "range":
                _, first, step, _ = spec
                if step == 0:
                    return np.full(n, int(first), dtype=np.int64)
                return np.arange(int(first), int(first) + int(step) * n, int(step), dtype=np.int64)
            dtype, off, _ = spec
            if dtype not in _ALLOWED_DTYPES:
                raise CodecError(f"chunk array of dtype {dtype!r}")
            size = np.dtype(dtype).itemsize
            if not isinstance(off, int) or off < 0 or start + off + n * size > len(buf):
                raise CodecError("chunk array runs past the end of the blob")
            return np.frombuffer(buf, dtype=dtype, count=n, offset=start + off)

        cols = {name: read(header["columns"][name]) for name, _ in _BASE_COLUMNS}
        metrics = {
            name: MetricArray(
                None if rows is None else read(rows).astype(np.int64),
                read(values),
            )
            for name, values, rows in header["metrics"]
        }
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        if isinstance(exc, CodecError):
            raise
        raise CodecError(f"malformed chunk header: {exc}") from exc
    if any(len(c) != count for c in cols.values()):
        raise CodecError("chunk columns disagree on the number of points")
    return PointArrays(
        cols["seq"],
        cols["iteration"],
        cols["epoch"].astype(np.int64),
        cols["wall_time"],
        metrics,
    )
