"""A script with a main() behind the __main__ guard, required options and positionals."""

import argparse
import json
import os
from pathlib import Path


def main():
    p = argparse.ArgumentParser(prog="train_main")
    p.add_argument("data_dir", help="where the data is")
    p.add_argument("sizes", type=int, nargs=2)
    p.add_argument("--out", required=True)
    p.add_argument("--num_train_epochs", type=float, default=1.0)
    p.add_argument("--learning_rate", type=float, default=5e-5)
    p.add_argument("--per_device_train_batch_size", type=int, default=8)
    args, unknown = p.parse_known_args()
    Path(os.environ.get("MARKER", "trained.marker")).write_text(json.dumps([vars(args), unknown]))
    print(vars(args))


if __name__ == "__main__":
    main()
