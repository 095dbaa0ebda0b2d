"""What each integration adds per logged scalar in the training process, beside the SDK's own
`run.log` (local mode, a temporary store; the time in the loop only, the shipper's thread
running as usual). `python benchmarks/integrations_cost.py [N]`."""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable


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


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
