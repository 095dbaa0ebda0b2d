"""A training script that parses its options at import time and knows nothing of trainscope."""

import argparse
import json
import os
from pathlib import Path


def schedule(text):
    return text.split(":")


parser = argparse.ArgumentParser(description="Train a tiny model.")
parser.add_argument("--lr", "--learning-rate", type=float, default=0.01, help="learning rate")
parser.add_argument("--epochs", type=int, default="3", help="epochs (default: %(default)s)")
parser.add_argument("--batch-size", type=int, default=64)
parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
parser.add_argument("--dry-run", action="store_true", help="one batch only")
parser.add_argument("--no-shuffle", dest="shuffle", action="store_false")
parser.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True)
parser.add_argument("--layers", type=int, nargs="+", default=[32, 16])
parser.add_argument("--tag", action="append", default=[])
parser.add_argument("-v", "--verbose", action="count", default=0)
parser.add_argument("--schedule", type=schedule, default=None, help="steps like 10:20")
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--resume", type=Path, default=None)
parser.add_argument("--device", default="cpu")
parser.add_argument("--mode", dest="mode", action="store_const", const="fast", default="slow")
parser.add_argument("data", nargs="?", default="data")
args = parser.parse_args()

# Training starts here: the probe must never get this far.
Path(os.environ.get("MARKER", "trained.marker")).write_text(json.dumps(vars(args), default=str))
for epoch in range(1, args.epochs + 1):
    print(f"epoch {epoch} loss: {1.0 / epoch:.4f} lr={args.lr}")
