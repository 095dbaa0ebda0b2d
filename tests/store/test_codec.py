"""The chunk format and the JSON encoding of non-finite numbers."""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pytest

from trainscope.schemas.events import Point
from trainscope.store import CodecError, decode_chunk, encode_chunk, json_safe
from trainscope.store.arrays import PointArrays
from trainscope.store.records import PointColumns


def as_rows(arrays: PointArrays) -> list[tuple[int, int, int, float, dict[str, float | None]]]:
    cols = PointColumns.from_arrays(
        arrays, downsampled=False, total=len(arrays), has_more=False, after_seq=0
    )
    return [
        (
            cols.seq[i],
            cols.iteration[i],
            cols.epoch[i],
            cols.wall_time[i],
            {k: v[i] for k, v in cols.values.items() if v[i] is not None},
        )
        for i in range(len(cols))
    ]


def same(a: float | None, b: float) -> bool:
    """Equal, or both NaN: the bits a NaN loss was stored with come back as a NaN."""
    return a is not None and (a == b or (math.isnan(a) and math.isnan(b)))


def test_round_trip_keeps_nan_inf_and_sparse_metrics() -> None:
    pts = [
        Point(1, 1, 1, 1.5, {"train_loss": 0.5, "learn_rate": 0.1}),
        Point(2, 2, 1, 2.5, {"train_loss": math.inf, "learn_rate": 0.1, "val_loss": -0.0}),
        Point(3, 3, 2, 3.5, {"train_loss": -math.inf, "learn_rate": 0.1}),
        Point(7, 9, 2, 4.5, {"train_loss": math.nan, "learn_rate": 0.1, "test_rmse": 1e308}),
    ]
    blob = encode_chunk(PointArrays.from_points(pts))
    rows = as_rows(decode_chunk(blob))
    assert [r[:4] for r in rows] == [(p.seq, p.iteration, p.epoch, p.wall_time) for p in pts]
    for (_, _, _, _, got), p in zip(rows, pts, strict=True):
        assert got.keys() == p.values.keys()
        assert all(same(got[k], p.values[k]) for k in got)
    # -0.0 keeps its sign: the floats are stored bit for bit.
    zero = rows[1][4]["val_loss"]
    assert zero is not None and math.copysign(1, zero) == -1


def test_dense_metric_has_no_row_index_and_sparse_one_does() -> None:
    pts = [
        Point(i, i, 1, float(i), {"a": float(i)} | ({"b": 1.0} if i == 2 else {}))
        for i in (1, 2, 3)
    ]
    decoded = decode_chunk(encode_chunk(PointArrays.from_points(pts)))
    assert decoded.metrics["a"].rows is None
    rows = decoded.metrics["b"].rows
    assert rows is not None and rows.tolist() == [1]


def test_points_with_different_metric_sets_and_no_common_metric() -> None:
    pts = [
        Point(1, 1, 1, 0.0, {"x": 1.0}),
        Point(2, 2, 1, 0.0, {"y": 2.0}),
        Point(3, 3, 1, 0.0, {}),
        Point(4, 4, 1, 0.0, {"x": 4.0, "y": 5.0}),
    ]
    rows = as_rows(decode_chunk(encode_chunk(PointArrays.from_points(pts))))
    assert [r[4] for r in rows] == [p.values for p in pts]


def test_empty_chunk_round_trips() -> None:
    decoded = decode_chunk(encode_chunk(PointArrays.from_points([])))
    assert len(decoded) == 0 and decoded.metrics == {}


def test_arrays_are_aligned_little_endian_and_header_is_json() -> None:
    pts = [Point(i, i, 1, float(i) / 3, {"loss": 1.0 / i}) for i in range(1, 6)]
    blob = encode_chunk(PointArrays.from_points(pts))
    assert blob[:4] == b"TSPC"
    (n,) = struct.unpack_from("<I", blob, 4)
    header = json.loads(blob[8 : 8 + n])
    assert header["count"] == 5
    start = 8 + n + (-(8 + n) % 8)
    dtype, offset, count = header["columns"]["wall_time"]
    wall = np.frombuffer(blob, dtype=dtype, count=count, offset=start + offset)
    assert dtype == "<f8" and (start + offset) % 8 == 0
    assert wall.tolist() == [p.wall_time for p in pts]
    assert header["columns"]["epoch"] == ["range", 1, 0, 5]


def test_consecutive_seqs_are_stored_as_a_range_and_gaps_are_not() -> None:
    steady = [Point(s, 2 * s, 1, 0.0, {"x": 1.0}) for s in range(10, 20)]
    gappy = [Point(s, s, s // 3, 0.0, {"x": 1.0}) for s in (1, 2, 3, 7, 8)]
    for pts in (steady, gappy):
        decoded = decode_chunk(encode_chunk(PointArrays.from_points(pts)))
        assert decoded.seq.tolist() == [p.seq for p in pts]
        assert decoded.iteration.tolist() == [p.iteration for p in pts]
        assert decoded.epoch.tolist() == [p.epoch for p in pts]
    blob = encode_chunk(PointArrays.from_points(steady))
    (n,) = struct.unpack_from("<I", blob, 4)
    columns = json.loads(blob[8 : 8 + n])["columns"]
    assert columns["seq"] == ["range", 10, 1, 10] and columns["iteration"] == ["range", 20, 2, 10]


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"nope-not-a-chunk",
        b"TSPC" + struct.pack("<I", 1000) + b"{}",
        b"TSPC" + struct.pack("<I", 2) + b"{}",
    ],
)
def test_garbage_is_refused(blob: bytes) -> None:
    with pytest.raises(CodecError):
        decode_chunk(blob)


def test_a_header_asking_for_objects_is_refused() -> None:
    """Never unpickle: only the numeric dtypes the format uses are read."""
    header = json.dumps(
        {"format": 1, "count": 1, "columns": {"seq": ["|O", 0, 1]}, "metrics": []}
    ).encode()
    blob = b"TSPC" + struct.pack("<I", len(header)) + header + b"\0" * 64
    with pytest.raises(CodecError, match="dtype"):
        decode_chunk(blob)


def test_json_safe_spells_non_finite_numbers_as_strings() -> None:
    value = {"a": [1.0, math.nan, None, math.inf], "b": (-math.inf, 2), "c": "NaN", "d": 3}
    safe = json_safe(value)
    assert safe == {"a": [1.0, "NaN", None, "Infinity"], "b": ["-Infinity", 2], "c": "NaN", "d": 3}
    json.dumps(safe, allow_nan=False)  # valid JSON now
    assert json_safe(math.nan) == "NaN" and json_safe(np.float64(-np.inf)) == "-Infinity"


def test_point_columns_to_json_is_strict_json() -> None:
    pts = [
        Point(1, 1, 1, 0.0, {"loss": 1.0}),
        Point(2, 2, 1, 0.0, {"loss": math.nan, "val_loss": math.inf}),
    ]
    cols = PointColumns.from_arrays(
        PointArrays.from_points(pts), downsampled=False, total=2, has_more=False, after_seq=0
    )
    body = json.loads(json.dumps(cols.to_json(), allow_nan=False))
    assert body["values"] == {"loss": [1.0, "NaN"], "val_loss": [None, "Infinity"]}
    assert body["seq"] == [1, 2] and body["last_seq"] == 2 and body["total"] == 2


def header_of(blob: bytes) -> dict[str, object]:
    (n,) = struct.unpack_from("<I", blob, 4)
    header: dict[str, object] = json.loads(blob[8 : 8 + n])
    return header


def test_real_curves_take_few_bytes_and_come_back_bit_for_bit() -> None:
    rng = np.random.default_rng(0)
    # What PyTorch logs: loss.item() of a float32 tensor is a float32 widened to a double.
    loss = (2.0 * np.exp(-np.arange(1000) / 200) + 0.05 * rng.random(1000)).astype(np.float32)
    loss[10] = np.nan
    loss[11] = np.inf
    wall = 1.8e9 + np.cumsum(rng.uniform(0.005, 0.02, 1000))  # a point every few ms
    wall[500:] += 100.0  # a validation pass: steps up to ~500 s fit the 32-bit deltas
    pts = [
        Point(
            i + 1,
            i + 1,
            1 + i // 100,
            float(wall[i]),
            {
                "train_loss": float(loss[i]),
                "learn_rate": 0.01 if i < 600 else 0.001,  # a piecewise schedule
                "momentum": 0.9,
                "signed_zero": [0.0, -0.0][i % 2],
            },
        )
        for i in range(1000)
    ]
    blob = encode_chunk(PointArrays.from_points(pts))
    header = header_of(blob)
    metrics = {name: spec for name, spec, _ in header["metrics"]}  # type: ignore[attr-defined]
    assert metrics["train_loss"][0] == "<f4"
    assert metrics["learn_rate"][:2] == ["runs", "<f8"]
    assert metrics["momentum"][0] == "fill"
    assert metrics["signed_zero"][0] == "<f4"
    columns = header["columns"]
    assert columns["epoch"][:2] == ["runs", "<i8"]  # type: ignore[index]
    assert columns["wall_time"][0] == "delta"  # type: ignore[index]
    decoded = decode_chunk(blob)
    for name in ("train_loss", "learn_rate", "momentum", "signed_zero"):
        want = np.array([p.values[name] for p in pts], dtype=np.float64)
        assert decoded.metrics[name].values.dtype == np.float64
        assert (
            decoded.metrics[name].values.view(np.uint64).tolist() == want.view(np.uint64).tolist()
        )
    assert decoded.wall_time.tolist() == [p.wall_time for p in pts]
    assert decoded.epoch.tolist() == [p.epoch for p in pts]
    # Per point: the two float32 columns and the time step, 4 bytes each; the learn rate, the
    # momentum and the epoch are in the header. Every float a double: 8 per value and per time.
    assert len(blob) < 1000 * (4 + 4 + 4) + 1024


def test_times_too_far_apart_for_a_delta_and_odd_bits_still_round_trip() -> None:
    times = [0.0, -0.0, 1e-300, 1e300, math.nan, -math.inf, 1.8e9, 1.8e9 + 1e-6]
    pts = [Point(i + 1, i + 1, 1, t, {"x": 1.0}) for i, t in enumerate(times)]
    decoded = decode_chunk(encode_chunk(PointArrays.from_points(pts)))
    got = decoded.wall_time.view(np.uint64).tolist()
    assert got == np.array(times, dtype=np.float64).view(np.uint64).tolist()


def test_doubles_that_are_not_float32_stay_doubles() -> None:
    pts = [Point(i, i, 1, float(i), {"loss": 1.0 / (3 * i)}) for i in range(1, 50)]
    blob = encode_chunk(PointArrays.from_points(pts))
    ((_, spec, _),) = header_of(blob)["metrics"]  # type: ignore[misc]
    assert spec[0] == "<f8"
    assert decode_chunk(blob).metrics["loss"].values.tolist() == [p.values["loss"] for p in pts]


def test_chunks_of_the_first_format_are_still_read() -> None:
    """Format 1 (every float a double) is what stores written before format 2 hold."""
    pts = [Point(i, i, 1, float(i) / 7, {"loss": 1.0 / (3 * i)}) for i in range(1, 20)]
    blob = encode_chunk(PointArrays.from_points(pts))
    old = blob.replace(b'"format":2', b'"format":1', 1)
    assert old != blob
    assert decode_chunk(old).metrics["loss"].values.tolist() == [p.values["loss"] for p in pts]
