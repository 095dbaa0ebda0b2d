"""Settings from the environment (DESIGN §6). Built where needed and passed in, never global."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from trainscope import data_layout


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
    min_free_bytes: int = Field(
        50_000_000, ge=0, description="Health reports the disk full below this much free space."
    )
    checkpoint_budget_bytes: int = Field(
        data_layout.DEFAULT_CHECKPOINT_BUDGET,
        ge=0,
        description="Disk the epoch checkpoints of one run may use (what a branch starts "
        "from): all are kept while under it, thinned past it (docs/engine.md).",
    )
    stop_grace_s: float = Field(10.0, gt=0, description="Seconds a stopping run gets to end.")
    # Security and limits (docs/security.md).
    host: str = Field("127.0.0.1", description="The interface served (set by `serve --host`).")
    allowed_hosts: str | None = Field(
        None,
        description="Comma-separated Host names answered; default: loopback names when bound "
        "to a loopback address (no DNS rebinding), any name otherwise.",
    )
    cors_origins: str = Field(
        "", description="Comma-separated origins whose pages may call the API; none by default."
    )
    runs_per_minute: int = Field(60, ge=1, description="Runs one client may start per minute.")
    max_queued_runs: int = Field(100, ge=1, description="Runs waiting for a worker, at most.")
    max_epoch_samples: float = Field(
        1e10, gt=0, description="Ceiling on max_epochs × training samples of a run."
    )
    max_upload_bytes: int = Field(200_000_000, ge=1_000, description="Largest dataset upload.")
    allow_local_files: bool = Field(
        False,
        description="Let runs created over the API read any file of the server's (a 'file' "
        "dataset's path); otherwise only uploaded datasets (POST /api/datasets).",
    )

    # The user's own code as runs (DESIGN §8, docs/own-code.md): registered here only, by the
    # operator, never over the API.
    entrypoints: list[str] = Field(
        default_factory=list,
        description="Entry points NAME=path/to/train.py or NAME=package.module:function "
        "(`serve --entrypoint`, repeatable).",
    )
    entrypoints_file: Path | None = Field(
        None,
        description="A TOML file of entry points with their folder, roles and metric patterns "
        "(`serve --entrypoints-file`).",
    )
    script_stop_grace_s: float = Field(
        30.0,
        gt=0,
        description="Seconds a script run gets after SIGINT to clean up before SIGTERM.",
    )

    def resolved_database_url(self) -> str:
        """TRAINSCOPE_DATABASE_URL, or SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / data_layout.DATABASE_FILE).resolve()}"

    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    def allowed_host_set(self) -> frozenset[str] | None:
        """Host names answered; None for any."""
        if self.allowed_hosts is not None:
            names = frozenset(h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip())
            return None if "*" in names else names
        if self.host in ("127.0.0.1", "localhost", "::1") or self.host.startswith("127."):
            return frozenset({"127.0.0.1", "localhost", "::1", "[::1]", self.host})
        return None

    def run_dir(self, run_id: int) -> Path:
        return data_layout.run_dir(self.data_dir, run_id)
