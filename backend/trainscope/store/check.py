"""A database that cannot be used, told plainly: opening it at start (`open_checked`) and
`trainscope db check` (`check`).

What goes wrong, and what the operator reads instead of a traceback: a damaged SQLite file
("file is not a database", "database disk image is malformed", or SQLite's own check finding
damaged pages) names the file, what SQLite said, and the way out (`db check`, SQLite's
`.recover`, a backup); a database of a newer trainscope names both schema versions; a
PostgreSQL server that cannot be reached says what the driver said.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from trainscope.store.database import make_engine
from trainscope.store.schema import SCHEMA_VERSION, SchemaError, point_chunks, runs, schema_version
from trainscope.store.store import Store

# What start-up checks: quick_check reads every page once (~15 ms for a 45 MB database from the
# page cache) but skips the index cross-checks that `db check`'s integrity_check does.
QUICK_CHECK = "PRAGMA quick_check(20)"
FULL_CHECK = "PRAGMA integrity_check(100)"


class DatabaseProblem(Exception):
    """The database cannot be used; the message says which file, why and what to do."""


def describe(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return parsed.render_as_string(hide_password=True)


def _said(exc: BaseException) -> str:
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return " ".join(str(orig).split())


def what_to_do(url: str) -> str:
    where = describe(url)
    if make_url(url).get_backend_name() != "sqlite":
        return (
            "What to do: check that the PostgreSQL server is up and the URL "
            "(TRAINSCOPE_DATABASE_URL) is right; see what trainscope finds with "
            "`trainscope db check`; or restore a pg_dump backup (docs/deploy.md)."
        )
    return (
        "What to do:\n"
        f"  - see what is damaged: trainscope db check --data-dir {_dir_of(where)}\n"
        "  - recover what SQLite can still read into a new file (keep the damaged one):\n"
        f"      sqlite3 {where} .recover | sqlite3 recovered.db\n"
        f"    then move recovered.db to {where}\n"
        "  - or restore a backup into an empty directory: trainscope restore BACKUP "
        "--data-dir NEW_DIR (docs/deploy.md)"
    )


def _dir_of(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else "."


def _newer(url: str, exc: SchemaError) -> DatabaseProblem:
    return DatabaseProblem(
        f"the database {describe(url)} cannot be used by this trainscope: {exc}. "
        f"This trainscope writes schema version {SCHEMA_VERSION}. Run the newer trainscope "
        "that wrote it, or restore a backup taken before the upgrade (docs/deploy.md)."
    )


def open_checked(url: str) -> Store:
    """`Store.open(url)`, having checked the file (SQLite: quick_check); any failure as a
    `DatabaseProblem`."""
    try:
        store = Store.open(url)
    except SchemaError as exc:
        raise _newer(url, exc) from None
    except SQLAlchemyError as exc:
        raise DatabaseProblem(
            f"the database {describe(url)} cannot be opened: {_said(exc)}.\n{what_to_do(url)}"
        ) from None
    try:
        if store.engine.dialect.name == "sqlite":
            with store.engine.connect() as conn:
                found = [str(r[0]) for r in conn.execute(text(QUICK_CHECK))]
            if found != ["ok"]:
                raise DatabaseProblem(
                    f"the database {describe(url)} is damaged; SQLite's check says: "
                    f"{_first_lines(found)}\n{what_to_do(url)}"
                )
    except SQLAlchemyError as exc:
        store.close()
        raise DatabaseProblem(
            f"the database {describe(url)} cannot be read: {_said(exc)}.\n{what_to_do(url)}"
        ) from None
    except DatabaseProblem:
        store.close()
        raise
    return store


def _first_lines(found: list[str], n: int = 3) -> str:
    """SQLite's findings, a line each ('*** in database main ***' is a heading, left out)."""
    lines = [ln.strip() for row in found for ln in row.splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith("***")]
    more = f" (and {len(lines) - n} more: trainscope db check lists them)" if len(lines) > n else ""
    return "; ".join(lines[:n]) + more


@dataclass
class Report:
    where: str
    ok: bool
    lines: list[str] = field(default_factory=list)


def check(url: str) -> Report:
    """Everything `trainscope db check` prints: the schema version, what is stored, and
    SQLite's integrity_check (every page and index); never changes the database."""
    where = describe(url)
    report = Report(where, ok=True)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            version = schema_version(conn)
            report.lines.append(
                f"schema version {version} (this trainscope: {SCHEMA_VERSION})"
                if version
                else "no trainscope tables yet (a new database)"
            )
            if version > SCHEMA_VERSION:
                report.ok = False
                report.lines.append("written by a newer trainscope: upgrade to use it")
            if engine.dialect.name == "sqlite":
                found = [str(r[0]) for r in conn.execute(text(FULL_CHECK))]
                if found == ["ok"]:
                    report.lines.append("SQLite integrity_check: ok")
                else:
                    report.ok = False
                    report.lines.append("SQLite integrity_check found damage:")
                    report.lines.extend(f"  {line}" for line in found)
            if version and report.ok:
                n_runs = conn.execute(select(func.count()).select_from(runs)).scalar()
                n_chunks = conn.execute(select(func.count()).select_from(point_chunks)).scalar()
                n_points = conn.execute(select(func.sum(point_chunks.c.count))).scalar()
                report.lines.append(f"{n_runs} runs, {n_points or 0} points in {n_chunks} chunks")
    except SchemaError as exc:
        report.ok = False
        report.lines.append(str(exc))
    except SQLAlchemyError as exc:
        report.ok = False
        report.lines.append(f"cannot be read: {_said(exc)}")
    finally:
        engine.dispose()
    if not report.ok:
        report.lines.append(what_to_do(url))
    return report
