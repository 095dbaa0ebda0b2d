"""A training script that can resume: argparse options, metrics on stdout, and a checkpoint at
the end of every epoch in $TRAINSCOPE_CHECKPOINT_DIR named epoch-N.json; `--resume PATH`
continues from one."""

import argparse
import json
import os

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--epochs", type=int, default=4)
parser.add_argument("--steps-per-epoch", type=int, default=5)
parser.add_argument("--resume", default="", help="a checkpoint to continue from")
args = parser.parse_args()

checkpoints = os.environ.get("TRAINSCOPE_CHECKPOINT_DIR", "")
epoch0, weight = 0, 1.0
if args.resume:
    with open(args.resume) as f:
        state = json.load(f)
    epoch0, weight = state["epoch"], state["weight"]
    print(f"resumed from epoch {epoch0}", flush=True)
step = epoch0 * args.steps_per_epoch
for epoch in range(epoch0 + 1, args.epochs + 1):
    for _ in range(args.steps_per_epoch):
        step += 1
        weight *= 1 - args.lr
        print(f"epoch: {epoch} step: {step} loss: {weight:.8f} lr: {args.lr}", flush=True)
    if checkpoints:
        with open(os.path.join(checkpoints, f"epoch-{epoch}.json"), "w") as f:
            json.dump({"epoch": epoch, "weight": weight}, f)
print("done")
