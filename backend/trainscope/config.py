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
    max_runs: int = Field(1, ge=1, description="Concurrent runs on CPU (one per GPU otherwise).")
    max_body_bytes: int = Field(1_000_000, ge=1_000, description="Largest accepted request body.")
    stop_grace_s: float = Field(10.0, gt=0, description="Seconds a stopping run gets to end.")

    def resolved_database_url(self) -> str:
        """TRAINSCOPE_DATABASE_URL, or SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'trainscope.db').resolve()}"

    def run_dir(self, run_id: int) -> Path:
        return self.data_dir / "runs" / str(run_id)
