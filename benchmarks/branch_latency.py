"""Branch → first point, and the disk the epoch checkpoints of a 100-epoch run take.

Latency: a real `trainscope serve` (warm workers); a finished 30-epoch parent; POST branch at
epochs 1, 15 and 29 → the branch's first point on its websocket. Disk: each preset trained one
epoch on digits (the checkpoint's size does not grow with the epoch), its epoch checkpoint
measured, and the default retention rule (1 GB) applied to 100 of them.

    python benchmarks/branch_latency.py [--quick]

Writes benchmarks/results/branch_latency.json.

Goal (issue 16): branch → first point under 300 ms warm, whatever the epoch.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).parent))
from stream_latency import FINAL, free_port, spec, start_server
from trainscope.data_layout import DEFAULT_CHECKPOINT_BUDGET, epoch_checkpoints
from trainscope.engine.loop import train
from trainscope.engine.retention import epochs_to_keep
from trainscope.schemas.model import MODEL_PRESETS
from trainscope.schemas.spec import RunSpec


async def measure_branches(base: str, ws_base: str, epochs: list[int], n: int) -> dict[int, Any]:
    out: dict[int, Any] = {}
    async with httpx.AsyncClient(base_url=base, timeout=60) as api:
        parent = (await api.post("/api/runs", json=spec(30, "branch-parent"))).json()
        while (await api.get(f"/api/runs/{parent['id']}")).json()["status"] not in FINAL:
            await asyncio.sleep(0.1)
        for epoch in epochs:
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                body = {"epoch": epoch, "options": {"max_epochs": epoch + 1}}
                child = (await api.post(f"/api/runs/{parent['id']}/branch", json=body)).json()
                async with connect(f"{ws_base}/ws/runs/{child['id']}", max_size=None) as ws:
                    async for raw in ws:
                        if json.loads(raw)["type"] == "points":
                            times.append(time.perf_counter() - t0)
                            break
                while (await api.get(f"/api/runs/{child['id']}")).json()["status"] not in FINAL:
                    await asyncio.sleep(0.05)
            out[epoch] = round(statistics.median(times) * 1e3, 1)
    return out


async def wait_final(api: httpx.AsyncClient, run_id: int) -> dict[str, Any]:
    while True:
        run: dict[str, Any] = (await api.get(f"/api/runs/{run_id}")).json()
        if run["status"] in FINAL:
            return run
        await asyncio.sleep(0.05)


async def measure_time_saved(base: str, epochs: int, at: int) -> dict[str, Any]:
    """The doctor's plateau fix, "drop the learn rate ÷10 from epoch `at`", two ways: a branch
    of the finished run at `at` with learn rate ÷10, against a restart from scratch that drops
    the learn rate at `at` (piecewise schedule): the same curve after `at`, all of it paid."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as api:
        parent = (await api.post("/api/runs", json=spec(epochs, "plateau-parent"))).json()
        await wait_final(api, parent["id"])
        lr = parent["spec"]["options"]["initial_learn_rate"]

        t0 = time.perf_counter()
        body = {"epoch": at, "options": {"initial_learn_rate": lr / 10}}
        branch = (await api.post(f"/api/runs/{parent['id']}/branch", json=body)).json()
        await wait_final(api, branch["id"])
        branch_s = time.perf_counter() - t0

        restart_spec = spec(epochs, "plateau-restart")
        restart_spec["options"].update(
            learn_rate_schedule="piecewise", learn_rate_drop_period=at, learn_rate_drop_factor=0.1
        )
        t0 = time.perf_counter()
        restart = (await api.post("/api/runs", json=restart_spec)).json()
        await wait_final(api, restart["id"])
        restart_s = time.perf_counter() - t0
    return {
        "run_epochs": epochs,
        "branch_epoch": at,
        "epochs_trained_branch": epochs - at,
        "epochs_trained_restart": epochs,
        "epochs_avoided": at,
        "branch_s": round(branch_s, 2),
        "restart_s": round(restart_s, 2),
        "seconds_avoided": round(restart_s - branch_s, 2),
    }


def checkpoint_disk(data_dir: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for preset in MODEL_PRESETS:
        run_dir = data_dir / preset
        run_spec = None
        # Image and vector presets on digits; the recurrent ones need sequences.
        for dataset in ({"name": "digits"}, {"name": "sequence-classes"}):
            try:
                run_spec = RunSpec.model_validate(
                    {
                        "dataset": dataset,
                        "model": {"preset": preset},
                        "options": {"max_epochs": 1, "execution_environment": "cpu"},
                    }
                )
                break
            except ValueError as exc:
                out[preset] = f"not measured: {str(exc).splitlines()[0]}"
        if run_spec is None:
            continue
        out.pop(preset, None)
        train(run_spec, lambda e: None, data_dir=data_dir, run_dir=run_dir)
        size = next(iter(epoch_checkpoints(run_dir).values())).stat().st_size
        sizes = dict.fromkeys(range(1, 101), size)
        kept = epochs_to_keep(sizes, DEFAULT_CHECKPOINT_BUDGET, best_epoch=None)
        out[preset] = {
            "checkpoint_mb": round(size / 1e6, 3),
            "kept_of_100": len(kept),
            "disk_mb": round(size * len(kept) / 1e6, 1),
        }
    return out


RESULTS = Path(__file__).parent / "results"


def main() -> None:
    quick = "--quick" in sys.argv[1:]  # one branch per epoch instead of three
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proc = start_server(Path(tmp), port)
        try:
            base = f"http://127.0.0.1:{port}"
            latency = asyncio.run(
                measure_branches(base, f"ws://127.0.0.1:{port}", [1, 15, 29], 1 if quick else 3)
            )
            saved = asyncio.run(measure_time_saved(base, *((6, 2) if quick else (60, 20))))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        disk = checkpoint_disk(Path(tmp) / "disk")
    result = {
        "benchmark": "branch_latency",
        "date": time.strftime("%Y-%m-%d"),
        "quick": quick,
        "branch_to_first_point_median_ms": latency,
        "time_saved": saved,
        "disk": disk,
    }
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)  # run_all.py moves a quick run's file to results/quick/
    (RESULTS / "branch_latency.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
