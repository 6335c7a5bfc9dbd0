"""Reading the audit trail as a feed: each consumer folds new events exactly once.

A consumer (the dashboard counters, the survey sender) keeps its last event id in an
AuditCursor row. A batch is read and folded in the same transaction that moves the cursor, with
the cursor row locked (PostgreSQL: FOR UPDATE SKIP LOCKED, so a second worker skips instead
of waiting; SQLite: the write transaction itself is exclusive). Either the batch's effects and
the new cursor commit together or neither does: no event is folded twice or lost.

Ids are handed out before commit, so on PostgreSQL an event may become visible after a later
one. The feed stops at a gap in the ids and only steps over it once the event after the gap is
GAP_SECONDS old (a rolled-back transaction leaves a gap for ever).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from caseboard.db import Database
from caseboard.models import AuditEvent, utcnow
from caseboard.supervisor_models import AuditCursor

GAP_SECONDS = 10.0

Fold = Callable[[Session, list[AuditEvent]], None]


def ensure_cursor(session: Session, name: str) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(AuditCursor.__table__).values(  # type: ignore[attr-defined]
        name=name, last_event_id=0).on_conflict_do_nothing()
    session.execute(statement)


def lock_cursor(session: Session, name: str, is_sqlite: bool,
                wait: bool = False) -> AuditCursor | None:
    query = select(AuditCursor).where(col(AuditCursor.name) == name)
    if not is_sqlite:
        query = query.with_for_update(skip_locked=not wait)
    return session.execute(query).scalar_one_or_none()


def _contiguous(events: list[AuditEvent], last_id: int, now: dt.datetime) -> list[AuditEvent]:
    """The events up to the first young gap in the ids."""
    kept: list[AuditEvent] = []
    expected = last_id + 1
    for event in events:
        assert event.id is not None
        if event.id != expected and (now - event.at).total_seconds() < GAP_SECONDS:
            break
        kept.append(event)
        expected = event.id + 1
    return kept


def fold_next(database: Database, name: str, fold: Fold, batch: int = 500) -> bool:
    """Fold the next batch of events for consumer `name`; True when more may be waiting."""
    with database.read() as session:  # idle polls stay read-only: no write lock taken
        newest = session.execute(sa.select(sa.func.max(AuditEvent.id))).scalar_one() or 0
        if newest <= cursor_position(session, name):
            return False
    with database.write() as session:
        cursor = lock_cursor(session, name, database.is_sqlite)
        if cursor is None:  # missing (first run), or another worker is folding right now
            ensure_cursor(session, name)
            cursor = lock_cursor(session, name, database.is_sqlite)
            if cursor is None:
                return False
        events = list(session.execute(
            select(AuditEvent).where(col(AuditEvent.id) > cursor.last_event_id)
            .order_by(col(AuditEvent.id)).limit(batch)).scalars())
        ready = _contiguous(events, cursor.last_event_id, utcnow())
        if not ready:
            return False
        fold(session, ready)
        last = ready[-1].id
        assert last is not None
        session.execute(sa.update(AuditCursor).where(col(AuditCursor.name) == name)
                        .values(last_event_id=last, updated_at=utcnow()))
        return len(ready) == batch


def fold_all(database: Database, name: str, fold: Fold, batch: int = 500) -> None:
    """Catch up completely (tests, the bench, a fresh installation)."""
    while fold_next(database, name, fold, batch):
        pass


def cursor_position(session: Session, name: str) -> int:
    value = session.execute(select(AuditCursor.last_event_id)
                            .where(col(AuditCursor.name) == name)).scalar_one_or_none()
    return int(value or 0)
