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

Every value round trips bit for bit (NaN, ±Inf and -0.0 included), in the smallest exact form
of its column (format 2; format 1 chunks, every float a double, are still read):
- `["fill", bits, n]`: a float column of one value (a constant momentum), its 64 bits as an
  integer; `["runs", "<f8" or "<i8", values, counts, n]`: a column of a few runs of one value
  each (a stepped learn rate, the epoch), written in the header;
- `["<f4", off, n]`: floats that are all float32s widened to doubles, as PyTorch's
  `loss.item()` of a float32 tensor is: half the bytes, widened back exactly;
- `["delta", first, off, n]`: wall times, as the int32 steps between their doubles' 64-bit
  patterns (points a few ms apart step by ~2^16; a chunk with a gap of more than ~500 s keeps
  doubles), summed back with the same wrapping int64 arithmetic;
- `["<f8", off, n]`, `["<i8"/"<i4", off, n]`: anything else.

Arrays are little-endian and 8-byte aligned, so decoding is a `np.frombuffer` per array (a
copy where a form is widened or summed back). Only the dtypes below are ever read: no pickle,
no object arrays.
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


MAX_RUNS = 64  # a column of at most this many runs of one value is written in the header


def _runs(values: NDArray[Any]) -> tuple[list[int], list[int]] | None:
    """(run values, run lengths) of a 64-bit integer array, when it has few runs: at most
    MAX_RUNS, and long ones (a quarter of the values at most), or the header would grow by
    more than the array it replaces."""
    starts = np.flatnonzero(values[1:] != values[:-1]) + 1
    if len(starts) + 1 > min(MAX_RUNS, max(1, len(values) // 4)):
        return None
    bounds = np.concatenate([[0], starts, [len(values)]])
    return [int(v) for v in values[bounds[:-1]]], [int(c) for c in np.diff(bounds)]


def _deltas(bits: NDArray[np.int64]) -> NDArray[np.int32] | None:
    """Successive differences of `bits` when each fits 32 bits (wall times a few ms apart:
    their doubles' bit patterns step by ~2^16). int64 arithmetic wraps, and so does the
    decoder's cumulative sum: exact whatever the bits."""
    steps = np.diff(bits)
    if len(steps) and (steps.min() < -(2**31) or steps.max() >= 2**31):
        return None
    return steps.astype("<i4")


def encode_chunk(points: PointArrays) -> bytes:
    parts: list[Any] = []  # bytes and contiguous arrays: b"".join copies each once
    offset = 0

    def put(array: NDArray[Any], dtype: str) -> int:
        nonlocal offset
        # The array itself, not .tobytes() plus padding: each of those would be a copy.
        data = np.ascontiguousarray(array, dtype=dtype)
        at = offset
        parts.append(data)
        pad = _pad8(data.nbytes)
        if pad:
            parts.append(b"\0" * pad)
        offset += data.nbytes + pad
        return at

    def add_ints(array: NDArray[Any], dtype: str) -> list[Any]:
        n = len(array)
        if n >= 2:
            ints = np.asarray(array, dtype=np.int64)
            step = int(ints[1] - ints[0])
            if bool(np.all(np.diff(ints) == step)):
                return ["range", int(ints[0]), step, n]
            runs = _runs(ints)
            if runs is not None:  # an epoch column: a few runs of one value
                return ["runs", "<i8", *runs, n]
        return [dtype, put(array, dtype), n]

    def add_floats(array: NDArray[Any]) -> list[Any]:
        values = np.ascontiguousarray(array, dtype="<f8")
        n = len(values)
        if n < 2:
            return ["<f8", put(values, "<f8"), n]
        bits = values.view("<i8")
        runs = _runs(bits)
        if runs is not None:  # a constant or stepped learn rate: its bits in the header
            return ["fill", runs[0][0], n] if len(runs[0]) == 1 else ["runs", "<f8", *runs, n]
        if np.array_equal(values.astype("<f4").astype("<f8").view("<i8"), bits):
            return ["<f4", put(values, "<f4"), n]  # float32s widened: bit for bit, NaNs too
        return ["<f8", put(values, "<f8"), n]

    def add_times(array: NDArray[Any]) -> list[Any]:
        values = np.ascontiguousarray(array, dtype="<f8")
        bits = values.view("<i8")
        steps = _deltas(bits) if len(values) >= 2 else None
        if steps is None:
            return ["<f8", put(values, "<f8"), len(values)]
        return ["delta", int(bits[0]), put(steps, "<i4"), len(values)]

    columns = {
        "seq": add_ints(points.seq, "<i8"),
        "iteration": add_ints(points.iteration, "<i8"),
        "epoch": add_ints(points.epoch, "<i4"),
        "wall_time": add_times(points.wall_time),
    }
    metrics = [
        [name, add_floats(m.values), None if m.rows is None else add_ints(m.rows, "<i4")]
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
                return np.full(n, int(spec[1]), dtype="<i8").view("<f8")
            if spec[0] == "runs":
                _, kind, values, counts, _ = spec
                if kind not in ("<i8", "<f8") or sum(counts) != n or min(counts, default=1) < 1:
                    raise CodecError("chunk runs do not add up to their array")
                out = np.repeat(np.array(values, dtype=np.int64), np.array(counts, dtype=np.int64))
                return out.view("<f8") if kind == "<f8" else out
            if spec[0] == "delta":
                _, first, off, _ = spec
                steps = array_at("<i4", off, max(n - 1, 0))
                out = np.empty(n, dtype=np.int64)
                if n:
                    out[0] = int(first)
                    np.cumsum(steps, dtype=np.int64, out=out[1:])
                    out[1:] += out[0]
                return out.view("<f8")
            dtype, off, _ = spec
            return array_at(dtype, off, n)

        def array_at(dtype: str, off: Any, n: int) -> NDArray[Any]:
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
    except (KeyError, IndexError, TypeError, ValueError, OverflowError) as exc:
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
