"""What each integration adds per logged scalar in the training process, beside the SDK's own
`run.log` (local mode, a temporary store; the time in the loop only, the shipper's thread
running as usual). `python benchmarks/integrations_cost.py [N] [--quick]` (--quick: N=20,000);
writes benchmarks/results/integrations_cost.json."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def per_call_us(fn: Callable[[int], None], n: int) -> float:
    start = time.perf_counter()
    for i in range(1, n + 1):
        fn(i)
    return (time.perf_counter() - start) / n * 1e6


def main(n: int) -> None:
    import trainscope
    import trainscope.compat.wandb as wandb

    with tempfile.TemporaryDirectory() as tmp:
        results: dict[str, float] = {}
        run = trainscope.init("sdk", dir=tmp)
        results["sdk run.log({k: v}, step)"] = per_call_us(lambda i: run.log({"loss": 0.5}, i), n)
        run.finish()
        writer = trainscope.SummaryWriter(comment="tb", dir=tmp)
        results["trainscope.SummaryWriter.add_scalar"] = per_call_us(
            lambda i: writer.add_scalar("loss", 0.5, i), n
        )
        writer.close()
        wandb.init(name="wb", dir=tmp)
        results["compat.wandb.log({k: v})"] = per_call_us(lambda i: wandb.log({"loss": 0.5}), n)
        wandb.finish()
        import importlib.util

        # torch's own writer needs the tensorboard package; without it the row is left out.
        if importlib.util.find_spec("tensorboard") is not None:
            from torch.utils.tensorboard import SummaryWriter as TorchWriter

            tw = TorchWriter(log_dir=tmp + "/tb")
            results["torch SummaryWriter.add_scalar"] = per_call_us(
                lambda i: tw.add_scalar("loss", 0.5, i), n
            )
            tw.close()
    for label, us in results.items():
        print(f"{label:40s} {us:6.2f} µs per scalar")
    result = {
        "benchmark": "integrations_cost",
        "date": time.strftime("%Y-%m-%d"),
        "calls": n,
        "us_per_scalar": {k: round(v, 3) for k, v in results.items()},
    }
    # run_all.py moves a quick run's file to results/quick/.
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "integrations_cost.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--quick"]
    main(int(args[0]) if args else 20_000 if "--quick" in sys.argv else 200_000)
