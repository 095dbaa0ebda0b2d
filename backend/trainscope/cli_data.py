"""`trainscope backup | restore | db check`, and the checks `serve` makes before it starts:
the data directory's lock, the database opened and checked, this server recorded as the
owner of the runs it starts. Each failure is one message and exit 2, never a traceback."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trainscope.config import Settings
    from trainscope.store import Store
    from trainscope.store.lock import DataDirLock

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class DataError(Exception):
    """Printed as `error: <message>`, exit 2 (cli.main turns it into an InputError)."""


def settings_for(args: argparse.Namespace) -> Settings:
    from trainscope.config import Settings

    overrides: dict[str, Any] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    return Settings(**overrides)


def prepare_serve(settings: Settings, *, bind: str, port: int) -> tuple[DataDirLock, Store]:
    """Before the server answers: lock the data directory, open and check the database, and
    record this server (refused while another live server uses the same database)."""
    from trainscope.store.check import DatabaseProblem, open_checked
    from trainscope.store.lock import DataDirLock, DataDirLocked
    from trainscope.store.owners import STALE_S, OwnerConflict

    try:
        lock = DataDirLock.acquire(settings.data_dir, bind=bind, port=port)
    except DataDirLocked as exc:
        raise DataError(str(exc)) from None
    except OSError as exc:
        raise DataError(f"cannot lock the data directory {settings.data_dir}: {exc}") from None
    try:
        store = open_checked(settings.resolved_database_url())
    except DatabaseProblem as exc:
        lock.release()
        raise DataError(str(exc)) from None
    try:
        store.register_owner(
            "server", port=port, data_dir=str(settings.data_dir.resolve()), exclusive=True
        )
    except OwnerConflict as exc:
        store.close()
        lock.release()
        raise DataError(
            f"another trainscope server uses the database {store_where(settings)}: "
            f"{exc.other.describe()}. Several servers on one database are not supported "
            "(docs/deploy.md): stop that one, or give this one its own database "
            "(TRAINSCOPE_DATABASE_URL). If that server is gone for good (its machine lost), "
            f"this one may start once its heartbeat is {STALE_S:.0f} s old."
        ) from None
    return lock, store


def store_where(settings: Settings) -> str:
    from trainscope.store.check import describe

    return describe(settings.resolved_database_url())


def cmd_db_check(args: argparse.Namespace) -> int:
    from trainscope.store.check import check

    settings = settings_for(args)
    url = settings.resolved_database_url()
    if url.startswith("sqlite") and not Path(url.split("///", 1)[-1]).is_file():
        raise DataError(f"there is no database at {store_where(settings)}")
    report = check(url)
    print(f"{report.where}: {'ok' if report.ok else 'DAMAGED or unusable'}")
    for line in report.lines:
        print(f"  {line}" if not line.startswith("What") else line)
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_backup(args: argparse.Namespace) -> int:
    from trainscope.store.backup import BackupError, backup

    settings = settings_for(args)
    try:
        done = backup(settings.data_dir, settings.resolved_database_url(), Path(args.path))
    except BackupError as exc:
        raise DataError(str(exc)) from None
    print(
        f"backed up {settings.data_dir} to {done.path}: database {done.database}, "
        f"{done.files} files, {done.bytes / 1e6:.1f} MB in {done.seconds:.1f} s"
    )
    if done.database != "sqlite":
        print(
            "the PostgreSQL database is not in this backup: pg_dump it too (docs/deploy.md)",
            file=sys.stderr,
        )
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    from trainscope.store.backup import BackupError, restore

    settings = settings_for(args)
    try:
        done = restore(Path(args.path), settings.data_dir)
    except BackupError as exc:
        raise DataError(str(exc)) from None
    print(
        f"restored {args.path} into {done.path}: {done.files} files, "
        f"{done.bytes / 1e6:.1f} MB in {done.seconds:.1f} s; start it with "
        f"trainscope serve --data-dir {done.path}"
    )
    if done.database != "sqlite":
        print("the PostgreSQL database comes back with pg_restore (docs/deploy.md)")
    return EXIT_OK


def add_commands(sub: Any) -> None:
    data_help = "the data directory (default $TRAINSCOPE_DATA_DIR or ~/.trainscope)"
    b = sub.add_parser(
        "backup", help="copy the database, checkpoints and uploads, also while a server runs"
    )
    b.add_argument("path", help="a new (or empty) directory for the backup")
    b.add_argument("--data-dir", help=data_help)
    b.set_defaults(func=cmd_backup)

    r = sub.add_parser("restore", help="put a backup into a new (or empty) data directory")
    r.add_argument("path", help="a directory written by `trainscope backup`")
    r.add_argument("--data-dir", help="where to restore it (must be new or empty)")
    r.set_defaults(func=cmd_restore)

    d = sub.add_parser("db", help="the database: `db check` reads every page of it")
    dsub = d.add_subparsers(dest="db_command", required=True)
    c = dsub.add_parser("check", help="check the database (never changes it)")
    c.add_argument("--data-dir", help=data_help)
    c.set_defaults(func=cmd_db_check)
