"""A fresh PostgreSQL database per test: `CREATE DATABASE trainscope_test_<pid>_<random>` through
the server's `test` database, dropped afterwards. Tests that share a server (other sessions,
other engineers' runs) never see each other's tables.

The server: TRAINSCOPE_TEST_POSTGRES_URL, by default the local one CI starts. When it cannot be
reached the test fails, saying how to start it; it is never skipped.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

URL_ENV = "TRAINSCOPE_TEST_POSTGRES_URL"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
START_HINT = (
    "start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` "
    f"(what .ci/run does), or point {URL_ENV} at a PostgreSQL server where this user may "
    "CREATE DATABASE"
)


def admin_url() -> str:
    return os.environ.get(URL_ENV) or DEFAULT_URL


@contextmanager
def fresh_database(prefix: str = "trainscope_test") -> Iterator[str]:
    """Yield the URL of a new, empty database; drop it (and its connections) afterwards."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.fail(
            "psycopg is not installed, and the store tests run on PostgreSQL too: "
            "pip install -e '.[test]' (it brings psycopg[binary])",
            pytrace=False,
        )
    url = make_url(admin_url())
    admin = create_engine(
        url, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"connect_timeout": 5}
    )
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    unreachable = None
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except OperationalError as exc:
        unreachable = " ".join(str(exc.orig if exc.orig is not None else exc).split())
    if unreachable is not None:  # outside the except: the message alone, no chained traceback
        admin.dispose()
        pytest.fail(
            f"PostgreSQL is not reachable at {url!r} ({unreachable}); {START_HINT}",
            pytrace=False,
        )
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            # FORCE: a test that failed halfway may have left a connection open.
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
