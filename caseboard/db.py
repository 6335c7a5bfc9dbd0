"""Engines, transactions and migrations for SQLite (embedded) and PostgreSQL (scale-out).

SQLite runs in WAL mode; write transactions start with BEGIN IMMEDIATE so two writers never
deadlock on a lock upgrade. Writers queue on a lock file beside the database rather than in
SQLite's sleeping busy handler, and the WAL is copied back into the database by a background
thread rather than inside some unlucky writer's commit (caseboard/sqlite_writes.py). On
PostgreSQL, writes that race on a unique key are retried as a whole transaction.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event, exc
from sqlmodel import Session

from caseboard.fastsql import FastInsert
from caseboard.sqlite_writes import Checkpointer, WriterLock

T = TypeVar("T")
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_WRITE = "cc_write"
# SQLite's own checkpoint inside a commit, should the background one fall behind (4 kB pages).
BACKSTOP_CHECKPOINT_PAGES = 10000


class DatabaseUnavailable(Exception):
    """The database cannot be opened or reached. The message shows the URL without its
    password and the driver's reason; the CLI prints it as one line and exits 2."""


def safe_url(url: str) -> str:
    """The URL as it may be shown to people: a password in it is replaced by ***."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return "(unparsable URL)"


def _reason(error: Exception, url: str) -> str:
    """The driver's own first words, without SQLAlchemy's background link or any password."""
    reason = str(getattr(error, "orig", None) or error).strip()
    reason = " ".join(line.strip() for line in reason.splitlines()) or type(error).__name__
    password = sa.engine.make_url(url).password
    return reason.replace(str(password), "***") if password else reason


def make_engine(url: str, sqlite_synchronous: str = "full") -> sa.Engine:
    try:
        if url.startswith("sqlite"):
            return _sqlite_engine(url, sqlite_synchronous)
        return sa.create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    except (exc.ArgumentError, ImportError) as error:  # unparsable, or a driver not installed
        raise DatabaseUnavailable(f"cannot use the database URL {safe_url(url)}: "
                                  f"{error}") from None


def _sqlite_engine(url: str, synchronous: str) -> sa.Engine:
    if synchronous not in ("full", "normal"):
        raise ValueError(f"unknown SQLite synchronous mode {synchronous!r}")
    database = sa.engine.make_url(url).database
    if database and database != ":memory:":
        folder = Path(database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            reason = "it is a file, not a folder" if isinstance(error, FileExistsError) \
                else error.strerror or str(error)
            raise DatabaseUnavailable(f"cannot create the folder {folder} for the SQLite "
                                      f"database: {reason}") from None
    # LIFO: a thread gets back the connection it just used, whose page cache is still
    # valid when nobody else wrote since; a FIFO pool hands out the connection idle longest,
    # whose cache another connection's writes have made stale (its pages read again).
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                              pool_size=10, max_overflow=20, pool_use_lifo=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL syncs the WAL at each commit: a contact acknowledged to its sender survives a
        # power cut, as the "no contact lost" promise needs. NORMAL survives process crashes.
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Checkpoints run in the background (Checkpointer); this is only the backstop.
        cursor.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_CHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        write = connection.get_execution_options().get(_WRITE, False)
        # On the driver itself: SQLAlchemy's execution path (~40 µs) adds nothing to BEGIN.
        driver = connection.connection.driver_connection
        assert driver is not None
        driver.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


class Database:
    """One engine plus the two ways code touches it: read() and write()."""

    def __init__(self, url: str, sqlite_synchronous: str = "full") -> None:
        self.url = url
        self.engine = make_engine(url, sqlite_synchronous)
        self._write_engine = self.engine.execution_options(**{_WRITE: True})
        path = _sqlite_file(url)
        self._writer_lock = WriterLock(Path(f"{path}-writer.lock") if path else None)
        self._checkpointer = Checkpointer(self.engine if path else None)
        self._disposed = False
        event.listen(self.engine, "checkin", self._close_if_disposed)

    def _close_if_disposed(self, dbapi_connection: Any, record: Any) -> None:
        """A connection handed back after dispose() (a background thread was mid-query) or
        opened since is closed now: kept in a pool nobody disposes, it would stay open until
        the garbage collector found it."""
        if self._disposed and dbapi_connection is not None:
            record.invalidate()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction commits at the end of the block, or rolls back."""
        with (self._writer_lock.held(), Session(self._write_engine, expire_on_commit=False)
              as session, session.begin()):
            yield session
        self._checkpointer.wrote()

    def write_retrying(self, work: Callable[[Session], T], attempts: int = 6) -> T:
        """Run work(session) in one write transaction, again if a concurrent writer won a race.

        A unique-key collision (two intakes creating the same citizen) or a PostgreSQL
        serialisation failure rolls everything back; the retry then sees the winner's rows.
        """
        dbapi = self.engine.dialect.loaded_dbapi
        # Intake's fast statements run on the driver's cursor, so its errors arrive unwrapped.
        retry_on = (exc.IntegrityError, exc.OperationalError, dbapi.IntegrityError,
                    dbapi.OperationalError)
        for attempt in range(attempts):
            try:
                with self.write() as session:
                    return work(session)
            except retry_on as error:
                if attempt == attempts - 1 or not _is_retryable(error, dbapi.IntegrityError):
                    raise
                time.sleep(random.uniform(0, 0.01 * (attempt + 1)))
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self._disposed = True
        self._checkpointer.stop()
        self.engine.dispose()


def _sqlite_file(url: str) -> str | None:
    """The SQLite database file, or None: PostgreSQL has row locks and its own checkpoints,
    and an in-memory database lives in one process."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


def _is_retryable(error: Exception, driver_integrity_error: type[Exception]) -> bool:
    driver_error = getattr(error, "orig", None) or error
    if isinstance(driver_error, driver_integrity_error):
        return True
    code = getattr(driver_error, "sqlstate", None)
    # 40001 serialization_failure, 40P01 deadlock_detected; SQLite "database is locked".
    return code in ("40001", "40P01") or "locked" in str(driver_error)


def check_reachable(database: Database) -> None:
    """Open one connection, so a wrong host, port, database name or password (or a file that
    is no SQLite database) is one clear error rather than a traceback from deep inside."""
    try:
        with database.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except exc.DBAPIError as error:
        raise DatabaseUnavailable(f"cannot open the database {safe_url(database.url)}: "
                                  f"{_reason(error, database.url)}") from None


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(database: Database) -> None:
    """Bring the schema to the newest migration (safe to run on every start).

    Raises DatabaseUnavailable when the database cannot be reached or opened at all."""
    check_reachable(database)
    with database.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several nodes may start at once: one migrates, the others wait and find it done.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(727272)"))
        config = alembic_config(database.url)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


# Fast statements for the hot path (intake). Going through the ORM's unit of work costs about a
# millisecond a row; a cached Core statement on the transaction's connection a tenth of that.
_FAST_INSERTS: dict[tuple[sa.Table, bool], FastInsert] = {}


def connection_of(session: Session) -> sa.Connection:
    """The connection of the session's current transaction, looked up once per transaction
    (Session.connection() costs ~35 µs a call, and intake makes a dozen)."""
    transaction = session.get_transaction()
    cached = session.info.get("cc_connection")
    if cached is not None and transaction is not None and cached[0] is transaction:
        return cached[1]
    connection = session.connection()
    session.info["cc_connection"] = (session.get_transaction(), connection)
    return connection


def _fast_insert(model: Any, returning_id: bool) -> FastInsert:
    key = (model.__table__, returning_id)
    if key not in _FAST_INSERTS:
        _FAST_INSERTS[key] = FastInsert(model.__table__, returning_id)
    return _FAST_INSERTS[key]


def insert_returning_id(session: Session, model: Any, values: dict[str, Any]) -> int:
    new_id = _fast_insert(model, True).one(connection_of(session), values)
    assert new_id is not None
    return new_id


def insert_rows(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        _fast_insert(model, False).many(connection_of(session), rows)
