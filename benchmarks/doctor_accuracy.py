"""How often is the training doctor right, and what does a diagnosis cost?

A labelled set of synthetic runs (tests/doctor/labelled.py: seeded, three noise levels,
shapes drawn from ranges; healthy runs, each condition alone, mixtures where two labels hold,
and the preflight kinds) is diagnosed twice: from the full history, and min/max downsampled
by the store's own `select_rows` to `--max-points` rows (what the live doctor reads for a long
run). A code "fires" when diagnose returns it with a severity other than "ok". Per code:
precision (of the runs it fired on, how many carry its label) and recall (of the runs that
carry its label, how many it fired on). The lr-range suggestions are also compared with the
learn rate where the synthetic range test's loss falls fastest.

Then the time per diagnosis (`diagnose` only, and `Curves.from_columns` on its own) on
5,000- and 20,000-point runs: the live doctor reruns it about every second per running run.

    python benchmarks/doctor_accuracy.py [--per-scenario 20] [--seed 42] [--max-points 500]
        [--corpus real|synthetic|both]

`--corpus real` scores the corpus of real engine runs instead (tests/doctor/corpus, built and
labelled by benchmarks/doctor_corpus.py): the same precision and recall per code, reported
apart from the synthetic figures.

Prints a table and writes benchmarks/results/doctor_accuracy.json. Goals (issue 7): precision
and recall ≥ 0.9 for every code; a 20,000-point diagnosis in a few milliseconds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.doctor (the labelled generator)

from tests.doctor.labelled import (  # noqa: E402
    Case,
    base_shape,
    labelled_cases,
    overfitting_shape,
    still_improving_shape,
    with_spikes,
)
from tests.doctor.synthetic import Run, make_run  # noqa: E402

from trainscope.doctor import Curves, diagnose  # noqa: E402
from trainscope.store.records import PointColumns  # noqa: E402

RESULTS = Path(__file__).parent / "results"
GOAL = 0.9


def fired(case: Case, max_points: int | None) -> set[str]:
    findings = diagnose(case.run.curves(max_points), case.run.context())
    return {f.code for f in findings if f.severity != "ok"}


def score(cases: list[Case], max_points: int | None) -> dict[str, Any]:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    exact = 0
    for case in cases:
        got = fired(case, max_points)
        exact += got == case.labels
        for code in got | case.labels:
            if code in got and code in case.labels:
                tp[code] += 1
            elif code in got:
                fp[code] += 1
                errors[f"{case.scenario}: +{code}"] += 1
            else:
                fn[code] += 1
                errors[f"{case.scenario}: -{code}"] += 1
    per_code = {}
    for code in sorted(set(tp) | set(fp) | set(fn)):
        per_code[code] = {
            "labelled": tp[code] + fn[code],
            "fired": tp[code] + fp[code],
            "true_positives": tp[code],
            "precision": round(tp[code] / max(1, tp[code] + fp[code]), 3),
            "recall": round(tp[code] / max(1, tp[code] + fn[code]), 3),
        }
    return {
        "runs": len(cases),
        "exact_label_sets": exact,
        "per_code": per_code,
        "errors": dict(errors.most_common()),
    }


def real_cases() -> list[tuple[str, frozenset[str], set[str]]]:
    """(name, expert labels, codes fired) for every run of the real corpus."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from tests.doctor.real_corpus import diagnose_run, load_corpus

    from doctor_corpus import label_of

    out = []
    for r in load_corpus():
        got = {f.code for f in diagnose_run(r) if f.severity != "ok"}
        out.append((r["name"], label_of(r["name"]), got))
    return out


def score_real() -> dict[str, Any]:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    errors: dict[str, str] = {}
    cases = real_cases()
    for name, labels, got in cases:
        for code in got | labels:
            if code in got and code in labels:
                tp[code] += 1
            elif code in got:
                fp[code] += 1
            else:
                fn[code] += 1
        if got != labels:
            extra = " ".join(f"+{c}" for c in sorted(got - labels))
            missed = " ".join(f"-{c}" for c in sorted(labels - got))
            errors[name] = f"{extra} {missed}".strip()
    per_code = {
        code: {
            "labelled": tp[code] + fn[code],
            "fired": tp[code] + fp[code],
            "true_positives": tp[code],
            "precision": round(tp[code] / max(1, tp[code] + fp[code]), 3),
            "recall": round(tp[code] / max(1, tp[code] + fn[code]), 3),
        }
        for code in sorted(set(tp) | set(fp) | set(fn))
    }
    healthy = [c for c in cases if not c[1]]
    return {
        "runs": len(cases),
        "labels": dict(Counter(code for _, labels, _ in cases for code in labels)),
        "healthy_runs": len(healthy),
        "healthy_runs_warned": sum(bool(got) for _, _, got in healthy),
        "exact_label_sets": sum(labels == got for _, labels, got in cases),
        "per_code": per_code,
        "errors": errors,
    }


def print_real(real: dict[str, Any]) -> None:
    print(f"real corpus — {real['runs']} engine runs, labels {real['labels']}")
    print(f"{'code':<20} {'labelled':>8} {'fired':>6} {'precision':>9} {'recall':>7}")
    for code, row in real["per_code"].items():
        flag = "" if min(row["precision"], row["recall"]) >= GOAL else "  < goal"
        print(
            f"{code:<20} {row['labelled']:>8} {row['fired']:>6} {row['precision']:>9.3f} "
            f"{row['recall']:>7.3f}{flag}"
        )
    print(
        f"label set exactly right: {real['exact_label_sets']}/{real['runs']}; healthy runs "
        f"given a finding: {real['healthy_runs_warned']}/{real['healthy_runs']}"
    )
    for name, err in real["errors"].items():
        print(f"  {name}: {err}")


def lr_range_accuracy(cases: list[Case]) -> dict[str, Any]:
    """Decades between the suggested learn rate and the true steepest descent."""
    off = []
    for case in cases:
        if case.scenario != "lr-range-test":
            continue
        found = [f for f in diagnose(case.run.curves(), case.run.context()) if f.code == "lr-range"]
        if found:
            suggested = float(found[0].evidence["suggested"])  # type: ignore[arg-type]
            off.append(math.log10(suggested / case.truth["steepest_lr"]))
    return {
        "tests": len(off),
        "median_decades_off": round(statistics.median(off), 3) if off else None,
        "max_abs_decades_off": round(max(abs(o) for o in off), 3) if off else None,
        "within_x2": sum(abs(o) <= math.log10(2) for o in off),
    }


def timing_run(kind: str, points: int, rng: np.random.Generator) -> Run:
    epochs = points // 100
    if kind == "healthy":
        shape = replace(base_shape(rng), tau=0.3)
    elif kind == "overfitting+spikes":
        shape = with_spikes(rng, overfitting_shape(rng))
    elif kind == "diverged":
        shape = replace(base_shape(rng), diverge="spikes")
    else:
        shape = still_improving_shape(rng)
    shape = replace(shape, per_epoch=100, epochs=epochs, stop_at=None, validations=points // 50)
    return make_run(rng, shape)


def median_us(fn: Any, repeat: int) -> float:
    fn()  # warm
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1e6


def columns_us(cols: PointColumns, repeat: int) -> float:
    info = {"task": "classification", "iterations_per_epoch": 100}
    return median_us(
        lambda: Curves.from_columns(cols.iteration, cols.epoch, cols.values, info), repeat
    )


def timings(repeat: int) -> dict[str, Any]:
    rng = np.random.default_rng(1)
    out: dict[str, Any] = {}
    for points in (5_000, 20_000):
        row: dict[str, Any] = {}
        for kind in ("healthy", "overfitting+spikes", "diverged", "still-improving"):
            run = timing_run(kind, points, rng)
            curves, ctx = run.curves(), run.context()
            row[kind] = {
                "points": len(curves),
                "diagnose_us": round(median_us(lambda c=curves, x=ctx: diagnose(c, x), repeat)),
            }
        cols = timing_run("healthy", points, rng).columns()
        row["from_columns_us"] = round(columns_us(cols, repeat))
        out[str(points)] = row
    return out


def print_table(result: dict[str, Any]) -> None:
    full, small = result["full"], result["downsampled"]
    mp = result["setup"]["max_points"]
    print(
        f"{'code':<20} {'labelled':>8} {'precision':>9} {'recall':>7}   "
        f"{'downsampled to ' + str(mp) + ': precision':>31} {'recall':>7}"
    )
    for code, row in full["per_code"].items():
        d = small["per_code"].get(code, {})
        flag = "" if min(row["precision"], row["recall"]) >= GOAL else "  < goal"
        print(
            f"{code:<20} {row['labelled']:>8} {row['precision']:>9.3f} {row['recall']:>7.3f}   "
            f"{d.get('precision', 0):>31.3f} {d.get('recall', 0):>7.3f}{flag}"
        )
    print(
        f"runs: {full['runs']}; label set exactly right: {full['exact_label_sets']} "
        f"(downsampled {small['exact_label_sets']})"
    )
    lr = result["lr_range"]
    print(
        f"lr-range: {lr['tests']} tests, suggestion within ×2 of the steepest descent: "
        f"{lr['within_x2']}, median {lr['median_decades_off']:+.2f} decades"
    )
    for points, row in result["timing"].items():
        cells = ", ".join(
            f"{kind} {v['diagnose_us']} µs" for kind, v in row.items() if isinstance(v, dict)
        )
        print(f"{int(points):,} points: diagnose {cells}; from_columns {row['from_columns_us']} µs")
    if full["errors"]:
        print("errors (full history):", ", ".join(f"{k} ×{v}" for k, v in full["errors"].items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-scenario", type=int, default=20)
    # The thresholds were designed looking at seeds 0-5; 42 was not looked at until then.
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--max-points", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--corpus", choices=("real", "synthetic", "both"), default="both")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if args.corpus in ("real", "both"):
        real = score_real()
        (RESULTS / "doctor_accuracy_real.json").write_text(json.dumps(real, indent=2) + "\n")
        print_real(real)
        if args.corpus == "real":
            return

    cases = labelled_cases(args.per_scenario, args.seed)
    scenarios = Counter(c.scenario for c in cases)
    lengths = [len(c.run.train_loss) for c in cases]
    result: dict[str, Any] = {
        "benchmark": "doctor_accuracy",
        "date": time.strftime("%Y-%m-%d"),
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
        },
        "setup": {
            "runs": len(cases),
            "scenarios": dict(scenarios),
            "per_scenario": args.per_scenario,
            "seed": args.seed,
            "max_points": args.max_points,
            "iterations_per_run": {
                "min": min(lengths),
                "median": int(np.median(lengths)),
                "max": max(lengths),
            },
            "noise_levels": "mini-batch loss σ 1 / 3 / 8 % (log-normal), validation 0.3 / 1 / 2 %",
        },
        "goal_precision_recall": GOAL,
        "full": score(cases, None),
        "downsampled": score(cases, args.max_points),
        "lr_range": lr_range_accuracy(cases),
        "timing": timings(args.repeat),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "doctor_accuracy.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"doctor accuracy — {len(cases)} labelled runs, seed {args.seed}, {os.cpu_count()} cores")
    print_table(result)


if __name__ == "__main__":
    main()
