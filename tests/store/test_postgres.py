"""What only PostgreSQL has: a server that can be away, restarted or silent, and its URLs. (Every
other store test runs on PostgreSQL too, through the `store` fixture.)"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from trainscope.schemas.events import Point
from trainscope.services.pipeline import describe_store_error
from trainscope.store import Store, database

from .conftest import new_run, points
from .postgres import fresh_database

# The local PostgreSQL server (.ci/run starts it).
pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port  # nothing listens once the socket is closed


def test_a_server_that_is_down_is_an_error_at_once_saying_so() -> None:
    started = time.monotonic()
    with pytest.raises(OperationalError, match="Connection refused") as info:
        Store.open(f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/trainscope")
    assert time.monotonic() - started < 5
    assert "127.0.0.1" in str(info.value)


def test_a_server_that_never_answers_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    # Accepts TCP connections (the kernel's backlog) and never says a word: what a host behind
    # a black-holing firewall or a hung server looks like to libpq.
    monkeypatch.setattr(database, "CONNECT_TIMEOUT_S", 2)  # libpq's smallest
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(OperationalError, match="timeout expired"):
            Store.open(f"postgresql+psycopg://postgres@127.0.0.1:{port}/trainscope")
        assert time.monotonic() - started < 10


def test_the_url_may_set_its_own_connection_options() -> None:
    engine = database.make_engine(
        "postgresql+psycopg://u@db.example/x?connect_timeout=3&application_name=mine"
    )
    try:
        _, kwargs = engine.dialect.create_connect_args(engine.url)
        assert (kwargs["connect_timeout"], kwargs["application_name"]) == ("3", "mine")
        assert engine.pool.size() == database.POSTGRES_POOL_SIZE  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def test_a_plain_postgresql_url_uses_psycopg_3(postgres_url: str) -> None:
    plain = make_url(postgres_url).set(drivername="postgresql").render_as_string(False)
    store = Store.open(plain)
    try:
        assert store.engine.dialect.driver == "psycopg"
        assert new_run(store).id == 1
    finally:
        store.close()


def test_other_databases_and_drivers_are_refused_with_what_is_supported() -> None:
    with pytest.raises(ValueError, match=r"SQLite .* or PostgreSQL"):
        Store.open("mysql+pymysql://u@localhost/trainscope")
    with pytest.raises(ValueError, match="through psycopg 3"):
        Store.open("postgresql+psycopg2://u@localhost/trainscope")


def test_connections_the_server_dropped_are_replaced(postgres_url: str) -> None:
    # A PostgreSQL restart or failover closes every connection the pool holds.
    store = Store.open(postgres_url)
    try:
        run = new_run(store)
        store.ingest(points(run.id, 1, 10))
        assert len(store.list_runs()) == 1
        killer = create_engine(postgres_url, poolclass=NullPool)
        with killer.connect() as conn:
            killed = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar()
        killer.dispose()
        assert killed and killed >= 1
        assert [r.id for r in store.list_runs()] == [run.id]
        store.ingest(points(run.id, 11, 20))
        assert store.read_points(run.id).seq == list(range(1, 21))
    finally:
        store.close()


class Outage:
    """A TCP relay in front of the PostgreSQL server: `cut()` drops every connection and refuses
    new ones, as a PostgreSQL that went down does; `restore()` takes connections again. The
    real server stays up for everyone else."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = closed_port()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            doomed, self._sockets = self._sockets, []
            if self._listener is not None:
                doomed.append(self._listener)
                self._listener = None
        for sock in doomed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            server = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def test_an_outage_fails_fast_loses_nothing_and_passes(postgres_url: str) -> None:
    url = make_url(postgres_url)
    outage = Outage((url.host or "127.0.0.1", url.port or 5432))
    store = Store.open(url.set(host="127.0.0.1", port=outage.port).render_as_string(False))
    try:
        run = new_run(store)
        store.ingest(points(run.id, 1, 100))

        outage.cut()
        started = time.monotonic()
        with pytest.raises(OperationalError) as info:
            store.ingest(points(run.id, 101, 200))
        assert time.monotonic() - started < 5
        # What the pipeline records on the runs of the refused batch.
        assert "Connection refused" in describe_store_error(info.value)
        with pytest.raises(OperationalError):
            store.read_points(run.id)

        outage.restore()
        # The refused batch was not stored; sent again, it is, once.
        persisted = store.ingest(points(run.id, 101, 200))
        assert [e.seq for _, e in persisted if isinstance(e, Point)] == list(range(101, 201))
        assert store.read_points(run.id).seq == list(range(1, 201))
        assert store.last_seq(run.id) == 200
    finally:
        store.close()
        outage.cut()
