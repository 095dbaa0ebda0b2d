"""Build the doctor's corpus of REAL engine runs: tests/doctor/corpus/real_runs.json.gz.

Each run is a small CPU training of trainscope's own engine (`engine.loop.train` in-process)
on a built-in dataset, chosen to show one condition (or none): healthy, diverged, unstable
without NaN, spiky, too slow, stopped too early, plateau, overfitting, memorisation with a
flat validation, underfitting, seed noise. The curves are stored, not checkpoints: every
training and validation point's doctor columns (losses, accuracies, learn rate, gradient
norm; 5 significant digits), plus the spec and the Started/Status info.

The labels (LABELS below) are an expert's findings, decided by reading each run's curves
(`--describe` prints the numbers the labels were read from: loss at start/peak/end, the
largest jump over the start, validation best/end, train/val accuracy), NOT from the
doctor's output. A run whose curves did not show what it was designed for is labelled with
what it shows.

    python benchmarks/doctor_corpus.py [--only NAME ...] [--describe]

About a few minutes of CPU for the whole corpus.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.doctor.real_corpus (the loader)

from tests.doctor.real_corpus import CORPUS, _restore, load_corpus  # noqa: E402

# ---- the runs --------------------------------------------------------------------------------
# Each: (name, dataset, model, options). Options not given take the engine's defaults.
DIGITS = {"name": "digits"}
SPIRALS = {"name": "spirals", "num_samples": 900}
SEQ = {"name": "sequence-classes", "num_samples": 600, "sequence_length": 20}
SINE = {"name": "sine-forecast", "num_samples": 600}
IMAGES = {"name": "synthetic-images", "num_samples": 600, "image_size": 12}
CPU = {"execution_environment": "cpu"}


def _o(**kw: Any) -> dict[str, Any]:
    return {**CPU, **kw}


def runs() -> list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = []
    mlp = {"preset": "mlp"}
    # healthy: default-ish settings, every solver, a few schedules, seeds.
    for solver, lr in (("adam", 1e-3), ("sgdm", 0.05), ("rmsprop", 1e-3), ("adamw", 1e-3)):
        for seed in (1, 2):
            out.append(
                (
                    f"healthy-digits-{solver}-s{seed}",
                    DIGITS,
                    mlp,
                    _o(
                        solver=solver,
                        initial_learn_rate=lr,
                        max_epochs=12,
                        mini_batch_size=64,
                        validation_frequency=10,
                        seed=seed,
                    ),
                )
            )
    for sched in ("cosine", "linear", "piecewise", "exponential"):
        out.append(
            (
                f"healthy-spirals-{sched}",
                SPIRALS,
                mlp,
                _o(
                    solver="adam",
                    initial_learn_rate=0.01,
                    max_epochs=40,
                    mini_batch_size=64,
                    validation_frequency=6,
                    learn_rate_schedule=sched,
                    learn_rate_drop_period=25,
                    learn_rate_drop_factor=0.2,
                ),
            )
        )
    for seed in (1, 2, 3):
        out.append(
            (
                f"seednoise-sgd-digits-s{seed}",
                DIGITS,
                mlp,
                _o(
                    solver="sgd",
                    initial_learn_rate=0.1,
                    max_epochs=12,
                    mini_batch_size=32,
                    validation_frequency=20,
                    seed=seed,
                ),
            )
        )
    # diverged: learn rates far too high (NaN/Inf).
    for solver, lr in (("sgd", 50.0), ("sgdm", 20.0), ("adam", 5.0), ("rmsprop", 10.0)):
        for data, tag in ((DIGITS, "digits"), (SPIRALS, "spirals")):
            out.append(
                (
                    f"diverged-{tag}-{solver}",
                    data,
                    mlp,
                    _o(
                        solver=solver,
                        initial_learn_rate=lr,
                        max_epochs=6,
                        mini_batch_size=64,
                        validation_frequency=10,
                    ),
                )
            )
    # unstable without NaN: lr too high, loss jumps early, bursts.
    for solver, lr in (("adam", 0.05), ("adam", 0.1), ("rmsprop", 0.03), ("sgdm", 0.8)):
        for seed in (1, 2):
            out.append(
                (
                    f"unstable-digits-{solver}-{lr:g}-s{seed}",
                    DIGITS,
                    mlp,
                    _o(
                        solver=solver,
                        initial_learn_rate=lr,
                        max_epochs=12,
                        mini_batch_size=64,
                        validation_frequency=10,
                        seed=seed,
                    ),
                )
            )
    # too slow: lr far too small.
    for solver, lr in (("sgd", 1e-5), ("sgdm", 1e-6), ("adam", 1e-7), ("rmsprop", 1e-7)):
        for data, tag in ((DIGITS, "digits"), (SPIRALS, "spirals")):
            out.append(
                (
                    f"tooslow-{tag}-{solver}",
                    data,
                    mlp,
                    _o(
                        solver=solver,
                        initial_learn_rate=lr,
                        max_epochs=8,
                        mini_batch_size=64,
                        validation_frequency=10,
                    ),
                )
            )
    # stopped too early: few epochs at a modest rate, still improving.
    for solver, lr in (("sgdm", 0.005), ("adam", 2e-4), ("sgd", 0.02)):
        for data, tag in ((DIGITS, "digits"), (SPIRALS, "spirals")):
            out.append(
                (
                    f"early-{tag}-{solver}",
                    data,
                    mlp,
                    _o(
                        solver=solver,
                        initial_learn_rate=lr,
                        max_epochs=6 if tag == "digits" else 15,
                        mini_batch_size=64,
                        validation_frequency=5,
                    ),
                )
            )
    # plateau: spirals at a constant, highish rate for long.
    for seed in (1, 2, 3, 4, 5):
        out.append(
            (
                f"plateau-spirals-s{seed}",
                {**SPIRALS, "noise": 0.5},
                mlp,
                _o(
                    solver="adam",
                    initial_learn_rate=0.01,
                    max_epochs=60,
                    mini_batch_size=64,
                    validation_frequency=10,
                    seed=seed,
                ),
            )
        )
    # overfitting by validation loss / memorisation: tiny training sets, many epochs.
    for seed in (1, 2, 3):
        out.append(
            (
                f"memorise-digits-s{seed}",
                {**DIGITS, "max_train_samples": 80},
                mlp,
                _o(
                    solver="adam",
                    initial_learn_rate=3e-3,
                    max_epochs=150,
                    mini_batch_size=16,
                    validation_frequency=5,
                    seed=seed,
                ),
            )
        )
    for seed in (1, 2, 3):
        out.append(
            (
                f"overfit-spirals-s{seed}",
                {**SPIRALS, "noise": 0.6, "max_train_samples": 120},
                mlp,
                _o(
                    solver="adam",
                    initial_learn_rate=0.01,
                    max_epochs=200,
                    mini_batch_size=32,
                    validation_frequency=4,
                    seed=seed,
                ),
            )
        )
    # underfitting: a sequence task through a tiny flattened MLP? the LSTM at a fine rate but a
    # linear-ish problem: spirals through a model with no hidden capacity.
    tiny = {"layers": [{"type": "fc", "units": 2}]}
    for seed in (1, 2, 3, 4, 5):
        out.append(
            (
                f"underfit-spirals-linear-s{seed}",
                {**SPIRALS, "num_classes": 4, "turns": 2.0},
                tiny,
                _o(
                    solver="adam",
                    initial_learn_rate=0.01,
                    max_epochs=30,
                    mini_batch_size=64,
                    validation_frequency=6,
                    seed=seed,
                ),
            )
        )
    # sequences and images: LSTM/GRU/CNN presets.
    for preset, lr, tag in (
        ("lstm", 3e-3, "healthy"),
        ("gru", 3e-3, "healthy"),
        ("lstm", 1.0, "unstable"),
        ("gru", 1e-7, "tooslow"),
    ):
        out.append(
            (
                f"{tag}-seq-{preset}",
                SEQ,
                {"preset": preset},
                _o(
                    solver="adam",
                    initial_learn_rate=lr,
                    max_epochs=8,
                    mini_batch_size=32,
                    validation_frequency=10,
                ),
            )
        )
    for preset, lr, tag in (
        ("simple-cnn", 1e-3, "healthy"),
        ("simple-cnn", 30.0, "diverged"),
        ("deeper-cnn", 1e-3, "healthy"),
    ):
        out.append(
            (
                f"{tag}-images-{preset}",
                IMAGES,
                {"preset": preset},
                _o(
                    solver="adam" if tag != "diverged" else "sgd",
                    initial_learn_rate=lr,
                    max_epochs=6,
                    mini_batch_size=32,
                    validation_frequency=10,
                ),
            )
        )
    out.append(
        (
            "healthy-sine-mlp",
            SINE,
            mlp,
            _o(
                solver="adam",
                initial_learn_rate=1e-3,
                max_epochs=15,
                mini_batch_size=32,
                validation_frequency=10,
            ),
        )
    )
    # diverged (NaN/Inf, the engine stops): learn rates far too high for plain SGD / momentum
    # on every preset. Adam, RMSprop and AdamW bound each step by the learn rate: even at 1e6
    # their loss stays finite (those runs are the unstable ones above).
    for tag, data, model, solver, lr, batch in (
        ("digits-mlp-sgd", DIGITS, mlp, "sgd", 300.0, 64),
        ("spirals-mlp-sgdm", SPIRALS, mlp, "sgdm", 1e3, 64),
        ("sine-mlp-sgd", SINE, mlp, "sgd", 0.7, 16),
        ("sine-lstm-sgd", SINE, {"preset": "lstm"}, "sgd", 2.0, 64),
        ("sine-gru-sgd", SINE, {"preset": "gru"}, "sgd", 3.0, 64),
        ("images-simple-cnn-sgd", IMAGES, {"preset": "simple-cnn"}, "sgd", 1e3, 64),
        ("images-deeper-cnn-sgd", IMAGES, {"preset": "deeper-cnn"}, "sgd", 1e5, 32),
        ("seq-gru-sgd", SEQ, {"preset": "gru"}, "sgd", 1e5, 32),
    ):
        out.append(
            (
                f"nan-{tag}",
                data,
                model,
                _o(
                    solver=solver,
                    initial_learn_rate=lr,
                    max_epochs=4,
                    mini_batch_size=batch,
                    validation_frequency=10,
                ),
            )
        )
    # plateau: noisy spirals with enough data not to overfit, at a constant learn rate: both
    # losses reach the noise's floor and stay there.
    for seed in (1, 2, 3, 4, 5):
        out.append(
            (
                f"flat-spirals-adam-s{seed}",
                {"name": "spirals", "num_samples": 3000, "noise": 0.6},
                mlp,
                _o(
                    solver="adam",
                    initial_learn_rate=0.01,
                    max_epochs=40,
                    mini_batch_size=64,
                    validation_frequency=10,
                    seed=seed,
                ),
            )
        )
    # underfitting: a one- or two-unit bottleneck on digits, sequences and five-arm spirals.
    for tag, data, model in (
        ("digits-fc1", DIGITS, {"layers": [{"type": "fc", "units": 1}]}),
        ("seq-fc1", SEQ, {"layers": [{"type": "flatten"}, {"type": "fc", "units": 1}]}),
        (
            "spirals5-fc2",
            {**SPIRALS, "num_classes": 5, "turns": 2.5},
            {"layers": [{"type": "fc", "units": 2}]},
        ),
    ):
        out.append(
            (
                f"underfit-{tag}",
                data,
                model,
                _o(
                    solver="adam",
                    initial_learn_rate=0.01,
                    max_epochs=30,
                    mini_batch_size=64,
                    validation_frequency=6,
                ),
            )
        )
    # the simple CNN on the digits (8×8 images), a default Adam run.
    for seed in (1, 2):
        out.append(
            (
                f"cnn-digits-simple-cnn-s{seed}",
                DIGITS,
                {"preset": "simple-cnn"},
                _o(
                    solver="adam",
                    initial_learn_rate=1e-3,
                    max_epochs=6,
                    mini_batch_size=64,
                    validation_frequency=10,
                    seed=seed,
                ),
            )
        )
    # too slow on the other presets: a CNN, an LSTM and a regression MLP.
    for tag, data, model, solver, lr in (
        ("images-simple-cnn-sgd", IMAGES, {"preset": "simple-cnn"}, "sgd", 1e-5),
        ("seq-lstm-rmsprop", SEQ, {"preset": "lstm"}, "rmsprop", 1e-7),
        ("sine-mlp-adam", SINE, mlp, "adam", 1e-6),
    ):
        out.append(
            (
                f"tooslow-{tag}",
                data,
                model,
                _o(
                    solver=solver,
                    initial_learn_rate=lr,
                    max_epochs=8,
                    mini_batch_size=32,
                    validation_frequency=10,
                ),
            )
        )
    return out


# ---- the expert's labels ---------------------------------------------------------------------
# Keyed by run name (a prefix match picks the first entry that fits, longest first); decided
# from the curves (`--describe`), not from the doctor. An empty set: nothing worth a warning.
_ = frozenset
LABELS: dict[str, frozenset[str]] = {
    # Loss 2.3 → 0.13-0.14, val best at (or one before) the last validation, still falling
    # over the last third: healthy, ended while improving (info).
    "healthy-digits-adam": _({"still-improving"}),
    "healthy-digits-rmsprop": _({"still-improving"}),
    "healthy-digits-adamw": _({"still-improving"}),
    "healthy-digits-sgdm-s1": _(),  # val best 0.142 at 18/21, end 0.147: flat, done
    # val 0.125 at 15/21 → 0.171 (+37 %) while train fell to 0.056: validation turned up.
    "healthy-digits-sgdm-s2": _({"overfitting"}),
    # 1.09 → 0.04-0.22, best at the end and still falling over the last third (0.13 → 0.11,
    # 0.14 → 0.10, 0.06 → 0.05, 0.34 → 0.24) even under an annealed rate: healthy, ended early.
    "healthy-spirals": _({"still-improving"}),
    "seednoise-sgd-digits-s1": _({"still-improving"}),
    "seednoise-sgd-digits-s2": _({"still-improving"}),
    "seednoise-sgd-digits-s3": _(),  # best 0.144 at 18/21, end 0.148
    # lr 5-50: loss thousands to 1e20 × its start in the first iterations, never NaN, then
    # stuck near or above chance (accuracy 0.06-0.4): unstable, learn rate far too high.
    "diverged-": _({"loss-spikes"}),
    # adam 0.05: a bump to 1.2× at the start, then fine; val 0.17-0.19 at 10-13 → 0.25-0.34
    # while training fell to 0.07: overfitting by validation loss.
    "unstable-digits-adam-0.05": _({"overfitting"}),
    # adam 0.1 / rmsprop 0.03: first losses 5-9 (2-4× ln 10) rising to 12-17 within 3
    # iterations, ending at 0.1-0.3 (worse than at 1e-3): unstable early.
    "unstable-digits-adam-0.1": _({"loss-spikes"}),
    "unstable-digits-rmsprop": _({"loss-spikes"}),
    # sgdm 0.8: bursts to 17-24 (8-11× the start) around iterations 20-26, ends at 2.34 =
    # chance, accuracy 0.08: unstable, never learns.
    "unstable-digits-sgdm": _({"loss-spikes"}),
    # lr 1e-7..1e-5: 2.40 → 2.34 / 1.11 → 1.11 over the whole run: too slow, one cause.
    # also the CNN (sgd 1e-5: 3.73 → 3.58 over 96 iterations, accuracy 0.09 = chance), the LSTM
    # (rmsprop 1e-7: 1.10 flat) and the regression MLP (adam 1e-6: val 0.425 → 0.423).
    "tooslow-": _({"too-slow"}),
    # 6 epochs at a modest rate: 2.4 → 0.9-1.7, val best at the last validation: stopped early.
    "early-digits": _({"still-improving"}),
    # spirals at these rates: 1.11 → 1.05-1.08 over 15 epochs, accuracy 0.5: too slow.
    "early-spirals": _({"too-slow"}),
    # plateau runs (constant adam 0.01, noisy spirals): val best at 44-48/54 then +10-17 %
    # while train fell to 0.08-0.1 with a 5-point accuracy gap: overfitting; s1 still falling.
    # s1: val 0.23 → 0.20-0.21 over the last third (medians of 4-5 validations; the last one
    # alone a lucky 0.154) while the training loss turned up 0.106 → 0.146 at the end: flat at
    # a constant rate that is too high to settle, a plateau (a lower rate is the cure).
    "plateau-spirals-s1": _({"plateau"}),
    "plateau-spirals": _({"overfitting"}),
    # 80 training digits: train accuracy 1.00, loss 6e-4; val accuracy 0.90-0.91 flat from
    # validation ~19 of 150 on, val loss best there then flat/slightly up: memorised.
    "memorise-": _({"overfitting"}),
    # 120 noisy spiral points: train 1.00, val accuracy 0.67-0.76, val loss 1.0 → 1.6-2.4.
    "overfit-": _({"overfitting"}),
    "underfit-": _({"underfitting"}),
    "healthy-seq-lstm": _({"still-improving"}),  # val 0.29 → 0.19 over the last third
    "healthy-seq": _(),  # gru: val best 0.076 at 8/10, train 1.00 / val 0.98: done
    "unstable-seq": _({"loss-spikes"}),
    "tooslow-seq": _({"too-slow"}),
    # 600 small images: train accuracy 0.79-0.83 against val 0.62-0.65 (17-18 points) while
    # val loss was still falling at the end (1.23 → 1.08, 1.05 → 0.97).
    "healthy-images": _({"overfitting", "still-improving"}),
    # The simple-cnn preset's first loss (iteration 1, before any update) is 3.73-3.85 against
    # ln 10 = 2.30 for uniform guessing, 1.6-1.7× (the deeper-cnn's batchnorm: 2.5-2.7): its
    # untrained outputs are confidently wrong, what an expert checks first.
    "healthy-images-simple-cnn": _({"overfitting", "still-improving", "initial-loss"}),
    "diverged-images": _({"loss-spikes", "initial-loss"}),
    "tooslow-images-simple-cnn": _({"too-slow", "initial-loss"}),
    "nan-images-simple-cnn": _({"diverged", "initial-loss"}),
    # On the digits its first loss is 3.64 (s1, 1.58× ln 10) and 3.28 (s2, 1.42×: within the
    # half of ln C an expert lets pass); both still falling at the end (val 0.48 → 0.41, 0.40
    # → 0.35, best at the last validation).
    "cnn-digits-simple-cnn-s1": _({"still-improving", "initial-loss"}),
    "cnn-digits-simple-cnn-s2": _({"still-improving"}),
    "healthy-sine": _({"still-improving"}),  # val 0.077 → 0.065, best at the end
    # sgd/sgdm far too high: the loss multiplies by 1e3-1e9 per iteration from the second one
    # (2.4 → 2e5 → 1e15 → ... 1e33) and the engine stops at NaN/Inf within 6-36 iterations.
    "nan-": _({"diverged"}),
    # A one-unit bottleneck on digits: accuracy 0.34/0.35 (train/val), the losses crawling
    # 1.62 → 1.56 over the last third; one output unit on sequences: 0.39/0.39, flat at 1.08/
    # 1.11 from a third on; two units on five spiral arms: 0.23/0.19, flat at 1.59/1.60.
    # 3000 noisy spiral points at a constant adam 0.01: train and val both at 0.27-0.33 and
    # flat from about half the run on (within ±5 %, s5 drifting up 0.27 → 0.33 with the
    # training loss: no gap, accuracy 0.90/0.90), a plateau; s3 still creeping down by 3 %
    # per twelfth (0.31 → 0.28), best at the end.
    "flat-spirals-adam-s3": _({"still-improving"}),
    "flat-spirals-adam": _({"plateau"}),
    "underfit-digits-fc1": _({"underfitting"}),
    "underfit-seq-fc1": _({"underfitting"}),
    "underfit-spirals5-fc2": _({"underfitting"}),
}


def label_of(name: str) -> frozenset[str]:
    for key in sorted(LABELS, key=len, reverse=True):
        if name.startswith(key):
            return LABELS[key]
    raise KeyError(f"no label for run {name!r}")


# ---- training and recording ------------------------------------------------------------------
KEEP = ("train_loss", "train_accuracy", "train_rmse", "learn_rate", "grad_norm")
VAL = ("val_loss", "val_accuracy", "val_rmse")


def _round(v: float | None) -> float | None:
    if v is None or not math.isfinite(v):
        return v if v is None else (None if math.isnan(v) else v)
    return float(f"{v:.5g}")


def train_one(
    name: str, dataset: dict[str, Any], model: dict[str, Any], options: dict[str, Any]
) -> dict[str, Any]:
    from trainscope.engine.loop import train
    from trainscope.schemas.events import Event, Point, Started, Status
    from trainscope.schemas.spec import RunSpec

    spec = RunSpec.model_validate({"dataset": dataset, "model": model, "options": options})
    events: list[Event] = []
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as data_dir:
        status = train(spec, events.append, data_dir=Path(data_dir))
    started = next((e for e in events if isinstance(e, Started)), None)
    points = [e for e in events if isinstance(e, Point)]
    it: list[int] = []
    ep: list[int] = []
    cols: dict[str, list[float | None]] = {k: [] for k in KEEP + VAL}
    nan_rows: list[int] = []
    for p in points:
        if "train_loss" not in p.values and "val_loss" not in p.values:
            continue
        it.append(p.iteration)
        ep.append(p.epoch)
        for k in KEEP + VAL:
            v = p.values.get(k)
            if v is not None and math.isnan(v):
                nan_rows.append(len(it) - 1)
            cols[k].append(_round(v))
    cols = {k: v for k, v in cols.items() if any(x is not None for x in v)}
    info: dict[str, Any] = {}
    if started is not None:
        info = {
            "task": started.task,
            "iterations_per_epoch": started.iterations_per_epoch,
            "max_iterations": started.max_iterations,
            "class_names": started.class_names,
            "layers": list(started.layers),
            "n_train": started.n_train,
        }
    final = next(e for e in reversed(events) if isinstance(e, Status))
    return {
        "name": name,
        "spec": spec.model_dump(mode="json"),
        "info": info,
        "status": status.status,
        "finish_reason": final.finish_reason,
        "iteration": it,
        "epoch": ep,
        "values": cols,
        # JSON has no NaN: the rows whose loss was NaN (stored as null) are listed.
        "nan_rows": sorted(set(nan_rows)),
        "seconds": round(time.perf_counter() - began, 2),
    }


def _json_safe(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, list):
        return [_json_safe(x) for x in v]
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    return v


def describe(r: dict[str, Any], curves: bool = False) -> str:
    """The numbers the labels were read from (`curves`: and the curves' shape)."""
    import numpy as np

    v = r["values"]
    tl = np.array([x if x is not None else np.nan for x in v.get("train_loss", [])], float)
    it = np.array(r["iteration"])
    has = ~np.isnan(tl) | np.isin(np.arange(len(tl)), r["nan_rows"])
    tl, tit = tl[has], it[has]
    fin = np.isfinite(tl)
    start = float(np.median(tl[:3])) if len(tl) else math.nan
    n = len(tl)
    q = max(1, n // 10)
    parts = [f"{r['name']:<34} {r['status']:<9} it={n:>4}"]
    if fin.any():
        ft = tl[fin]
        parts.append(
            f"loss start {start:.3g} peak {ft.max():.3g} (×{ft.max() / start:.1f} at "
            f"it {int(tit[fin][np.argmax(ft)])}) end {np.median(ft[-q:]):.3g}"
        )
        first_tenth = np.median(ft[:q]) if len(ft) >= q else math.nan
        parts.append(f"med1st10% {first_tenth:.3g}")
    if not fin.all():
        parts.append(f"nonfinite at it {int(tit[~fin][0])}")
    if "val_loss" in v:
        vl = np.array([x for x in v["val_loss"] if x is not None], float)
        if len(vl):
            b = int(np.nanargmin(vl))
            k = min(len(vl), max(3, len(vl) // 3))
            parts.append(
                f"val n={len(vl)} first {vl[0]:.3g} best {vl[b]:.3g}@{b} end {vl[-1]:.3g} "
                f"last third {vl[-k]:.3g}->{vl[-1]:.3g}"
            )
    if "train_accuracy" in v and "val_accuracy" in v:
        ta = np.array([x for x in v["train_accuracy"] if x is not None], float)
        va = np.array([x for x in v["val_accuracy"] if x is not None], float)
        if len(ta) and len(va):
            parts.append(
                f"acc train end {np.nanmean(ta[-q:]):.2f} val end {np.nanmean(va[-3:]):.2f} "
                f"val best {np.nanmax(va):.2f}"
            )
    line = " | ".join(parts)
    if curves:
        line += "\n" + shape(r)
    return line


def shape(r: dict[str, Any]) -> str:
    """The curves' shape: medians over 12 equal stretches of the training loss (finite
    points) and of the validation loss, what a chart of them would show."""
    import numpy as np

    v = r["values"]
    rows = []
    for key in ("train_loss", "val_loss", "train_accuracy", "val_accuracy"):
        y = np.array([x for x in v.get(key, []) if x is not None], float)
        y = y[np.isfinite(y)]
        if len(y):
            cells = " ".join(f"{np.median(b):.3g}" for b in np.array_split(y, 12) if len(b))
            rows.append(f"    {key:<15} {cells}")
    return "\n".join(rows)


def _save(stored: dict[str, dict[str, Any]]) -> list[str]:
    CORPUS.parent.mkdir(parents=True, exist_ok=True)
    order = [t[0] for t in runs() if t[0] in stored]
    with gzip.open(CORPUS, "wt") as f:
        json.dump({"runs": [stored[n] for n in order]}, f)
    return order


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="run names (prefixes) to (re)train")
    parser.add_argument("--describe", action="store_true", help="print the stored runs' numbers")
    parser.add_argument("--curves", action="store_true", help="with the numbers, the curves' shape")
    args = parser.parse_args()
    if args.describe:
        for r in load_corpus():
            if not args.only or any(r["name"].startswith(p) for p in args.only):
                print(describe(r, args.curves))
        return
    todo = runs()
    if args.only:
        todo = [t for t in todo if any(t[0].startswith(p) for p in args.only)]
    stored: dict[str, dict[str, Any]] = {}
    if CORPUS.exists():
        with gzip.open(CORPUS, "rt") as f:
            stored = {r["name"]: r for r in json.load(f)["runs"]}
    names = {t[0] for t in runs()}
    stored = {k: v for k, v in stored.items() if k in names}
    began = time.perf_counter()
    for name, dataset, model, options in todo:
        r = train_one(name, dataset, model, options)
        stored[name] = _json_safe(r)
        _save(stored)  # after each run: a failure later loses nothing
        print(describe(_restore(stored[name]) | {"nan_rows": r["nan_rows"]}, True), flush=True)
    order = _save(stored)
    print(
        f"{len(order)} runs in {CORPUS.relative_to(ROOT)}; trained {len(todo)} in "
        f"{time.perf_counter() - began:.0f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
