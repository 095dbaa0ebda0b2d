"""The SDK without a server: conversions on the shipper's thread, and delivery through a sink
that fails the way networks do."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
import time
from collections import deque
from typing import Any

import pytest

from trainscope.schemas.external import options_from_config
from trainscope.sdk.columns import Problems, Row, json_column, to_columns
from trainscope.sdk.shipper import Shipper
from trainscope.sdk.sinks import Fatal, Transient


class Scalar:
    """Stands in for a tensor or numpy scalar: something with `.item()`."""

    def __init__(self, v: float) -> None:
        self.v = v

    def item(self) -> float:
        return self.v


def test_values_become_floats_and_bad_ones_are_dropped_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows: list[Row] = [
        (1, 0, 10.0, {"loss": 1.0, "acc": Scalar(0.5), "n": 3}),
        (2, 0, 11.0, {"loss": "high", "acc": True}),
        (3, 1, 12.0, {"loss": "low"}),
    ]
    steps, epochs, times, values, empty = to_columns(rows, Problems())
    assert (steps, epochs, times) == ([1, 2, 3], [0, 0, 1], [10.0, 11.0, 12.0])
    assert values == {"loss": [1.0, None, None], "acc": [0.5, 1.0, None], "n": [3.0, None, None]}
    assert empty == [2], "the row with nothing numeric"
    assert capsys.readouterr().err.count("dropping values of 'loss'") == 1


def test_non_finite_values_travel_as_the_api_spells_them() -> None:
    assert json_column([1.0, None, 2.0]) == [1.0, None, 2.0]
    assert json_column([math.nan, math.inf, -math.inf, None]) == [
        "NaN",
        "Infinity",
        "-Infinity",
        None,
    ]


def test_config_keys_that_name_training_options_are_mirrored() -> None:
    config = {
        "learning_rate": 0.3,
        "BatchSize": 8,
        "optimizer": "AdamW",
        "epochs": 0,  # invalid (max_epochs ≥ 1): not mirrored
        "train": {"momentum": 0.5, "weight_decay": 1e-3},
        "InitialLearnRate": "fast",
        "dropout": 0.1,
    }
    assert options_from_config(config) == {
        "initial_learn_rate": 0.3,
        "solver": "adamw",
        "momentum": 0.5,
        "l2_regularization": 1e-3,
    }


class FlakySink:
    """Fails its first sends like a network that drops connections."""

    description = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.stored: dict[int, float] = {}
        self.finished: tuple[str, str | None] | None = None
        self.attempts = 0

    def create(self) -> int:
        return 7

    def encode(self, first_seq: int, rows: list[Row]) -> list[Any]:
        return [_Payload(first_seq, rows)]

    def send(self, payload: Any) -> bool:
        self.attempts += 1
        if self.failures:
            self.failures -= 1
            # Half the time the request got through before the connection broke.
            if self.failures % 2:
                self._store(payload)
            raise Transient("connection reset")
        self._store(payload)
        return len(self.stored) >= 250

    def _store(self, payload: Any) -> None:
        for i, row in enumerate(payload.rows):
            seq = payload.first_seq + i
            assert seq not in self.stored or self.stored[seq] == row[3]["x"]
            self.stored[seq] = row[3]["x"]

    def heartbeat(self) -> bool:
        return False

    def finish(self, status: str, message: str | None, summary: dict[str, Any]) -> None:
        self.finished = (status, message)

    def close(self) -> None:
        pass


class _Payload:
    def __init__(self, first_seq: int, rows: list[Row]) -> None:
        self.first_seq = first_seq
        self.rows = rows
        self.points = len(rows)


def test_failed_sends_are_retried_until_everything_is_delivered_once() -> None:
    sink = FlakySink(failures=5)
    rows: deque[Row] = deque()
    shipper = Shipper(sink, rows, flush_every_s=0.01, heartbeat_s=1.0, max_buffered=10_000)
    shipper.start()
    for i in range(300):
        rows.append((i + 1, 0, 0.0, {"x": float(i)}))
    assert shipper.flush(timeout=60)
    assert shipper.finish("completed", None, timeout=60)
    assert sink.stored == {i + 1: float(i) for i in range(300)}
    assert sink.finished == ("completed", None)
    assert sink.attempts > 5
    assert shipper.stop_requested, "the sink's answer said stop"


class TimedSink(FlakySink):
    """Records when each payload arrived and how many rows it held."""

    def __init__(self) -> None:
        super().__init__(failures=0)
        self.sends: list[tuple[float, int]] = []

    def send(self, payload: Any) -> bool:
        self.sends.append((time.monotonic(), payload.points))
        self._store(payload)
        return False


def wait_for_rows(sink: TimedSink, count: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while len(sink.stored) < count:
        assert time.monotonic() < deadline, f"{len(sink.stored)} of {count} rows arrived"
        time.sleep(0.002)


def test_a_point_logged_after_a_quiet_spell_is_sent_at_once_not_an_interval_later() -> None:
    # A slow training loop (one log now and then): each point leaves within the idle poll,
    # although the interval between batches is a whole 2 s here.
    sink = TimedSink()
    rows: deque[Row] = deque()
    shipper = Shipper(sink, rows, flush_every_s=2.0, heartbeat_s=60.0, max_buffered=10_000)
    shipper.start()
    try:
        delays = []
        for i in range(3):
            time.sleep(2.1)  # quieter than the interval
            logged = time.monotonic()
            rows.append((i + 1, 0, 0.0, {"x": float(i)}))
            wait_for_rows(sink, i + 1)
            delays.append(sink.sends[-1][0] - logged)
        assert max(delays) < 0.5, delays
    finally:
        shipper.finish("completed", None, timeout=10)


def test_a_loop_that_logs_often_gets_one_batch_per_interval() -> None:
    sink = TimedSink()
    rows: deque[Row] = deque()
    shipper = Shipper(sink, rows, flush_every_s=0.3, heartbeat_s=60.0, max_buffered=10_000)
    shipper.start()
    try:
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < 1.5:  # a point every 5 ms for 1.5 s
            n += 1
            rows.append((n, 0, 0.0, {"x": float(n)}))
            time.sleep(0.005)
        wait_for_rows(sink, n)
    finally:
        shipper.finish("completed", None, timeout=10)
    times = [t for t, _ in sink.sends]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # The first point leaves at once; after it, batches about an interval apart, not a
    # request per point.
    assert len(sink.sends) <= 1.5 / 0.3 + 3, sink.sends
    assert min(gaps) > 0.2, gaps
    assert sum(points for _, points in sink.sends) == n


def test_a_run_that_cannot_take_points_stops_the_script() -> None:
    class GoneSink(FlakySink):
        def send(self, payload: Any) -> bool:
            raise Fatal("404: no run with id 7")

    rows: deque[Row] = deque([(1, 0, 0.0, {"x": 1.0})])
    shipper = Shipper(GoneSink(0), rows, flush_every_s=0.01, heartbeat_s=1.0, max_buffered=10)
    shipper.start()
    assert not shipper.flush(timeout=30)
    assert shipper.stop_requested and shipper.fatal == "404: no run with id 7"


def test_importing_trainscope_and_its_sdk_pulls_in_nothing_heavy() -> None:
    code = (
        "import sys, trainscope\n"
        "trainscope.init, trainscope.Run, trainscope.log\n"
        "heavy = ('torch', 'numpy', 'fastapi', 'sqlalchemy', 'httpx', 'pydantic')\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


class ConfigSink(FlakySink):
    """Records config updates and the order of everything; the first update fails once."""

    def __init__(self) -> None:
        super().__init__(failures=0)
        self.events: list[str] = []
        self.config_failures = 1

    def update_config(self, config: dict[str, Any]) -> None:
        if self.config_failures:
            self.config_failures -= 1
            raise Transient("connection reset")
        self.events.append(f"config {sorted(config)}")

    def finish(self, status: str, message: str | None, summary: dict[str, Any]) -> None:
        self.events.append(f"finish {status}")


def test_a_config_update_is_retried_and_delivered_before_the_end() -> None:
    sink = ConfigSink()
    rows: deque[Row] = deque()
    shipper = Shipper(sink, rows, flush_every_s=0.01, heartbeat_s=1.0, max_buffered=10_000)
    shipper.start()
    rows.append((1, 0, 0.0, {"x": 1.0}))
    shipper.add_config({"lr": 0.1})
    shipper.add_config({"batch_size": 8})
    assert shipper.finish("completed", None, timeout=30)
    assert sink.events == ["config ['lr']", "config ['batch_size']", "finish completed"]
    assert sink.stored == {1: 1.0}
