"""A group's bands and verdict, checked against numbers computed here by hand."""

from __future__ import annotations

import math
import statistics

import pytest

from trainscope.sweeps.bands import band, verdict


def test_mean_std_min_max_per_iteration_of_the_members() -> None:
    a = ([1, 2, 3], [1.0, 2.0, 3.0])
    b = ([1, 2, 3], [3.0, 2.0, math.nan])
    c = ([1, 2], [2.0, 5.0])
    got = band([a, b, c])
    assert got.iteration == [1, 2, 3] and got.n == [3, 3, 1]
    assert got.mean == pytest.approx([2.0, 3.0, 3.0])
    assert got.std[:2] == pytest.approx([statistics.stdev([1, 3, 2]), statistics.stdev([2, 2, 5])])
    assert got.std[2] == 0.0
    assert (got.min, got.max) == ([1.0, 2.0, 3.0], [3.0, 5.0, 3.0])


def test_members_on_other_iterations_are_interpolated_never_extrapolated() -> None:
    got = band([([10, 20], [1.0, 3.0]), ([15], [5.0])])
    assert got.iteration == [10, 15, 20] and got.n == [1, 2, 1]
    assert got.mean == pytest.approx([1.0, 3.5, 3.0])


def test_the_verdict_reads_the_spread_of_the_final_validation_metric() -> None:
    tight = verdict(
        {1: {"val_accuracy": 0.90}, 2: {"val_accuracy": 0.905}, 3: {"val_accuracy": 0.9}}
    )
    assert tight.verdict == "consistent" and tight.metric == "val_accuracy"
    loose = verdict({1: {"val_accuracy": 0.6}, 2: {"val_accuracy": 0.9}})
    assert loose.verdict == "inconsistent" and "0.75" in loose.message
    assert verdict({1: {"val_loss": 0.5}}).verdict == "unknown"
    assert verdict({1: {"val_loss": 1.0}, 2: {"val_loss": 1.1}}).verdict == "variable"
