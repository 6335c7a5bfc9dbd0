"""Intake's fast inserts: several rows in one multi-row statement, on both databases."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from caseboard import fastsql
from caseboard.db import Database, insert_rows, migrate
from caseboard.models import AuditEvent


def test_many_rows_go_in_whole_and_in_order_across_statements(db_url: str) -> None:
    database = Database(db_url)
    migrate(database)
    columns = len(AuditEvent.__table__.columns) - 1  # type: ignore[attr-defined]
    per_statement = fastsql._MAX_PARAMETERS // columns
    count = 2 * per_statement + 7  # three statements, the last one short
    at = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
    rows = [{"case_id": None, "at": at + dt.timedelta(seconds=i), "actor": f"agent{i}",
             "channel": "web", "action": "noted", "details": {"n": i, "text": "路灯"}}
            for i in range(count)]
    try:
        with database.write() as session:
            insert_rows(session, AuditEvent, rows)
        with database.read() as session:
            stored = session.execute(sa.select(
                AuditEvent.id, AuditEvent.actor, AuditEvent.at, AuditEvent.details,  # type: ignore[call-overload]
            ).order_by(AuditEvent.id)).all()
    finally:
        database.dispose()
    assert len(stored) == count
    assert [row.actor for row in stored] == [f"agent{i}" for i in range(count)]
    last = stored[-1]
    assert last.details == {"n": count - 1, "text": "路灯"}
    assert last.at.replace(tzinfo=dt.UTC) == at + dt.timedelta(seconds=count - 1)


def test_a_bad_row_among_many_stores_none_of_them(db_url: str) -> None:
    database = Database(db_url)
    migrate(database)
    good: dict[str, object] = {"case_id": None, "at": dt.datetime.now(dt.UTC), "actor": "a",
                               "channel": "", "action": "noted", "details": {}}
    try:
        try:
            with database.write() as session:
                insert_rows(session, AuditEvent, [good, dict(good, case_id=999_999)])
        except Exception as error:  # the foreign key refuses the second row
            assert "foreign key" in str(error).lower() or "FOREIGN KEY" in str(error)
        else:
            raise AssertionError("a row pointing at no case was stored")
        with database.read() as session:
            assert session.execute(sa.text("SELECT count(*) FROM audit_event")).scalar_one() == 0
    finally:
        database.dispose()
