"""Free space where the data directory (checkpoints, uploads, SQLite) lives, for `/api/health`
and the dashboard's banner: a full disk is shown, not a silent stall."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any


def storage_health(data_dir: Path, min_free_bytes: int) -> dict[str, Any]:
    """{free_bytes, total_bytes, full, message}, without the path (health answers without a
    token). `full` when less than `min_free_bytes` is left: runs then fail with the reason as
    their points or checkpoints cannot be written, and the server goes on answering."""
    try:
        usage = shutil.disk_usage(data_dir)
    except OSError as exc:
        return {"full": True, "message": f"the data directory cannot be read: {exc.strerror}"}
    full = usage.free < min_free_bytes
    message = (
        f"the data directory's disk is full: {usage.free / 1e6:.1f} MB free of "
        f"{usage.total / 1e6:.0f} MB. Runs cannot store points or checkpoints until space is "
        "freed; what is stored is kept."
        if full
        else None
    )
    return {
        "free_bytes": usage.free,
        "total_bytes": usage.total,
        "full": full,
        "message": message,
    }
