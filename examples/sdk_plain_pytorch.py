"""A plain PyTorch training loop that logs to trainscope (docs/sdk.md).

    trainscope serve &                                # the dashboard, http://127.0.0.1:8000
    TRAINSCOPE_URL=http://127.0.0.1:8000 python examples/sdk_plain_pytorch.py

Without TRAINSCOPE_URL the run goes into the local store (~/.trainscope); `trainscope serve`
then shows it. The data is made up here (two interleaved spirals), so nothing is downloaded.
"""

from __future__ import annotations

import json
import math
import os

import torch
from torch import nn

import trainscope

config = {
    "lr": 0.05,
    "momentum": 0.9,
    "batch_size": 32,
    "epochs": int(os.environ.get("EXAMPLE_EPOCHS", "20")),
    "hidden": 64,
    "seed": 0,
}


def spirals(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    t = torch.rand(n, generator=generator) * 3 * math.pi
    label = torch.randint(0, 2, (n,), generator=generator)
    angle = t + label * math.pi
    x = torch.stack([t * torch.cos(angle), t * torch.sin(angle)], dim=1) / (3 * math.pi)
    return x + 0.02 * torch.randn(n, 2, generator=generator), label


def main() -> None:
    torch.manual_seed(config["seed"])
    g = torch.Generator().manual_seed(config["seed"])
    x_train, y_train = spirals(2000, g)
    x_val, y_val = spirals(500, g)
    model = nn.Sequential(
        nn.Linear(2, config["hidden"]),
        nn.Tanh(),
        nn.Linear(config["hidden"], config["hidden"]),
        nn.Tanh(),
        nn.Linear(config["hidden"], 2),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=config["lr"], momentum=config["momentum"])
    steps_per_epoch = len(x_train) // config["batch_size"]
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=config["epochs"] * steps_per_epoch
    )
    loss_fn = nn.CrossEntropyLoss()

    # A context manager: an exception ends the run `failed` with its message.
    with trainscope.init(name="spirals · plain PyTorch", config=config) as run:
        step = 0
        for epoch in range(1, config["epochs"] + 1):
            model.train()
            order = torch.randperm(len(x_train), generator=g)
            for b in range(steps_per_epoch):
                idx = order[b * config["batch_size"] : (b + 1) * config["batch_size"]]
                logits = model(x_train[idx])
                loss = loss_fn(logits, y_train[idx])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                step += 1
                # Tensors are fine: they are turned into floats on trainscope's thread (on a
                # GPU, that thread waits for the GPU instead of this loop).
                run.log(
                    {
                        "train_loss": loss.detach(),
                        "train_accuracy": (logits.argmax(1) == y_train[idx]).float().mean(),
                        "learn_rate": scheduler.get_last_lr()[0],
                    },
                    step=step,
                    epoch=epoch,
                )
                scheduler.step()
                if run.should_stop:  # the dashboard's Stop button
                    break
            model.eval()
            with torch.no_grad():
                logits = model(x_val)
                run.log(
                    {
                        "val_loss": loss_fn(logits, y_val).item(),
                        "val_accuracy": (logits.argmax(1) == y_val).float().mean().item(),
                    },
                    step=step,
                )
            if run.should_stop:
                break
    print(json.dumps({"run": run.id, "url": run.url}))


if __name__ == "__main__":
    main()
