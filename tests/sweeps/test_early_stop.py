"""The median stopping rule as a pure function of series."""

from __future__ import annotations

from trainscope.sweeps.early_stop import Series, median_stop


def curve(start: float, slope: float, upto: int, every: int = 10) -> Series:
    its = list(range(every, upto + 1, every))
    return Series(its, [start - slope * i for i in its])


def judge(trial: Series, others: list[Series], **kw: object) -> object:
    args: dict[str, object] = {
        "goal": "minimize",
        "max_iterations": 100,
        "grace_fraction": 0.25,
        "min_trials": 2,
    }
    args.update(kw)
    return median_stop(trial, others, **args)  # type: ignore[arg-type]


def test_a_trial_clearly_behind_the_median_is_stopped_with_the_numbers() -> None:
    good = [curve(1.0, 0.005, 100), curve(1.0, 0.004, 100), curve(1.0, 0.006, 100)]
    flat = curve(1.0, 0.0, 40)
    decision = judge(flat, good)
    assert decision is not None
    assert decision.iteration == 40 and decision.best == 1.0  # type: ignore[attr-defined]
    assert decision.median == 1.0 - 0.005 * 40 and decision.others == 3  # type: ignore[attr-defined]
    assert "median stopping rule" in decision.reason("val_loss")  # type: ignore[attr-defined]


def test_within_the_grace_period_or_ahead_of_the_median_it_goes_on() -> None:
    good = [curve(1.0, 0.005, 100), curve(1.0, 0.004, 100)]
    assert judge(curve(1.0, 0.0, 20), good) is None  # 20 < 25% of 100
    assert judge(curve(1.0, 0.006, 50), good) is None  # ahead
    assert judge(curve(1.0, 0.0, 50), good[:1]) is None  # one other < min_trials


def test_only_trials_that_got_as_far_count_and_maximize_flips_it() -> None:
    short = [curve(1.0, 0.005, 30), curve(1.0, 0.005, 30)]
    assert judge(curve(1.0, 0.0, 50), short) is None
    rising = [Series([10, 50], [0.5, 0.9]), Series([10, 50], [0.5, 0.8])]
    assert judge(Series([10, 50], [0.5, 0.6]), rising, goal="maximize") is not None
    assert judge(Series([10, 50], [0.5, 0.95]), rising, goal="maximize") is None
