"""The dashboard's counters, folded incrementally from the audit trail (caseboard/audit_feed).

Every change to a case writes an audit event, so the events name the cases that changed. For
each such case the folder reads its current row (by primary key) and compares it with what it
last counted (OpenCaseState): the difference moves the live counters (open and waiting cases
per department and channel, each agent's load, the cases at risk and in breach as of the
fold). Events that count something happening (a contact, a return, a resolution) add to
per-day counters. Nothing recounts all cases.

A clock crossing into at risk or breach is no event: the time-limit monitor moves those cases'
`counted` on and the at-risk / breach counters with it (timelimit_monitor.count_crossings). On
PostgreSQL the folder locks the OpenCaseState rows it refolds and the monitor skips locked
ones, so a case is never counted by both; counter rows are always upserted in key order, so
the two cannot deadlock.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from caseboard.assignment import HELD_STATUSES, WAITING_STATUSES
from caseboard.audit_feed import ensure_cursor, fold_all, fold_next, lock_cursor
from caseboard.db import Database
from caseboard.models import AuditEvent, Case, CaseStatus, table_of, utcnow
from caseboard.supervisor_models import (
    COUNTED_AT_RISK,
    COUNTED_BREACHED,
    NOT_COUNTED,
    AgentLoad,
    AuditCursor,
    DailyCounter,
    LiveCounter,
    OpenCaseState,
)
from caseboard.timelimits import BusinessCalendar
from routing.assignment import capacity_group

CURSOR = "dashboard"
DONE = (CaseStatus.RESOLVED, CaseStatus.CLOSED)
_cases = table_of(Case)
_CASE_COLUMNS = [_cases.c[name] for name in (
    "id", "status", "department_id", "channel", "assigned_user_id", "created_at",
    "first_response_due", "first_response_at", "resolution_due", "paused_since")]

Key = tuple[Any, ...]
# OpenCaseState.counted → the LiveCounter metric it is counted in
CLOCK_METRICS = {COUNTED_AT_RISK: "at_risk", COUNTED_BREACHED: "breached"}


class CounterFolder:
    """Folds audit events into the counter tables; one instance per process is enough."""

    def __init__(self, database: Database, calendar: BusinessCalendar,
                 at_risk_fraction: float,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.database = database
        self.calendar = calendar
        self.fraction = at_risk_fraction
        self.tz: ZoneInfo = calendar.tz
        self.clock = clock  # "now" for the at-risk / breach state of a refolded case

    def step(self) -> bool:
        """One batch (the worker's job); True when more events are waiting."""
        return fold_next(self.database, CURSOR, self.fold)

    def catch_up(self) -> None:
        fold_all(self.database, CURSOR, self.fold)

    def rebuild(self) -> None:
        """Count the open cases afresh and start folding after the newest event: for an
        installation that had cases before these counters existed (per-day history is not
        backfilled). Takes the cursor lock like a fold, so workers wait or skip meanwhile."""
        with self.database.write() as session:
            ensure_cursor(session, CURSOR)
        with self.database.write() as session:
            lock_cursor(session, CURSOR, self.database.is_sqlite, wait=True)
            for model in (OpenCaseState, LiveCounter, AgentLoad):
                session.execute(sa.delete(model))
            live: Counter[Key] = Counter()
            loads: Counter[Key] = Counter()
            states = []
            now = self.clock()
            for row in session.execute(sa.select(*_CASE_COLUMNS).where(
                    _cases.c.status.not_in([s.value for s in DONE]))):
                state = self._state_of(row, now)
                if state is not None:
                    _tally(state, +1, live, loads)
                    states.append(state)
            session.add_all(states)
            session.flush()
            add_counts(session, LiveCounter, ("metric", "department_id", "channel"), live)
            add_counts(session, AgentLoad, ("user_id", "work"), loads)
            last = session.execute(sa.select(sa.func.max(AuditEvent.id))).scalar_one() or 0
            session.execute(sa.update(AuditCursor).where(col(AuditCursor.name) == CURSOR)
                            .values(last_event_id=last))

    def fold(self, session: Session, events: list[AuditEvent]) -> None:
        case_ids = {e.case_id for e in events if e.case_id is not None}
        rows = {r.id: r for r in session.execute(
            sa.select(*_CASE_COLUMNS).where(_cases.c.id.in_(case_ids)))} if case_ids else {}
        live: Counter[Key] = Counter()
        loads: Counter[Key] = Counter()
        daily: Counter[Key] = Counter()
        self._refold_cases(session, case_ids, rows, live, loads)
        for event in events:
            self._count_event(event, rows, daily)
        add_counts(session, LiveCounter, ("metric", "department_id", "channel"), live)
        add_counts(session, AgentLoad, ("user_id", "work"), loads)
        add_counts(session, DailyCounter, ("day", "hour", "metric", "department_id", "channel"),
                   daily)
        self._snapshot_backlog(session, max(e.at for e in events))

    # ------------------------------------------------------------ current state per case

    def _refold_cases(self, session: Session, case_ids: set[int], rows: dict[int, Any],
                      live: Counter[Key], loads: Counter[Key]) -> None:
        if not case_ids:
            return
        # Locked, so the monitor cannot move `counted` on between this read and the commit.
        known = {s.case_id: s for s in session.execute(
            select(OpenCaseState).where(col(OpenCaseState.case_id).in_(case_ids))
            .order_by(col(OpenCaseState.case_id)).with_for_update()).scalars()}
        now = self.clock()
        for case_id in sorted(case_ids):
            old = known.get(case_id)
            new = self._state_of(rows.get(case_id), now)
            if old is not None:
                _tally(old, -1, live, loads)
            if new is not None:
                _tally(new, +1, live, loads)
            if old is not None and new is None:
                session.delete(old)
            elif new is not None and old is None:
                session.add(new)
            elif new is not None and old is not None:
                for name in ("department_id", "channel", "waiting", "held_by", "created_at",
                             "risk_at", "breach_at", "counted"):
                    setattr(old, name, getattr(new, name))
        session.flush()

    def _state_of(self, row: Any, now: dt.datetime) -> OpenCaseState | None:
        if row is None or row.status in DONE:
            return None
        waiting = row.assigned_user_id is None and row.status in WAITING_STATUSES
        held_by = row.assigned_user_id if row.status in HELD_STATUSES else None
        risk_at, breach_at = self._clock_marks(row)
        return OpenCaseState(case_id=row.id, department_id=row.department_id,
                             channel=row.channel, waiting=waiting, held_by=held_by,
                             created_at=row.created_at, risk_at=risk_at, breach_at=breach_at,
                             counted=clock_count(risk_at, breach_at, now))

    def _clock_marks(self, row: Any) -> tuple[dt.datetime | None, dt.datetime | None]:
        """When the earliest running clock turns at risk and when one breaks (as clock_state
        judges them; a paused clock is judged at the moment it was paused)."""
        dues = [row.resolution_due]
        if row.first_response_at is None:
            dues.insert(0, row.first_response_due)
        risks: list[dt.datetime] = []
        breaches: list[dt.datetime] = []
        for due in filter(None, dues):
            allowed = self.calendar.working_seconds_between(row.created_at, due)
            risk = self.calendar.add_working_time(row.created_at, self.fraction * allowed)
            risk = min(risk, due)
            paused = row.paused_since
            if paused is not None and paused <= due:
                if risk <= paused:
                    risks.append(risk)
                continue  # a paused clock cannot break its limit
            risks.append(risk)
            breaches.append(due)
        return min(risks, default=None), min(breaches, default=None)

    # ------------------------------------------------------------ things that happened

    def _count_event(self, event: AuditEvent, rows: dict[int, Any],
                     daily: Counter[Key]) -> None:
        local = event.at.astimezone(self.tz)
        day, hour = local.date(), local.hour
        row = rows.get(event.case_id) if event.case_id is not None else None
        department = row.department_id if row is not None else ""
        channel = row.channel if row is not None else event.channel
        if event.action in ("created", "message_received"):
            daily[(day, hour, "contacts", "", event.channel or channel)] += 1
        if event.action == "created":
            # A contact may be filed after it arrived (a letter scanned later): count it on
            # the day the case says it was opened.
            opened = row.created_at.astimezone(self.tz).date() if row is not None else day
            daily[(opened, -1, "created", department, channel)] += 1
        elif event.action == "return":
            returned_by = str(event.details.get("from_department") or department)
            daily[(day, -1, "returns", returned_by, channel)] += 1
        elif event.action == "resolve" and row is not None:
            on_time = row.resolution_due is None or event.at <= row.resolution_due
            metric = "resolved_on_time" if on_time else "resolved_late"
            daily[(day, -1, metric, department, channel)] += 1

    def _snapshot_backlog(self, session: Session, at: dt.datetime) -> None:
        """Today's open cases (the backlog trend keeps the last value of each day)."""
        total = session.execute(select(sa.func.coalesce(sa.func.sum(LiveCounter.value), 0))
                                .where(col(LiveCounter.metric) == "open")).scalar_one()
        key = {"day": at.astimezone(self.tz).date(), "hour": -1, "metric": "backlog",
               "department_id": "", "channel": ""}
        _upsert(session, DailyCounter, key, int(total), add=False)


def clock_count(risk_at: dt.datetime | None, breach_at: dt.datetime | None,
                now: dt.datetime) -> int:
    """What a case with these moments counts as at `now` (as the dashboard has always judged
    it: at risk from risk_at on, in breach once breach_at has passed)."""
    if breach_at is not None and breach_at < now:
        return COUNTED_BREACHED
    if risk_at is not None and risk_at <= now:
        return COUNTED_AT_RISK
    return NOT_COUNTED


def _tally(state: OpenCaseState, sign: int, live: Counter[Key], loads: Counter[Key]) -> None:
    live[("open", state.department_id, state.channel)] += sign
    if state.waiting:
        live[("waiting", state.department_id, state.channel)] += sign
    if state.counted in CLOCK_METRICS:
        live[(CLOCK_METRICS[state.counted], state.department_id, state.channel)] += sign
    if state.held_by is not None:
        loads[(state.held_by, capacity_group(state.channel))] += sign


def add_counts(session: Session, model: Any, key_names: tuple[str, ...],
               deltas: Counter[Key]) -> None:
    """Move counter rows by deltas, in key order (see the module's note on deadlocks)."""
    for key, delta in sorted(deltas.items(), key=lambda item: repr(item[0])):
        if delta:
            _upsert(session, model, dict(zip(key_names, key, strict=True)), delta, add=True)


def _upsert(session: Session, model: Any, key: dict[str, Any], value: int, add: bool) -> None:
    """value (add=False) or value + delta (add=True) for one counter row. Adding is one
    atomic statement (the row is locked while it changes), so the folder and the time-limit
    monitor may both move a counter."""
    table = model.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(**key, value=value)
    new_value = table.c.value + statement.excluded.value if add else statement.excluded.value
    session.execute(statement.on_conflict_do_update(index_elements=list(key),
                                                    set_={"value": new_value}))
