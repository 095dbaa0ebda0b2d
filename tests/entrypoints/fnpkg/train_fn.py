"""A training function whose one parameter is a pydantic model (its fields are the options)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Config(BaseModel):
    lr: float = Field(0.1, gt=0, description="learning rate")
    epochs: int = Field(3, ge=1)
    batch_size: int = 32
    optimizer: Literal["sgd", "adam"] = "sgd"
    seed: int = 0
    resume_from: str | None = None


def train(config: Config) -> dict[str, float]:
    for epoch in range(1, config.epochs + 1):
        print(f"epoch {epoch} loss: {config.lr / epoch}")
    return {"final_loss": config.lr / config.epochs}


def not_a_model(x: int) -> None:
    """One parameter, but no pydantic model."""
