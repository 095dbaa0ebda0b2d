"""A training script that knows nothing of trainscope: argparse options, metrics on stdout."""

import argparse
import math
import time

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--steps-per-epoch", type=int, default=5)
parser.add_argument("--sleep", type=float, default=0.0)
parser.add_argument("--out", default="")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
args = parser.parse_args()

print(f"training with a learn rate of {args.lr}")  # a number, but no metric
print(f"seed is {args.seed}, optimizer is {args.optimizer}")
print(args)  # Namespace(lr=0.1, epochs=3, ...): a configuration echo, not metrics
print(f"lr: {args.lr}  epochs: {args.epochs}")  # the same, by the run's own option values
step = 0
try:
    for epoch in range(1, args.epochs + 1):
        for _ in range(args.steps_per_epoch):
            step += 1
            loss = math.exp(-args.lr * step) + 0.01 * args.seed
            print(f"| epoch {epoch} | step {step} | lr {args.lr:.4f} | loss {loss:.6f} |")
            time.sleep(args.sleep)
except KeyboardInterrupt:
    print("interrupted: saving and ending cleanly")
    if args.out:
        with open(args.out, "w") as f:
            f.write(f"saved at step {step}\n")
    raise SystemExit(0) from None
print("done")
