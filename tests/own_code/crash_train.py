import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
args = parser.parse_args()
print("loss: 2.5")


def step(lr: float) -> float:
    raise ValueError(f"shapes do not match at lr {lr}")


step(args.lr)
