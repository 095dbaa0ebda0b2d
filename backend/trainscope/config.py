"""Settings from the environment (DESIGN §6). Built where needed and passed in, never global."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    return Path.home() / ".trainscope"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRAINSCOPE_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    api_token: str | None = None
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    max_runs: int = Field(1, ge=1)
