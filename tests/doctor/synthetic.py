"""Synthetic training runs for the doctor's tests and benchmark (benchmarks/doctor_accuracy.py).

A run is drawn from a small model of how SGD behaves, not from a neural network:

- progress is proportional to the learn rate spent: the loss decays as exp(−S(t)/τ), where
  S(t) is the cumulative learn rate relative to the initial one (so a schedule's drop slows
  progress and cosine annealing stops it);
- the loss has a noise floor that grows with the learn rate, Linf · (1 + κ · lr/lr₀), so a drop
  of the learn rate lowers the loss within about an epoch, as it does in practice;
- mini-batch losses carry multiplicative log-normal noise, validation losses a smaller one;
- accuracy is a monotone function of the loss, from chance at ln C down to 1 at 0, with the
  binomial noise of a 64-sample mini-batch.

`Run.columns()` gives what the store hands out (optionally min/max downsampled by the store's
own `select_rows`), `Run.curves()` the doctor's input, `Run.context()` its RunContext.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from trainscope.doctor import Curves, RunContext
from trainscope.schemas.options import TrainingOptions
from trainscope.store.arrays import FloatArray, IntArray, MetricArray, PointArrays
from trainscope.store.downsample import select_rows
from trainscope.store.records import PointColumns

BATCH = 64
ACCURACY_POWER = 0.6


@dataclass
class Run:
    task: str
    n_classes: int | None
    iterations_per_epoch: int
    options: TrainingOptions
    train_loss: FloatArray  # one per iteration 1..n
    train_metric: FloatArray
    learn_rate: FloatArray
    grad_norm: FloatArray
    val_rows: IntArray  # rows (0-based) where a validation ran
    val_loss: FloatArray
    val_metric: FloatArray
    test: tuple[float, float] | None = None
    kind: str = "train"
    ended: bool = False
    status: str | None = None
    finish_reason: str | None = None
    layers: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def iteration(self) -> IntArray:
        return np.arange(1, len(self.train_loss) + 1, dtype=np.int64)

    @property
    def epoch(self) -> IntArray:
        return np.asarray((self.iteration - 1) // self.iterations_per_epoch + 1, dtype=np.int64)

    @property
    def key(self) -> str:
        return "accuracy" if self.task == "classification" else "rmse"

    def info(self) -> dict[str, Any]:
        per = self.iterations_per_epoch
        body: dict[str, Any] = {
            "task": self.task,
            "iterations_per_epoch": per,
            "max_iterations": per * self.options.max_epochs,
            "layers": list(self.layers),
        }
        if self.n_classes:
            body["class_names"] = [str(i) for i in range(self.n_classes)]
        return body

    def arrays(self) -> PointArrays:
        n = len(self.train_loss)
        rows = n + (1 if self.test else 0)
        it = np.concatenate([self.iteration, self.iteration[-1:]]) if self.test else self.iteration
        ep = np.concatenate([self.epoch, self.epoch[-1:]]) if self.test else self.epoch
        metrics = {
            "train_loss": self.train_loss,
            f"train_{self.key}": self.train_metric,
            "learn_rate": self.learn_rate,
            "grad_norm": self.grad_norm,
        }
        out: dict[str, MetricArray] = {
            k: MetricArray(np.arange(n, dtype=np.int64) if self.test else None, v)
            for k, v in metrics.items()
        }
        out["val_loss"] = MetricArray(self.val_rows, self.val_loss)
        out[f"val_{self.key}"] = MetricArray(self.val_rows, self.val_metric)
        if self.test:
            last = np.array([n], dtype=np.int64)
            out["test_loss"] = MetricArray(last, np.array([self.test[0]]))
            out[f"test_{self.key}"] = MetricArray(last, np.array([self.test[1]]))
        seq = np.arange(1, rows + 1, dtype=np.int64)
        return PointArrays(seq, it, ep, seq.astype(np.float64), out)

    def columns(self, max_points: int | None = None) -> PointColumns:
        """The store's answer to `metrics?max_points=`: min/max downsampled when asked."""
        points = self.arrays()
        if max_points is not None and len(points) > max_points:
            points = points.take(select_rows(points, max_points))
            downsampled = True
        else:
            downsampled = False
        return PointColumns.from_arrays(
            points, downsampled=downsampled, total=len(points), has_more=False, after_seq=0
        )

    def curves(self, max_points: int | None = None) -> Curves:
        cols = self.columns(max_points)
        return Curves.from_columns(cols.iteration, cols.epoch, cols.values, self.info())

    def context(self) -> RunContext:
        return RunContext(
            options=self.options,
            kind=self.kind,
            ended=self.ended,
            status=self.status,
            finish_reason=self.finish_reason,
            layers=self.layers,
        )

    def truncated(self, n: int) -> Run:
        """The run as it stood after n iterations, still running."""
        keep = self.val_rows < n
        return replace(
            self,
            train_loss=self.train_loss[:n],
            train_metric=self.train_metric[:n],
            learn_rate=self.learn_rate[:n],
            grad_norm=self.grad_norm[:n],
            val_rows=self.val_rows[keep],
            val_loss=self.val_loss[keep],
            val_metric=self.val_metric[keep],
            test=None,
            ended=False,
            status="running",
            finish_reason=None,
        )


# ---- the model ---------------------------------------------------------------------------


def learn_rates(options: TrainingOptions, per_epoch: int, n: int) -> FloatArray:
    """The engine's schedules (engine/schedules.py) for none, piecewise and cosine."""
    it = np.arange(1, n + 1, dtype=np.float64)
    epoch = (it - 1) // per_epoch + 1
    lr0 = options.learn_rate
    total = per_epoch * options.max_epochs
    if options.learn_rate_schedule == "piecewise":
        drops = (epoch - 1) // options.learn_rate_drop_period
        return np.asarray(lr0 * options.learn_rate_drop_factor**drops)
    if options.learn_rate_schedule == "cosine":
        return np.asarray(0.5 * lr0 * (1 + np.cos(np.pi * (it - 1) / total)))
    return np.full(n, lr0)


def ema(x: FloatArray, span: float) -> FloatArray:
    """Exponential moving average with time constant `span` samples (an explicit recurrence;
    the runs here are at most a few thousand points)."""
    alpha = 1.0 / max(1.0, span)
    out = np.empty_like(x)
    m = float(x[0])
    for i, v in enumerate(x):
        m += alpha * (float(v) - m)
        out[i] = m
    return out


def loss_curve(
    lr_rel: FloatArray,
    start: float,
    floor: float,
    kappa: float,
    taus: tuple[float, float],
    fast_share: float,
    per_epoch: int,
) -> FloatArray:
    """Noise-free loss: an lr-dependent floor plus a decay driven by the learn rate spent, in
    two phases (most runs drop fast at first, then slowly): `fast_share` of the way with time
    constant taus[0], the rest with taus[1] (in iterations at the initial learn rate)."""
    spent = np.cumsum(lr_rel) - lr_rel[0]
    level = floor * (1 + kappa * ema(lr_rel, per_epoch / 4))
    decay = fast_share * np.exp(-spent / taus[0]) + (1 - fast_share) * np.exp(-spent / taus[1])
    return np.asarray(level + (start - level[0]) * decay)


def accuracy(loss: FloatArray, reference: float, chance: float) -> FloatArray:
    """Accuracy from the loss: chance at `reference` (ln C), 1 at zero."""
    frac = np.clip(1 - loss / reference, 0.0, 1.0)
    return np.asarray(chance + (1 - chance) * frac**ACCURACY_POWER)


def loss_for_accuracy(acc: float, reference: float, chance: float) -> float:
    return float(reference * (1 - ((acc - chance) / (1 - chance)) ** (1 / ACCURACY_POWER)))


def lognormal(rng: np.random.Generator, x: FloatArray, sigma: float) -> FloatArray:
    return np.asarray(x * np.exp(sigma * rng.standard_normal(len(x))))


def batch_accuracy(rng: np.random.Generator, p: FloatArray) -> FloatArray:
    p = np.clip(np.nan_to_num(p, nan=0.0), 0.0, 1.0)
    return np.asarray(rng.binomial(BATCH, p) / BATCH, dtype=np.float64)


def add_spikes(
    rng: np.random.Generator, loss: FloatArray, rows: IntArray, start: float
) -> FloatArray:
    """Jumps of 3–30× (at least +0.3 × the start loss) that decay over 1–4 iterations."""
    out = loss.copy()
    for r in rows:
        ratio = float(rng.uniform(3, 30))
        peak = max(ratio * out[r], out[r] + 0.3 * start)
        length = int(rng.integers(1, 5))
        for k in range(length):
            if r + k < len(out):
                out[r + k] += (peak - loss[r]) * math.exp(-1.5 * k)
    return out


def spread_rows(rng: np.random.Generator, lo: int, hi: int, k: int, gap: int = 10) -> IntArray:
    """k distinct rows in [lo, hi), at least `gap` apart."""
    rows: list[int] = []
    for _ in range(200):
        if len(rows) == k:
            break
        r = int(rng.integers(lo, hi))
        if all(abs(r - q) >= gap for q in rows):
            rows.append(r)
    return np.array(sorted(rows), dtype=np.int64)


# ---- runs from knobs ------------------------------------------------------------------------

NOISE_LEVELS = {"low": (0.01, 0.003), "medium": (0.03, 0.01), "high": (0.08, 0.02)}


@dataclass
class Shape:
    """The knobs of one synthetic run."""

    task: str = "classification"
    n_classes: int = 10
    per_epoch: int = 20
    epochs: int = 40
    validations: int = 40
    schedule: str = "none"
    drop_period: int = 10
    solver: str = "sgdm"
    fast_tau: float = 40.0  # iterations
    fast_share: float = 0.5
    tau: float = 0.3  # × the run's iterations
    floor: float = 0.15  # × the start loss
    kappa: float = 0.5
    gap: float = 0.05  # validation loss = training loss × (1 + gap × progress made)
    overfit_at: float | None = None  # fraction of the run where validation loss turns up
    overfit_rise: float = 0.5
    val_accuracy_penalty: float = 0.0
    init_mult: float = 1.0
    spikes: int = 0
    noise: str = "medium"
    stop_at: float | None = None  # running: stopped watching at this fraction
    diverge: str | None = None  # "immediate" | "spikes" | "runaway"
    kind: str = "train"
    options: dict[str, Any] = field(default_factory=dict)


def make_run(rng: np.random.Generator, s: Shape) -> Run:
    classification = s.task == "classification"
    ref = math.log(s.n_classes) if classification else 1.0
    chance = 1 / s.n_classes if classification else 0.0
    total = s.per_epoch * s.epochs
    every = max(1, round(total / s.validations))
    lr0 = 0.01 if s.solver in ("sgdm", "sgd") else 0.001
    options = TrainingOptions(
        solver=s.solver,
        initial_learn_rate=lr0,
        max_epochs=s.epochs,
        mini_batch_size=64,
        validation_frequency=every,
        learn_rate_schedule=s.schedule,
        learn_rate_drop_period=s.drop_period,
        execution_environment="cpu",
        **s.options,
    )
    lr = learn_rates(options, s.per_epoch, total)
    start = ref * float(rng.uniform(0.98, 1.04))
    clean = loss_curve(
        lr / lr0,
        start,
        s.floor * ref,
        s.kappa,
        (s.fast_tau, s.tau * total),
        s.fast_share,
        s.per_epoch,
    )
    t = np.arange(total, dtype=np.float64)
    if s.init_mult != 1.0:
        clean = clean + start * (s.init_mult - 1) * np.exp(-t / float(rng.uniform(3, 10)))
    # The generalisation gap opens as the network learns: none at initialisation.
    progress = np.clip((start - clean) / max(start - s.floor * ref, 1e-9), 0.0, 1.0)
    val_clean = clean * (1 + s.gap * progress)
    seen = total if s.stop_at is None else int(s.stop_at * total)  # the part watched
    if s.overfit_at is not None:
        t0 = s.overfit_at * total
        turn = float(np.interp(t0, t, val_clean))
        # The rise reaches overfit_rise where watching stops.
        ramp = np.clip((t - t0) / (seen - t0), 0.0, 1.0)
        val_clean = np.where(t < t0, val_clean, turn + (val_clean - turn) * 0.2)
        val_clean = val_clean + turn * s.overfit_rise * ramp**1.2
    sigma, val_sigma = NOISE_LEVELS[s.noise]
    loss = lognormal(rng, clean, sigma)
    grad = lognormal(rng, np.ones(total), 0.2)
    if s.spikes:
        rows = spread_rows(rng, int(0.1 * seen), int(0.95 * seen), s.spikes, gap=15)
        spiked = add_spikes(rng, loss, rows, start)
        grad = grad * spiked / loss
        loss = spiked
    val_rows = np.unique(np.concatenate([np.arange(every - 1, total, every), [total - 1]]))
    val_loss = lognormal(rng, val_clean[val_rows], val_sigma)
    if classification:
        # From the clean loss: the mini-batch's own noise is the binomial one.
        metric = batch_accuracy(rng, accuracy(clean, ref, chance))
        val_metric = accuracy(val_loss, ref, chance) - s.val_accuracy_penalty
        val_metric = np.clip(val_metric, 0.0, 1.0)
        test = (float(val_loss[-1]), float(val_metric[-1]))
    else:
        metric = np.sqrt(loss) * lognormal(rng, np.ones(total), 0.02)
        val_metric = np.sqrt(val_loss)
        test = (float(val_loss[-1]), float(val_metric[-1]))
    run = Run(
        task=s.task,
        n_classes=s.n_classes if classification else None,
        iterations_per_epoch=s.per_epoch,
        options=options,
        train_loss=loss,
        train_metric=metric,
        learn_rate=lr,
        grad_norm=grad,
        val_rows=val_rows.astype(np.int64),
        val_loss=val_loss,
        val_metric=val_metric,
        test=test,
        kind=s.kind,
        ended=True,
        status="completed",
        finish_reason="max-epochs",
    )
    if s.diverge is not None:
        run = diverge(rng, run, s.diverge, start)
    elif s.stop_at is not None:
        run = run.truncated(max(2, int(s.stop_at * total)))
    return run


def diverge(rng: np.random.Generator, run: Run, how: str, start: float) -> Run:
    """The run as the engine ends it: the first non-finite loss is its last point."""
    total = len(run.train_loss)
    loss = run.train_loss.copy()
    if how == "immediate":
        at = int(rng.integers(0, 5))
        loss[:at] = start * 10.0 ** np.arange(at)
    else:
        at = int(rng.integers(int(0.3 * total), int(0.9 * total)))
        if how == "spikes":
            k = int(rng.integers(1, 4))
            rows = spread_rows(rng, max(int(0.1 * total), at - int(0.2 * total)), at - 5, k)
            loss = add_spikes(rng, loss, rows, start)
        else:  # runaway: the loss grows geometrically for a while, then overflows
            m = int(rng.integers(20, 80))
            growth = float(rng.uniform(5, 100))
            loss[at - m : at] *= np.exp(np.linspace(0, math.log(growth), m))
    loss[at] = float(rng.choice([math.nan, math.inf]))
    cut = run.truncated(at + 1)
    return replace(cut, train_loss=loss[: at + 1], ended=True, status="diverged")
