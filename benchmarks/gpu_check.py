"""Is trainscope ready for a GPU? Every preset, the engine's overhead, the server's slots.

Meant for the first minutes on a machine with a GPU (under ten minutes on one), and runnable
anywhere: without CUDA the GPU parts are skipped, said so in the output and in the report
(`"gpu": "skipped: no CUDA device"`), and the CPU parts still run.

1. Presets: every model preset trains a small run with execution_environment `cpu` and, with
   CUDA, `gpu` (same seed, same data, so the same initial weights). Checks: the run completes,
   no training loss is NaN/Inf, the loss falls (mean of the last tenth of the iterations below
   0.9 × the first tenth's). On the GPU also: the same number of points, the first iteration's
   loss within 2 % of the CPU's (same weights, same batch; TF32 convolutions differ a little),
   and a final loss at least halfway down to where the CPU run got.
2. Overhead: the engine (`engine.train`, points emitted, stop polled) against a bare PyTorch loop
   (forward, loss, backward, step; the data on the device, batches as index gathers, as the
   engine does), on each device. On the GPU each side is timed for a short and a long run (1
   and 3 epochs) on the same loaded data and the difference is divided by the extra
   iterations: set-up, the final test and the end-of-run sync cancel out. On the CPU (shared,
   noisy here) it is the median gap between consecutive iterations, as in engine_overhead.py.
   Rounds interleave the sides and the overhead is the median of the per-round ratios. On
   the GPU, synchronising CUDA calls are counted (`torch.cuda.set_sync_debug_mode("warn")`),
   short and long run alike: the bare loop must not sync per iteration (else it is slow and
   flatters the engine); the engine's syncs per iteration are reported (its recorder copies
   to the host every 16 iterations).
   Goal: ≤ 3 %.
3. Server: a real `trainscope serve` with the local executor. Checks: `GET /api/health` says one
   slot per GPU (with CUDA; on CPU, the TRAINSCOPE_MAX_RUNS=1 slot), every worker is ready, the
   catalog's devices are the GPUs (cuda:0, cuda:1, ...) or the CPU; then one run end to end:
   POST /api/runs (execution_environment gpu, or cpu), completed, on the right device, every
   iteration's point stored, the loss falls, no NaN.

    python benchmarks/gpu_check.py [--quick] [--rounds N] [--iterations N] [--out PATH]

Writes benchmarks/results/gpu_check.json (--quick: benchmarks/results/quick/gpu_check.json).
Exit status 1 when a check failed; a missed overhead goal is reported, not a failure.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import torch
import torch.nn.functional as F

from trainscope.engine.datasets import DatasetSplits, load_dataset
from trainscope.engine.loop import train
from trainscope.engine.models import build_model
from trainscope.engine.optim import make_optimizer
from trainscope.schemas.events import Event, Point, Status
from trainscope.schemas.model import MODEL_PRESETS, resolve_layers
from trainscope.schemas.spec import RunSpec

sys.path.insert(0, str(Path(__file__).parent))
from stream_latency import free_port, start_server

RESULTS = Path(__file__).parent / "results"
NO_CUDA = "skipped: no CUDA device"
OVERHEAD_GOAL_PERCENT = 3.0
FINAL = ("completed", "stopped", "diverged", "failed", "interrupted")

# Each preset on data it fits: images for the CNNs, sequences for the recurrent nets.
PRESET_DATA: dict[str, dict[str, Any]] = {
    "mlp": {"name": "spirals", "num_samples": 1500, "turns": 1.0},
    "simple-cnn": {"name": "synthetic-images", "num_samples": 800},
    "deeper-cnn": {"name": "synthetic-images", "num_samples": 800},
    "lstm": {"name": "sequence-classes", "num_samples": 600, "sequence_length": 30},
    "gru": {"name": "sequence-classes", "num_samples": 600, "sequence_length": 30},
}
# Spirals need smaller steps of a larger rate to show a falling loss within two epochs.
PRESET_OPTIONS: dict[str, dict[str, Any]] = {
    "mlp": {"mini_batch_size": 16, "initial_learn_rate": 0.02},
}


def preset_spec(preset: str, environment: str, epochs: int) -> RunSpec:
    return RunSpec.model_validate(
        {
            "name": f"gpu-check {preset} {environment}",
            "dataset": PRESET_DATA[preset],
            "model": {"preset": preset},
            "options": {
                "solver": "adam",
                "initial_learn_rate": 0.005,
                "max_epochs": epochs,
                "mini_batch_size": 32,
                "validation_frequency": 20,
                "execution_environment": environment,
                **PRESET_OPTIONS.get(preset, {}),
            },
        }
    )


# -- 1. presets --------------------------------------------------------------------------------
def loss_summary(losses: list[float]) -> dict[str, Any]:
    """The shape of a training-loss curve: first, start and end means, whether it fell."""
    finite = all(math.isfinite(x) for x in losses)
    if not losses:
        return {"points": 0, "finite": finite, "falls": False}
    k = max(1, len(losses) // 10)
    start, end = statistics.fmean(losses[:k]), statistics.fmean(losses[-k:])
    return {
        "points": len(losses),
        "first": losses[0],
        "start_mean": round(start, 5),
        "end_mean": round(end, 5),
        "finite": finite,
        "falls": finite and end < 0.9 * start,
    }


def train_preset(preset: str, environment: str, epochs: int, data_dir: Path) -> dict[str, Any]:
    losses: list[float] = []

    def emit(event: Event) -> None:
        if isinstance(event, Point) and "train_loss" in event.values:
            losses.append(event.values["train_loss"])

    t0 = time.perf_counter()
    status: Status = train(preset_spec(preset, environment, epochs), emit, data_dir=data_dir)
    out = {"status": status.status, "message": status.message, "seconds": 0.0}
    out["seconds"] = round(time.perf_counter() - t0, 2)
    out |= loss_summary(losses)
    out["passed"] = status.status == "completed" and out["finite"] and out["falls"]
    return out


def like_cpu(gpu: dict[str, Any], cpu: dict[str, Any]) -> dict[str, Any]:
    """Does the GPU run behave like the CPU run of the same spec?"""
    same_points = gpu["points"] == cpu["points"]
    first_close = (
        "first" in gpu
        and "first" in cpu
        and abs(gpu["first"] - cpu["first"]) <= 0.02 * cpu["first"]
    )
    halfway = cpu.get("start_mean", 0) - (cpu.get("start_mean", 0) - cpu.get("end_mean", 0)) / 2
    went_down = "end_mean" in gpu and gpu["end_mean"] <= halfway
    return {
        "same_points": same_points,
        "first_loss_within_2_percent": first_close,
        "at_least_halfway_down": went_down,
        "passed": gpu["passed"] and same_points and first_close and went_down,
    }


def check_presets(cuda: bool, epochs: int, data_dir: Path) -> dict[str, Any]:
    cpu = {p: train_preset(p, "cpu", epochs, data_dir) for p in MODEL_PRESETS}
    if not cuda:
        return {"cpu": cpu, "gpu": NO_CUDA, "passed": all(r["passed"] for r in cpu.values())}
    gpu = {}
    for p in MODEL_PRESETS:
        gpu[p] = train_preset(p, "gpu", epochs, data_dir)
        gpu[p]["like_cpu"] = like_cpu(gpu[p], cpu[p])
    passed = all(r["passed"] for r in cpu.values()) and all(
        r["like_cpu"]["passed"] for r in gpu.values()
    )
    return {"cpu": cpu, "gpu": gpu, "passed": passed}


# -- 2. overhead -------------------------------------------------------------------------------
def overhead_spec(environment: str, iterations: int, batch: int, epochs: int) -> RunSpec:
    n_train = iterations * batch
    return RunSpec.model_validate(
        {
            "dataset": {
                "name": "synthetic-images",
                "num_samples": int(n_train / 0.95) + 20,
                "validation_fraction": 0,
                "test_fraction": 0.05,
                "max_train_samples": n_train,
            },
            "model": {"preset": "simple-cnn"},
            "options": {
                "solver": "sgdm",
                "max_epochs": epochs,
                "mini_batch_size": batch,
                "execution_environment": environment,
                "shuffle": "once",
            },
        }
    )


def bare_loop(spec: RunSpec, data: DatasetSplits, stamps: list[float] | None = None) -> None:
    """A plain PyTorch script's loop: the data on the device, forward, loss, backward, step.
    No `.item()`, no host copies inside the loop; one sync at the end (the engine's final
    test syncs too), so the time is the device's, not the host's enqueueing."""
    device = torch.device("cuda" if spec.options.execution_environment == "gpu" else "cpu")
    torch.manual_seed(spec.options.seed)
    model = build_model(resolve_layers(spec.model, data.info), data.info).to(device)
    opt = make_optimizer(list(model.parameters()), spec.options)
    n = spec.dataset.max_train_samples if spec.dataset else None
    X = torch.from_numpy(data.train.X[:n]).to(device)
    y = torch.from_numpy(data.train.y[:n]).to(device)
    batch = spec.options.mini_batch_size
    perm = torch.randperm(len(X), generator=torch.Generator().manual_seed(0)).to(device)
    model.train()
    for _ in range(spec.options.max_epochs):
        for b in range(len(X) // batch):
            idx = perm[b * batch : (b + 1) * batch]
            loss = F.cross_entropy(model(X[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            if stamps is not None:  # CPU only: on a GPU the host's clock says little
                stamps.append(time.perf_counter())
    if device.type == "cuda":
        torch.cuda.synchronize()


def engine_loop(
    spec: RunSpec, data: DatasetSplits, data_dir: Path, stamps: list[float] | None = None
) -> None:
    def emit(event: Event) -> None:
        # On the CPU each point is emitted live, right after its iteration.
        if stamps is not None and isinstance(event, Point) and "train_loss" in event.values:
            stamps.append(time.perf_counter())

    status = train(spec, emit, data_dir=data_dir, data=data)
    if status.status != "completed":
        raise SystemExit(f"the engine's overhead run ended {status.status}: {status.message}")


def timed(fn: Callable[[], None]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


@contextmanager
def counting_syncs() -> Iterator[list[int]]:
    """Counts the synchronising CUDA calls made inside (torch's sync debug mode, as warnings)."""
    count = [0]
    previous = torch.cuda.get_sync_debug_mode()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            yield count
        finally:
            torch.cuda.set_sync_debug_mode(previous)
    count[0] = sum("synchroniz" in str(w.message) for w in caught)


def measure_overhead(
    environment: str, iterations: int, batch: int, rounds: int, epochs: tuple[int, int], tmp: Path
) -> dict[str, Any]:
    short, long = (overhead_spec(environment, iterations, batch, e) for e in epochs)
    data = load_dataset(short.dataset, tmp) if short.dataset else None
    assert data is not None
    extra_iterations = (epochs[1] - epochs[0]) * iterations
    sides: dict[str, Callable[[RunSpec], None]] = {
        "bare": lambda s: bare_loop(s, data),
        "engine": lambda s: engine_loop(s, data, tmp),
    }
    for run in sides.values():  # warm up: kernels, allocator, cuDNN's choices
        run(short)
    per_iteration: dict[str, list[float]] = {"bare": [], "engine": []}
    for _ in range(rounds):
        if environment != "gpu":
            # CPU: the median gap between consecutive iterations, as engine_overhead.py does;
            # on a shared machine a difference of totals drowns in the other jobs' noise.
            for name, stamped in (("bare", bare_loop), ("engine", None)):
                stamps: list[float] = []
                if stamped is not None:
                    bare_loop(long, data, stamps)
                else:
                    engine_loop(long, data, tmp, stamps)
                gaps = [b - a for a, b in itertools.pairwise(stamps[5:])]
                per_iteration[name].append(statistics.median(gaps))
            continue
        for name, run in sides.items():
            t_short = timed(lambda: run(short))  # noqa: B023 (called at once)
            t_long = timed(lambda: run(long))  # noqa: B023
            per_iteration[name].append((t_long - t_short) / extra_iterations)
    ratios = [
        e / b - 1 for b, e in zip(per_iteration["bare"], per_iteration["engine"], strict=True)
    ]
    overhead = statistics.median(ratios) * 100
    out: dict[str, Any] = {
        "device": environment,
        "model": "simple-cnn",
        "mini_batch_size": batch,
        "iterations_per_epoch": iterations,
        "method": "median gap between iterations (epochs: the long run's)"
        if environment != "gpu"
        else "long minus short run, per extra iteration",
        "epochs_short_long": list(epochs),
        "rounds": rounds,
        "bare_ms_per_iteration": round(statistics.median(per_iteration["bare"]) * 1e3, 4),
        "engine_ms_per_iteration": round(statistics.median(per_iteration["engine"]) * 1e3, 4),
        "overhead_percent_median_of_rounds": round(overhead, 2),
        "overhead_percent_per_round": [round(r * 100, 2) for r in ratios],
        "goal_percent": OVERHEAD_GOAL_PERCENT,
        "goal_met": overhead <= OVERHEAD_GOAL_PERCENT,
    }
    if environment != "gpu":
        out["syncs"] = "not applicable on CPU (no device to wait for)"
        out["passed"] = True
        return out
    syncs: dict[str, float] = {}
    for name, run in sides.items():
        with counting_syncs() as n_short:
            run(short)
        with counting_syncs() as n_long:
            run(long)
        syncs[name] = (n_long[0] - n_short[0]) / extra_iterations
    out["syncs_per_iteration"] = {k: round(v, 4) for k, v in syncs.items()}
    # The comparison is fair only when the bare loop keeps the GPU's queue full.
    out["bare_loop_syncs_per_iteration"] = syncs["bare"] == 0
    out["passed"] = syncs["bare"] == 0
    return out


# -- 3. server ---------------------------------------------------------------------------------
def server_run_spec(environment: str) -> dict[str, Any]:
    return preset_spec("mlp", environment, epochs=3).model_dump(mode="json", exclude_none=True)


def check_server(cuda: bool, timeout_s: float = 180) -> dict[str, Any]:
    gpus = torch.cuda.device_count() if cuda else 0
    slots_expected = gpus or 1  # CPU: TRAINSCOPE_MAX_RUNS, 1 (start_server sets it)
    environment = "gpu" if cuda else "cpu"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    out: dict[str, Any] = {"executor": "local", "slots_expected": slots_expected}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        proc = start_server(Path(tmp), port, workers=slots_expected)
        out["workers_ready_after_s"] = round(time.monotonic() - t0, 1)
        try:
            with httpx.Client(base_url=base, timeout=30) as api:
                health = api.get("/api/health").json()
                devices = api.get("/api/catalog").json()["devices"]
                out["health_workers"] = health["workers"]
                out["devices"] = devices
                out["one_slot_per_gpu"] = (
                    health["workers"]["slots"] == gpus
                    if cuda
                    else "skipped: no CUDA device (one CPU slot checked instead)"
                )
                wanted = [f"cuda:{i}" for i in range(gpus)] if cuda else ["cpu"]
                seen = sorted(d.split(" ")[0] for d in devices)
                out["devices_as_expected"] = seen == wanted
                out["slots_as_expected"] = (
                    health["workers"]["slots"] == slots_expected
                    and health["workers"]["ready"] == slots_expected
                )
                out["run"] = run_end_to_end(api, environment, timeout_s)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    out["passed"] = bool(
        out["slots_as_expected"] and out["devices_as_expected"] and out["run"]["passed"]
    )
    return out


def run_end_to_end(api: httpx.Client, environment: str, timeout_s: float) -> dict[str, Any]:
    t0 = time.monotonic()
    created = api.post("/api/runs", json=server_run_spec(environment))
    if created.status_code != 201:
        return {"passed": False, "error": f"POST /api/runs: {created.status_code} {created.text}"}
    run_id = created.json()["id"]
    run = created.json()
    while run["status"] not in FINAL and time.monotonic() - t0 < timeout_s:
        time.sleep(0.2)
        run = api.get(f"/api/runs/{run_id}").json()
    seconds = round(time.monotonic() - t0, 1)
    metrics = api.get(f"/api/runs/{run_id}/metrics").json()
    losses = [x for x in metrics["values"].get("train_loss", []) if x is not None]
    # Non-finite values come back as strings ("NaN", "Infinity").
    numeric = [float(x) for x in losses]
    summary = loss_summary(numeric)
    expected = run["progress"]["max_iterations"]
    device = str(run.get("device") or "")
    out = {
        "run_id": run_id,
        "status": run["status"],
        "message": run.get("message"),
        "seconds": seconds,
        "device": device,
        "on_requested_device": device.startswith("cuda" if environment == "gpu" else "cpu"),
        "iterations_expected": expected,
        **summary,
    }
    out["every_iteration_stored"] = summary["points"] == expected
    out["passed"] = bool(
        run["status"] == "completed"
        and out["on_requested_device"]
        and out["every_iteration_stored"]
        and summary["finite"]
        and summary["falls"]
    )
    return out


# -- the report --------------------------------------------------------------------------------
def machine(cuda: bool) -> dict[str, Any]:
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda if cuda else None,
        "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        if cuda
        else [],
    }


def print_report(report: dict[str, Any]) -> None:
    print(f"gpu check — {report['gpu']}")
    if not report["cuda"]:
        print(f"  GPU parts {NO_CUDA}: presets on gpu, GPU overhead, one slot per GPU")
    rows: list[tuple[str, str]] = []
    presets = report["presets"]
    for device in ("cpu", "gpu"):
        part = presets[device]
        if isinstance(part, str):
            rows.append((f"presets on {device}", part))
            continue
        for name, r in part.items():
            verdict = "ok" if r.get("like_cpu", r)["passed"] else "FAILED"
            rows.append(
                (
                    f"preset {name} on {device}: {r['status']}, loss",
                    f"{r.get('start_mean', '—')} → {r.get('end_mean', '—')}  {verdict}",
                )
            )
    for device, o in report["overhead"].items():
        if isinstance(o, str):
            rows.append((f"overhead on {device}", o))
            continue
        rows.append(
            (
                f"overhead on {device}: bare / engine ms per iteration",
                f"{o['bare_ms_per_iteration']:.3f} / {o['engine_ms_per_iteration']:.3f}",
            )
        )
        goal = "met" if o["goal_met"] else "NOT met"
        rows.append(
            (
                f"overhead on {device} (goal ≤ {OVERHEAD_GOAL_PERCENT:g} %)",
                f"{o['overhead_percent_median_of_rounds']:+.2f} % ({goal})",
            )
        )
        if "syncs_per_iteration" in o:
            s = o["syncs_per_iteration"]
            rows.append(
                (f"syncs per iteration on {device}: bare / engine", f"{s['bare']} / {s['engine']}")
            )
    srv = report["server"]
    rows.append(
        (
            "server: slots / ready",
            f"{srv['health_workers']['slots']} / "
            f"{srv['health_workers']['ready']}  (devices {', '.join(srv['devices'])})",
        )
    )
    rows.append(("server: one slot per GPU", str(srv["one_slot_per_gpu"])))
    r = srv["run"]
    rows.append(
        (
            "server: a run end to end",
            f"{r['status']} on {r.get('device', '?')}, {r.get('points', 0)} points, "
            f"{r.get('seconds', '?')} s  {'ok' if r['passed'] else 'FAILED'}",
        )
    )
    width = max(len(a) for a, _ in rows) + 2
    for a, b in rows:
        print(f"  {a:<{width}}{b}")
    print("passed" if report["passed"] else f"FAILED: {', '.join(report['failed'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and rounds")
    parser.add_argument("--rounds", type=int, help="overhead rounds (default 10 GPU, 4 CPU)")
    parser.add_argument("--iterations", type=int, help="overhead iterations per epoch")
    parser.add_argument("--batch", type=int, help="overhead mini-batch (default 128; quick CPU 32)")
    parser.add_argument("--out", type=Path, help="the JSON report's path")
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    quick = args.quick
    preset_epochs = 2 if quick else 3
    report: dict[str, Any] = {
        "benchmark": "gpu_check",
        "date": time.strftime("%Y-%m-%d"),
        "quick": quick,
        "cuda": cuda,
        "gpu": NO_CUDA if not cuda else f"ran on {torch.cuda.device_count()} GPU(s)",
        "machine": machine(cuda),
    }
    if not cuda:
        print(f"gpu check: {NO_CUDA} — the GPU parts are skipped; the CPU parts run", flush=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        print("presets ...", flush=True)
        report["presets"] = check_presets(cuda, preset_epochs, Path(tmp))
        print("overhead ...", flush=True)
        # Quick: a smaller batch and fewer rounds, for a check that it runs, not a figure.
        # The CPU parts are a minute or two here (2 shared cores): the GPU is what this is for.
        cpu_its = args.iterations or (20 if quick else 40)
        rounds = args.rounds or (2 if quick else 4)
        cpu_batch = args.batch or (32 if quick else 128)
        report["overhead"] = {
            "cpu": measure_overhead("cpu", cpu_its, cpu_batch, rounds, (1, 2), Path(tmp)),
            "gpu": measure_overhead(
                "gpu",
                args.iterations or (100 if quick else 300),
                args.batch or 128,
                args.rounds or (3 if quick else 10),
                (1, 3),
                Path(tmp),
            )
            if cuda
            else NO_CUDA,
        }
    print("server ...", flush=True)
    report["server"] = check_server(cuda)
    report["seconds"] = round(time.monotonic() - started, 1)
    parts = {
        "presets": report["presets"]["passed"],
        **{
            f"overhead_{d}": o["passed"]
            for d, o in report["overhead"].items()
            if isinstance(o, dict)
        },
        "server": report["server"]["passed"],
    }
    report["parts_passed"] = parts
    report["failed"] = [k for k, ok in parts.items() if not ok]
    report["passed"] = not report["failed"]
    out = args.out or (RESULTS / "quick" if quick else RESULTS) / "gpu_check.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print_report(report)
    print(f"report: {out} ({report['seconds']:.0f} s)")
    sys.exit(0 if report["passed"] else 1)


if __name__ == "__main__":
    main()
