"""SQLite settings that the durability promise rests on, and how writers share the file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from caseboard.db import Database
from caseboard.sqlite_writes import WriterLock

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("mode, expected", [("full", 2), ("normal", 1)])
def test_sqlite_runs_in_wal_with_the_configured_durability(tmp_path: Path, mode: str,
                                                           expected: int) -> None:
    database = Database(f"sqlite:///{tmp_path / 'x.db'}", mode)
    try:
        with database.read() as session:
            assert session.execute(sa.text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert session.execute(sa.text("PRAGMA synchronous")).scalar_one() == expected
            assert session.execute(sa.text("PRAGMA foreign_keys")).scalar_one() == 1
    finally:
        database.dispose()


def test_unknown_durability_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous"):
        Database(f"sqlite:///{tmp_path / 'x.db'}", "off")


def test_a_forked_worker_waits_for_the_writer_lock_its_parent_holds(tmp_path: Path) -> None:
    # gunicorn forks its workers: a lock file opened before the fork would be shared with the
    # parent and exclude nobody.
    lock = WriterLock(tmp_path / "x.db-writer.lock")
    with lock.held():
        pass  # the parent has opened the lock file
    read_end, write_end = os.pipe()
    with lock.held():
        child = os.fork()
        if child == 0:  # pragma: no cover (the child's coverage is not collected)
            try:
                with lock.held():
                    os.write(write_end, repr(time.monotonic()).encode())
            finally:
                os._exit(0)
        time.sleep(0.5)
        released_at = time.monotonic()
    os.waitpid(child, 0)
    entered_at = float(os.read(read_end, 100))
    os.close(read_end)
    os.close(write_end)
    assert entered_at >= released_at


def test_writers_in_several_processes_all_commit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    database = Database(url)
    with database.write() as session:
        session.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)"))
    script = (
        "import sys, sqlalchemy as sa\n"
        "from caseboard.db import Database\n"
        "db = Database(sys.argv[1])\n"
        "for i in range(100):\n"
        "    with db.write() as s:\n"
        "        s.execute(sa.text('INSERT INTO t (who) VALUES (:w)'), {'w': sys.argv[2]})\n"
        "db.dispose()\n")
    workers = [subprocess.Popen([sys.executable, "-c", script, url, f"w{n}"], cwd=ROOT)
               for n in range(4)]
    assert [worker.wait(120) for worker in workers] == [0, 0, 0, 0]
    with database.read() as session:
        counts = {who: count for who, count in session.execute(
            sa.text("SELECT who, count(*) FROM t GROUP BY who"))}
    database.dispose()
    assert counts == {f"w{n}": 100 for n in range(4)}
    assert (tmp_path / "x.db-writer.lock").exists()


def test_the_wal_is_copied_into_the_database_file_soon_after_a_write(tmp_path: Path) -> None:
    # Not inside a later writer's commit: by a background checkpoint, with no further write.
    database = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with database.write() as session:
            session.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)"))
        with database.write() as session:
            session.execute(sa.text("INSERT INTO t (body) VALUES (:b)"),
                            [{"b": "x" * 500} for _ in range(2000)])
        size_after_commit = (tmp_path / "x.db").stat().st_size
        deadline = time.monotonic() + 10
        while (tmp_path / "x.db").stat().st_size < 1_000_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert size_after_commit < 1_000_000 <= (tmp_path / "x.db").stat().st_size
        with database.read() as session:
            assert session.execute(sa.text("SELECT count(*) FROM t")).scalar_one() == 2000
    finally:
        database.dispose()


def _is_closed(raw: Any) -> bool:
    if isinstance(raw, sqlite3.Connection):
        try:
            raw.execute("SELECT 1")
        except sqlite3.ProgrammingError:
            return True
        return False
    return bool(raw.closed)


def test_a_connection_handed_back_after_dispose_is_closed_not_left_to_the_collector(
        db_url: str) -> None:
    # A background thread (the chat feed) can be mid-query when the app shuts its database;
    # its connection would otherwise sit open in a pool nobody disposes.
    database = Database(db_url)
    with database.read() as session:
        session.execute(sa.text("SELECT 1"))
        busy = session.connection().connection.dbapi_connection
        database.dispose()
        assert not _is_closed(busy)
    assert _is_closed(busy)
    with database.read() as session:  # still usable, but no longer pooled
        assert session.execute(sa.text("SELECT 1")).scalar_one() == 1
        late = session.connection().connection.dbapi_connection
    assert _is_closed(late)


def test_a_thread_writing_again_gets_the_connection_it_just_used(tmp_path: Path) -> None:
    """Its page cache is still valid then; the connection idle longest has a stale one."""
    database = Database(f"sqlite:///{tmp_path / 'cc.db'}")
    with database.write() as first, database.read() as other:  # two connections checked out
        used = first.connection().connection.driver_connection
        assert other.connection().connection.driver_connection is not used
    for _ in range(3):
        with database.write() as session:
            assert session.connection().connection.driver_connection is used
    database.dispose()
