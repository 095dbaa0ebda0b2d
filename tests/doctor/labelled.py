"""A labelled set of synthetic runs: each with the finding codes that should fire on it.

Every scenario draws its shape from ranges (seeded), with one of three noise levels, and
states its labels by construction: a `plateau` run converges early at a constant learn rate,
an `overfitting` run's validation loss turns up while its training loss keeps falling, and so
on. The ranges stay clear of the rules' thresholds (docs/doctor.md): this measures whether the
rules find what they are meant to find through noise, downsampling and each other's
conditions, not where a borderline case should fall. Mixtures carry two labels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from tests.doctor.synthetic import (
    NOISE_LEVELS,
    Run,
    Shape,
    accuracy,
    batch_accuracy,
    lognormal,
    loss_for_accuracy,
    make_run,
)
from trainscope.schemas.options import TrainingOptions


@dataclass(frozen=True)
class Case:
    scenario: str
    labels: frozenset[str]
    run: Run
    truth: dict[str, float] = field(default_factory=dict)


# ---- scenarios ------------------------------------------------------------------------------


def base_shape(rng: np.random.Generator, **kw: Any) -> Shape:
    task = kw.pop("task", "classification")
    shape = Shape(
        task=task,
        n_classes=int(rng.choice([2, 3, 10])),
        per_epoch=int(rng.choice([10, 20, 50])),
        epochs=int(rng.integers(30, 61)),
        validations=int(rng.integers(25, 61)),
        fast_tau=float(rng.uniform(15, 50)),
        fast_share=float(rng.uniform(0.4, 0.7)),
        floor=float(rng.uniform(0.08, 0.2)),
        kappa=float(rng.uniform(0.2, 0.6)),
        gap=float(rng.uniform(0.0, 0.1)),
        noise=str(rng.choice(list(NOISE_LEVELS))),
        solver=str(rng.choice(["sgdm", "adam"])),
    )
    return replace(shape, **kw)


def healthy_running(rng: np.random.Generator) -> Shape:
    return base_shape(rng, tau=float(rng.uniform(0.25, 0.5)), stop_at=float(rng.uniform(0.4, 0.8)))


def healthy_cosine(rng: np.random.Generator) -> Shape:
    return base_shape(
        rng,
        schedule="cosine",
        tau=float(rng.uniform(0.06, 0.12)),
        kappa=float(rng.uniform(0.1, 0.3)),
    )


def healthy_piecewise(rng: np.random.Generator) -> Shape:
    epochs = int(rng.integers(40, 61))
    period = epochs - round(float(rng.uniform(0.2, 0.26)) * epochs)
    return base_shape(
        rng,
        epochs=epochs,
        schedule="piecewise",
        drop_period=period,
        tau=float(rng.uniform(0.04, 0.08)),
        options={"learn_rate_drop_factor": 0.1},
    )


def plateau_shape(rng: np.random.Generator) -> Shape:
    stop = float(rng.uniform(0.7, 1.0))
    base = base_shape(rng)
    return replace(
        base,
        fast_tau=min(base.fast_tau, 0.03 * base.per_epoch * base.epochs),
        tau=float(rng.uniform(0.03, 0.07)),
        stop_at=None if stop > 0.9 else stop,
        kappa=float(rng.uniform(0.3, 0.8)),
    )


def overfitting_shape(rng: np.random.Generator) -> Shape:
    at = float(rng.uniform(0.25, 0.5))
    stop = float(rng.uniform(at + 0.3, 1.1))
    return base_shape(
        rng,
        tau=float(rng.uniform(0.15, 0.3)),
        floor=float(rng.uniform(0.005, 0.03)),
        kappa=float(rng.uniform(0.02, 0.1)),
        overfit_at=at,
        overfit_rise=float(rng.uniform(0.35, 1.0)),
        stop_at=None if stop >= 1 else stop,
    )


def overfitting_gap_shape(rng: np.random.Generator) -> Shape:
    return base_shape(
        rng,
        schedule="cosine",
        tau=float(rng.uniform(0.1, 0.2)),
        floor=float(rng.uniform(0.01, 0.05)),
        kappa=0.1,
        val_accuracy_penalty=float(rng.uniform(0.15, 0.3)),
        stop_at=float(rng.uniform(0.6, 0.9)),
        n_classes=int(rng.choice([3, 10])),
    )


def underfitting_shape(rng: np.random.Generator, schedule: str) -> Shape:
    # Ten classes, accuracy well above chance but poor: the loss still moves at first (an
    # underfit model that stays at chance would be `too-slow` as well).
    n = 10
    chance = 1 / n
    target = float(rng.uniform(0.45, 0.55))
    floor = loss_for_accuracy(target, math.log(n), chance) / math.log(n)
    return base_shape(
        rng,
        n_classes=n,
        schedule=schedule,
        fast_tau=float(rng.uniform(15, 30)),
        fast_share=float(rng.uniform(0.6, 0.8)),
        tau=float(rng.uniform(0.05, 0.1)),
        floor=floor,
        kappa=0.05,
        gap=float(rng.uniform(0.0, 0.02)),
    )


def still_improving_shape(rng: np.random.Generator) -> Shape:
    return base_shape(
        rng, tau=float(rng.uniform(0.5, 1.0)), fast_share=float(rng.uniform(0.3, 0.5))
    )


def too_slow_shape(rng: np.random.Generator) -> Shape:
    slow = float(rng.uniform(100, 300))  # the learn rate is this many times too small
    base = base_shape(rng, per_epoch=int(rng.choice([20, 50])))
    total = base.per_epoch * base.epochs
    # Watched live for 150 iterations up to 40 % of the run (not yet long enough to be
    # judged underfitting).
    stop = max(150 / total, float(rng.uniform(0.1, 0.4)))
    return replace(
        base,
        fast_tau=base.fast_tau * slow,
        tau=0.3 * slow,
        stop_at=stop,
    )


def too_early_shape(rng: np.random.Generator) -> Shape:
    epochs = int(rng.integers(40, 61))
    period = round(float(rng.uniform(0.25, 0.35)) * epochs)
    base = base_shape(rng, epochs=epochs, schedule="piecewise", drop_period=period)
    per_drop = period * base.per_epoch
    total = epochs * base.per_epoch
    return replace(
        base,
        tau=float(rng.uniform(0.5, 1.0)) * per_drop / total,
        fast_share=0.3,
        stop_at=(2 * per_drop - 1) / total,
        options={"learn_rate_drop_factor": 0.1},
    )


def bad_init(rng: np.random.Generator, shape: Shape) -> Shape:
    mult = float(rng.uniform(2.5, 6)) if rng.random() < 0.8 else float(rng.uniform(0.1, 0.3))
    return replace(shape, init_mult=mult, task="classification")


def with_spikes(rng: np.random.Generator, shape: Shape) -> Shape:
    return replace(shape, spikes=int(rng.integers(3, 9)))


def scenario_table() -> dict[str, tuple[frozenset[str], Callable[[np.random.Generator], Shape]]]:
    """name → (labels, shape drawer)."""
    table: dict[str, tuple[frozenset[str], Callable[[np.random.Generator], Shape]]] = {}

    def add(name: str, labels: set[str], draw: Callable[[np.random.Generator], Shape]) -> None:
        table[name] = (frozenset(labels), draw)

    add("healthy-running", set(), healthy_running)
    add("healthy-cosine", set(), healthy_cosine)
    add("healthy-piecewise", set(), healthy_piecewise)
    add("healthy-one-spike", set(), lambda r: replace(healthy_running(r), spikes=1))
    add("healthy-regression", set(), lambda r: replace(healthy_cosine(r), task="regression"))
    add("diverged-immediate", {"diverged"}, lambda r: replace(base_shape(r), diverge="immediate"))
    add("diverged-spikes", {"diverged"}, lambda r: replace(base_shape(r), diverge="spikes"))
    add("diverged-runaway", {"diverged"}, lambda r: replace(base_shape(r), diverge="runaway"))
    add(
        "diverged-regression",
        {"diverged"},
        lambda r: replace(base_shape(r, task="regression"), diverge="runaway"),
    )
    add("loss-spikes", {"loss-spikes"}, lambda r: with_spikes(r, healthy_running(r)))
    add("loss-spikes-cosine", {"loss-spikes"}, lambda r: with_spikes(r, healthy_cosine(r)))
    add("too-slow", {"too-slow"}, too_slow_shape)
    add("plateau", {"plateau"}, plateau_shape)
    add("plateau-regression", {"plateau"}, lambda r: replace(plateau_shape(r), task="regression"))
    add("overfitting", {"overfitting"}, overfitting_shape)
    add(
        "overfitting-regression",
        {"overfitting"},
        lambda r: replace(overfitting_shape(r), task="regression"),
    )
    add("overfitting-gap", {"overfitting"}, overfitting_gap_shape)
    add("underfitting", {"underfitting"}, lambda r: underfitting_shape(r, "cosine"))
    add("still-improving", {"still-improving"}, still_improving_shape)
    add(
        "still-improving-regression",
        {"still-improving"},
        lambda r: replace(still_improving_shape(r), task="regression"),
    )
    add("initial-loss", {"initial-loss"}, lambda r: bad_init(r, healthy_running(r)))
    add("lr-decay-too-early", {"lr-decay-too-early"}, too_early_shape)
    # mixtures: two conditions at once
    add(
        "overfitting+spikes",
        {"overfitting", "loss-spikes"},
        lambda r: with_spikes(r, overfitting_shape(r)),
    )
    add(
        "initial-loss+overfitting",
        {"initial-loss", "overfitting"},
        lambda r: bad_init(r, overfitting_shape(r)),
    )
    add(
        "initial-loss+plateau", {"initial-loss", "plateau"}, lambda r: bad_init(r, plateau_shape(r))
    )
    add("plateau+spikes", {"plateau", "loss-spikes"}, lambda r: with_spikes(r, plateau_shape(r)))
    add(
        "still-improving+spikes",
        {"still-improving", "loss-spikes"},
        lambda r: with_spikes(r, still_improving_shape(r)),
    )
    # At a constant learn rate an underfit run's validation loss is flat too: one cause, the
    # model (issue 18: one root cause per run), not a plateau to schedule as well.
    add("underfitting-constant-rate", {"underfitting"}, lambda r: underfitting_shape(r, "none"))
    add(
        "diverged+initial-loss",
        {"diverged", "initial-loss"},
        lambda r: bad_init(r, replace(base_shape(r), diverge=str(r.choice(["spikes", "runaway"])))),
    )
    return table


def draw(name: str, rng: np.random.Generator) -> Case:
    labels, shape = scenario_table()[name]
    return Case(name, labels, make_run(rng, shape(rng)))


def labelled_cases(per_scenario: int, seed: int = 0) -> list[Case]:
    """`per_scenario` runs of every scenario, including the preflight ones."""
    rng = np.random.default_rng(seed)
    cases: list[Case] = []
    for name in scenario_table():
        cases.extend(draw(name, rng) for _ in range(per_scenario))
    for _ in range(per_scenario):
        cases.extend(preflight_cases(rng))
    return cases


# ---- preflight runs -------------------------------------------------------------------------


def overfit_batch_case(rng: np.random.Generator, fits: bool, task: str) -> Case:
    n = int(rng.choice([2, 3, 10]))
    fast = float(rng.uniform(15, 50))
    if fits:
        floor, fast = 0.001, float(rng.uniform(5, 15))
    elif task == "classification":
        target = float(rng.uniform(max(0.4, 1 / n + 0.1), 0.9))
        floor = loss_for_accuracy(target, math.log(n), 1 / n) / math.log(n)
    else:
        floor = float(rng.uniform(0.05, 0.5))
    shape = base_shape(
        rng,
        task=task,
        n_classes=n,
        kind="overfit-batch",
        per_epoch=4,
        epochs=int(rng.integers(80, 151)),
        fast_tau=fast,
        tau=float(rng.uniform(0.05, 0.15)),
        floor=floor,
        kappa=0.05,
        noise=str(rng.choice(["low", "medium"])),
    )
    labels = frozenset() if fits else frozenset({"overfit-batch"})
    name = f"overfit-batch-{'fits' if fits else 'fails'}" + (
        "-regression" if task != "classification" else ""
    )
    return Case(name, labels, make_run(rng, shape))


def initial_loss_case(rng: np.random.Generator, good: bool) -> Case:
    shape = base_shape(
        rng, kind="initial-loss", per_epoch=int(rng.integers(2, 11)), epochs=1, validations=1
    )
    if not good:
        shape = bad_init(rng, shape)
    labels = frozenset() if good else frozenset({"initial-loss"})
    return Case(f"initial-loss-check-{'ok' if good else 'off'}", labels, make_run(rng, shape))


def lr_range_case(rng: np.random.Generator) -> Case:
    """A range test: the learn rate grows geometrically each iteration; the loss falls around
    10^a (its steepest descent), bottoms out, then explodes and goes NaN."""
    n = int(rng.integers(100, 401))
    lo = float(rng.choice([1e-7, 1e-6, 1e-5]))
    lr = lo * (10.0 / lo) ** (np.arange(n) / (n - 1))
    x = np.log10(lr)
    a = float(rng.uniform(-4, -1.5))
    width = float(rng.uniform(0.25, 0.45))
    blow = a + float(rng.uniform(1.0, 1.6))
    ref = math.log(10)
    clean = ref - float(rng.uniform(0.6, 0.9)) * ref / (1 + np.exp(-(x - a) / width))
    clean = clean + 0.05 * ref * np.exp((x - blow) / 0.12)
    loss = lognormal(rng, clean, float(rng.uniform(0.02, 0.08)))
    over = np.flatnonzero(loss > 10 * ref)
    end = int(over[0]) + 1 if len(over) else n
    loss = loss[:end]
    if len(over):
        loss[-1] = math.nan
    options = TrainingOptions(initial_learn_rate=lo, max_epochs=1, execution_environment="cpu")
    empty_i = np.empty(0, dtype=np.int64)
    run = Run(
        task="classification",
        n_classes=10,
        iterations_per_epoch=n,
        options=options,
        train_loss=loss,
        train_metric=batch_accuracy(rng, accuracy(loss, ref, 0.1)),
        learn_rate=lr[:end],
        grad_norm=np.ones(end),
        val_rows=empty_i,
        val_loss=np.empty(0),
        val_metric=np.empty(0),
        kind="lr-range-test",
        ended=True,
        status="diverged" if len(over) else "completed",
    )
    return Case("lr-range-test", frozenset({"lr-range"}), run, {"steepest_lr": 10**a})


def preflight_cases(rng: np.random.Generator) -> list[Case]:
    return [
        overfit_batch_case(rng, True, "classification"),
        overfit_batch_case(rng, False, "classification"),
        overfit_batch_case(rng, True, "regression"),
        overfit_batch_case(rng, False, "regression"),
        initial_loss_case(rng, True),
        initial_loss_case(rng, False),
        lr_range_case(rng),
    ]
