"""`trainscope backup PATH` and `trainscope restore PATH`: a data directory copied while a
server runs, and put back into an empty one.

The database is copied with SQLite's online backup API in one step: one read transaction, so
the copy is the database as of one instant (every committed point up to then), while the
server's writer goes on (WAL: readers never block it). Checkpoints (`runs/`) and uploaded
datasets (`uploads/`) are copied *before* the database, so that no checkpoint in a backup is
ahead of the points stored with it (resume would fall back to an older one, or start over and
have its replayed points dropped as duplicates). A checkpoint being written (`*.tmp`) is left
out: checkpoints are renamed into place whole, so a copied one is always complete.

With PostgreSQL the database is not in the data directory: `pg_dump` backs it up
(docs/deploy.md); `backup` then copies the files alone and says so in `backup.json`.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from trainscope.store.database import DB_FILENAME
from trainscope.version import __version__

MANIFEST = "backup.json"
FILE_DIRS = ("runs", "uploads")  # what lives beside the database and is not re-downloadable


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why."""


@dataclass
class Done:
    path: Path
    database: str  # "sqlite" | "postgresql (not included)"
    files: int
    bytes: int
    seconds: float


def _empty_or_absent(path: Path, what: str) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        shown = sorted(p.name for p in path.iterdir())[:5] if path.is_dir() else []
        raise BackupError(
            f"{path} is not empty{' (' + ', '.join(shown) + ')' if shown else ''}: {what} "
            "only into a new or empty directory, so that nothing there is overwritten or mixed in"
        )


def _copy_files(src: Path, dest: Path) -> tuple[int, int]:
    """Copy src/runs and src/uploads; files that vanish meanwhile (a run deleted, a checkpoint
    replaced) are skipped, half-written ones (*.tmp) never copied."""
    files = size = 0
    for name in FILE_DIRS:
        root = src / name
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.name.endswith(".tmp"):
                continue
            target = dest / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copy2(path, target)
            except FileNotFoundError:
                continue
            files += 1
            size += target.stat().st_size
    return files, size


def backup(data_dir: Path, database_url: str, dest: Path) -> Done:
    t0 = time.monotonic()
    _empty_or_absent(dest, "a backup is written")
    url = make_url(database_url)
    sqlite = url.get_backend_name() == "sqlite"
    source_db = Path(url.database or "") if sqlite else None
    if source_db is not None and not source_db.is_file():
        raise BackupError(f"there is no database at {source_db} to back up")
    dest.mkdir(parents=True, exist_ok=True)
    files, size = _copy_files(data_dir, dest)
    if source_db is not None:
        # mode=ro: a backup never writes to the database it copies.
        src = sqlite3.connect(f"file:{source_db}?mode=ro", uri=True, timeout=10)
        out = sqlite3.connect(dest / DB_FILENAME)
        try:
            src.backup(out)  # pages=-1: all of it in one step, one snapshot
            # The copy is nobody's: the processes recorded in it write the original. Left in,
            # a server started on the restored copy would take them for live servers.
            if out.execute("SELECT 1 FROM sqlite_master WHERE name = 'owners'").fetchone():
                out.execute("DELETE FROM owners")
                out.commit()
        except sqlite3.Error as exc:
            raise BackupError(f"cannot copy {source_db}: {exc}") from None
        finally:
            out.close()
            src.close()
        size += (dest / DB_FILENAME).stat().st_size
    database = "sqlite" if sqlite else "postgresql (not included: back it up with pg_dump)"
    manifest = {
        "trainscope": __version__,
        "created_at": time.time(),
        "data_dir": str(data_dir),
        "database": database,
        "files": files,
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return Done(dest, database, files, size, time.monotonic() - t0)


def restore(src: Path, data_dir: Path) -> Done:
    t0 = time.monotonic()
    if not (src / MANIFEST).is_file():
        raise BackupError(f"{src} is not a trainscope backup (no {MANIFEST} in it)")
    _empty_or_absent(data_dir, "a backup is restored")
    manifest = json.loads((src / MANIFEST).read_text(encoding="utf-8"))
    data_dir.mkdir(parents=True, exist_ok=True)
    files, size = _copy_files(src, data_dir)
    if (src / DB_FILENAME).is_file():
        shutil.copy2(src / DB_FILENAME, data_dir / DB_FILENAME)
        size += (data_dir / DB_FILENAME).stat().st_size
    return Done(data_dir, str(manifest.get("database")), files, size, time.monotonic() - t0)
