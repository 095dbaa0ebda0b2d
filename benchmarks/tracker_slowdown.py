"""How much does each tracker slow a real training loop down?

The trainscope engine's `simple-cnn` preset on synthetic 28×28 images (the model and data of
engine_overhead.py, built the same way), a plain PyTorch loop with mini-batch 128 and sgdm. Every
iteration takes train_loss, train_accuracy and learn_rate as Python floats (`.item()`, the same
for all) and hands them to the tracker: the trainscope SDK (to a real `trainscope serve` on
127.0.0.1, and in local mode), TensorBoard (three `add_scalar`), trackio, W&B offline, Aim,
MLflow synchronous and asynchronous. The baseline is the same loop, same floats, no tracker.

Each tracker in its own subprocess; inside it, paired rounds (the loop without the tracker, then
with it, the same number of iterations, the tracker's run kept open across rounds); slowdown =
median over rounds of (tracked / untracked − 1), from each loop's wall time per iteration after
the first 5 iterations; the order alternates between rounds. Also reported: the same from each
loop's median time between iterations (robust to other jobs' bursts on a shared machine, but
blind to a tracker's occasional stall), and the CPU time per iteration of the training process
(all its threads: the tracker's background threads count) plus its child processes (W&B's
service): on a machine that other jobs share, CPU time moves far less than wall time. A
separate server process (trainscope serve) is not counted there. The tracker's finish/close
after the last round is reported apart.

    python benchmarks/tracker_slowdown.py [--iterations 30] [--rounds 8] [--trackers a,b]
        [--quick]

Prints a table and writes benchmarks/results/tracker_slowdown.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tracker_adapters as ta
from engine_overhead import make_spec
from tracker_overhead import measure_trackers, save_result, tracker_names

SKIP = 5  # warm-up iterations not timed in each loop


def tree_cpu_s() -> float:
    """CPU seconds used so far by this process and its live children (psutil, from the bench
    extra's dependencies); only this process without psutil."""
    try:
        import psutil
    except ImportError:
        t = os.times()
        return t.user + t.system
    me = psutil.Process()
    total = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            c = proc.cpu_times()
            total += c.user + c.system
        except psutil.Error:
            pass
    return total


def make_loop(iterations: int, batch: int, data_dir: Path) -> Callable[..., float]:
    """A training loop over the engine's simple CNN; returns seconds per iteration."""
    import torch
    import torch.nn.functional as F

    from trainscope.engine.datasets import load_dataset
    from trainscope.engine.models import build_model
    from trainscope.engine.optim import make_optimizer
    from trainscope.schemas.model import resolve_layers

    spec = make_spec(iterations, batch, "simple-cnn")
    data = load_dataset(spec.dataset, data_dir)
    torch.manual_seed(spec.options.seed)
    model = build_model(resolve_layers(spec.model, data.info), data.info)
    opt = make_optimizer(list(model.parameters()), spec.options)
    X, y = torch.from_numpy(data.train.X), torch.from_numpy(data.train.y)
    perm = torch.randperm(len(X), generator=torch.Generator().manual_seed(0))
    n_batches = len(X) // batch
    model.train()
    step = 0

    def loop(
        log3: Callable[[int, float, float, float], None] | None,
    ) -> tuple[float, float, float]:
        """Per iteration after SKIP: wall seconds, median seconds between iterations, and CPU
        seconds of this process (all its threads) and its child processes (W&B's service)."""
        nonlocal step
        stamps: list[float] = []
        cpu0 = 0.0
        for b in range(n_batches):
            if b >= SKIP:
                if b == SKIP:
                    cpu0 = tree_cpu_s()
                stamps.append(time.perf_counter())
            idx = perm[b * batch : (b + 1) * batch]
            xb, yb = X[idx], y[idx]
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            loss_v = loss.item()
            acc_v = (out.argmax(1) == yb).float().mean().item()
            lr_v = float(opt.param_groups[0]["lr"])
            step += 1
            if log3 is not None:
                log3(step, loss_v, acc_v, lr_v)
        stamps.append(time.perf_counter())
        cpu = tree_cpu_s() - cpu0
        gaps = [b - a for a, b in itertools.pairwise(stamps)]
        return (stamps[-1] - stamps[0]) / len(gaps), statistics.median(gaps), cpu / len(gaps)

    return loop


def child(name: str, iterations: int, rounds: int, batch: int, url: str | None) -> dict[str, Any]:
    ta.install_network_guard()
    tmp = Path(os.environ["BENCH_TMP"])
    import torch

    loop = make_loop(iterations, batch, tmp / "data")
    ta.warm_import(name)
    tracker = ta.Tracker(name, tmp, "slowdown", url)
    loop(None)  # warm up the model, allocator and the tracker's first calls
    loop(tracker.log3)
    bare: list[tuple[float, float, float]] = []
    tracked: list[tuple[float, float, float]] = []
    for r in range(rounds):
        # Alternating order (bare first, then tracked first): drift hits both alike.
        if r % 2 == 0:
            bare.append(loop(None))
            tracked.append(loop(tracker.log3))
        else:
            tracked.append(loop(tracker.log3))
            bare.append(loop(None))
    t0 = time.perf_counter()
    tracker.close()
    close_s = time.perf_counter() - t0
    paired = [t[0] / b[0] - 1 for b, t in zip(bare, tracked, strict=True)]
    paired_gap = [t[1] / b[1] - 1 for b, t in zip(bare, tracked, strict=True)]
    paired_cpu = [t[2] / b[2] - 1 for b, t in zip(bare, tracked, strict=True)]
    bare_ms = statistics.median(b[0] for b in bare) * 1e3
    tracked_ms = statistics.median(t[0] for t in tracked) * 1e3
    return {
        "torch_threads": torch.get_num_threads(),
        "bare_ms_per_iteration": round(bare_ms, 3),
        "tracked_ms_per_iteration": round(tracked_ms, 3),
        "slowdown_percent_median_of_pairs": round(statistics.median(paired) * 100, 2),
        "slowdown_percent_per_round": [round(p * 100, 2) for p in paired],
        "slowdown_percent_median_iteration": round(statistics.median(paired_gap) * 100, 2),
        "bare_cpu_ms_per_iteration": round(statistics.median(b[2] for b in bare) * 1e3, 3),
        "tracked_cpu_ms_per_iteration": round(statistics.median(t[2] for t in tracked) * 1e3, 3),
        "cpu_increase_percent_median_of_pairs": round(statistics.median(paired_cpu) * 100, 2),
        "added_cpu_ms_per_iteration": round(
            statistics.median(t[2] - b[2] for b, t in zip(bare, tracked, strict=True)) * 1e3, 3
        ),
        "added_ms_per_iteration": round(
            statistics.median(t[0] - b[0] for b, t in zip(bare, tracked, strict=True)) * 1e3, 3
        ),
        "close_after_last_round_s": round(close_s, 3),
        "blocked_connections": ta.blocked_connections,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=30, help="iterations per loop")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--trackers", default=",".join(ta.TRACKERS))
    parser.add_argument("--quick", action="store_true", help="--iterations 20 --rounds 4")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = child(args.child, args.iterations, args.rounds, args.batch, args.url)
        print("BENCH_RESULT " + json.dumps(result), flush=True)
        return
    if args.quick:
        args.iterations, args.rounds = 20, 4
    names = tracker_names(args.trackers, ta.TRACKERS)
    loop = ["--iterations", str(args.iterations), "--rounds", str(args.rounds)]
    loop += ["--batch", str(args.batch)]
    rows = measure_trackers(__file__, names, lambda name: list(loop))

    import torch

    setup = {
        "model": "simple-cnn",
        "data": "synthetic-images 1×28×28, 10 classes",
        "mini_batch_size": args.batch,
        "iterations_per_loop": args.iterations,
        "timed_iterations_per_loop": args.iterations - SKIP,
        "rounds": args.rounds,
        "logged_per_iteration": list(ta.METRICS3),
        "device": "cpu",
    }
    save_result("tracker_slowdown", setup, rows, machine={"torch": torch.__version__})

    print(
        f"training-loop slowdown — simple-cnn, batch {args.batch}, {args.iterations} "
        f"iterations × {args.rounds} paired rounds, CPU"
    )
    print(
        f"{'tracker':<18}{'bare ms/it':>11}{'tracked ms/it':>15}{'slowdown':>10}"
        f"{'(median it.)':>13}{'added ms/it':>13}{'CPU added ms/it':>17}{'close s':>9}"
    )
    for name, row in rows.items():
        if "error" in row:
            print(f"{name:<18}{row['error']}")
            continue
        print(
            f"{name:<18}{row['bare_ms_per_iteration']:>11.2f}"
            f"{row['tracked_ms_per_iteration']:>15.2f}"
            f"{row['slowdown_percent_median_of_pairs']:>+9.2f}%"
            f"{row['slowdown_percent_median_iteration']:>+12.2f}%"
            f"{row['added_ms_per_iteration']:>13.3f}{row['added_cpu_ms_per_iteration']:>17.3f}"
            f"{row['close_after_last_round_s']:>9.3f}"
        )


if __name__ == "__main__":
    main()
