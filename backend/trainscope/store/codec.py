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

Floats round trip bit for bit (NaN and ±Inf included), in the smallest of three exact forms
(format 2; format 1 chunks, all doubles, are still read):
- `["fill", bits, n]`: every value the same (a constant learn rate), its 64 bits as an integer;
- `["<f4", off, n]`: every value a float32 widened to a double, as PyTorch's `loss.item()` of a
  float32 tensor is: half the bytes, converted back exactly;
- `["<f8", off, n]`: anything else.

Arrays are little-endian and 8-byte aligned, so decoding is a zero-copy `np.frombuffer` per
array (a copy for float32 widened back). Only the dtypes below are ever read: no pickle, no
object arrays.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trainscope.store.arrays import MetricArray, PointArrays

MAGIC = b"TSPC"
FORMAT = 2
_READABLE_FORMATS = {1, 2}
_ALLOWED_DTYPES = {"<i8", "<i4", "<f8", "<f4"}
_BASE_COLUMNS = (("seq", "<i8"), ("iteration", "<i8"), ("epoch", "<i4"), ("wall_time", "<f8"))


class CodecError(ValueError):
    """A blob that is not a chunk this code wrote."""


def _pad8(n: int) -> int:
    return -n % 8


def _compact_floats(values: NDArray[np.float64]) -> tuple[str, list[Any] | None]:
    """(`dtype` to write `values` with, or the whole spec when they need no array)."""
    bits = values.view("<u8")
    if bool(np.all(bits == bits[0])):
        return "<f8", ["fill", int(bits[0]), len(values)]
    narrow = values.astype("<f4")
    if np.array_equal(narrow.astype("<f8").view("<u8"), bits):  # bit for bit, NaNs included
        return "<f4", None
    return "<f8", None


def encode_chunk(points: PointArrays) -> bytes:
    parts: list[bytes] = []
    offset = 0

    def add(array: NDArray[Any], dtype: str) -> list[Any]:
        nonlocal offset
        if dtype != "<f8" and len(array) >= 2:
            step = int(array[1] - array[0])
            if bool(np.all(np.diff(array) == step)):
                return ["range", int(array[0]), step, len(array)]
        if dtype == "<f8" and len(array) >= 2:
            dtype, compact = _compact_floats(np.ascontiguousarray(array, dtype="<f8"))
            if compact is not None:
                return compact
        data = np.ascontiguousarray(array, dtype=dtype).tobytes()
        spec = [dtype, offset, len(array)]
        parts.append(data + b"\0" * _pad8(len(data)))
        offset += len(data) + _pad8(len(data))
        return spec

    def add_raw(array: NDArray[Any]) -> list[Any]:
        nonlocal offset
        data = np.ascontiguousarray(array, dtype="<f8").tobytes()
        spec = ["<f8", offset, len(array)]
        parts.append(data)  # 8 bytes each: already aligned
        offset += len(data)
        return spec

    # Wall times are doubles of about 1.8e9 s with sub-millisecond parts: never float32.
    columns = {
        name: add(getattr(points, name), dtype)
        if name != "wall_time"
        else add_raw(points.wall_time)
        for name, dtype in _BASE_COLUMNS
    }
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
        if header["format"] not in _READABLE_FORMATS:
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
            if spec[0] == "fill":
                return np.full(n, int(spec[1]), dtype="<u8").view("<f8")
            dtype, off, _ = spec
            if dtype not in _ALLOWED_DTYPES:
                raise CodecError(f"chunk array of dtype {dtype!r}")
            size = np.dtype(dtype).itemsize
            if not isinstance(off, int) or off < 0 or start + off + n * size > len(buf):
                raise CodecError("chunk array runs past the end of the blob")
            array = np.frombuffer(buf, dtype=dtype, count=n, offset=start + off)
            return array.astype("<f8") if dtype == "<f4" else array

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
