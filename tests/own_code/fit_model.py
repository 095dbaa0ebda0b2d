"""A function entry point: its one parameter is a pydantic model (the options)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Config(BaseModel):
    learning_rate: float = Field(0.05, gt=0, description="Step size.")
    epochs: int = Field(3, ge=1, description="Passes over the data.")
    seed: int = 0


def fit(config: Config) -> None:
    import trainscope

    run = trainscope.init(config=config.model_dump())
    loss = 1.0
    for epoch in range(1, config.epochs + 1):
        loss *= 1 - config.learning_rate
        run.log({"train_loss": loss, "learn_rate": config.learning_rate}, step=epoch, epoch=epoch)
    print(f"fitted with learning_rate={config.learning_rate}")
    run.finish()
