"""A script that logs with the SDK and ends when asked to stop (run.should_stop)."""

import argparse
import time

import trainscope

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.01)
parser.add_argument("--steps", type=int, default=20)
parser.add_argument("--sleep", type=float, default=0.0)
args = parser.parse_args()

run = trainscope.init(config=vars(args))
print(f"config seen by the run: lr={run.config['lr']}")
for step in range(1, args.steps + 1):
    if run.should_stop:
        print("stop requested: ending")
        break
    run.log({"loss": 1.0 / step, "val_acc": step / args.steps, "ppl": float("nan")}, step=step)
    print(f"loss: {1.0 / step}")  # also on stdout: must not become a second curve
    time.sleep(args.sleep)
run.finish()
