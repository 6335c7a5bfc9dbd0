"""The time-limit monitor: reminders, escalations and deadline extensions.

As in a 12345 hotline's supervision steps: when a case's clock turns at risk, the agent holding
it is reminded (催办); when it breaks its limit, the supervisors get an escalation (督办).
Alerts are stored rows, raised once per case and deadline (a unique key, so two monitors on
one database never raise one twice), and cleared when the case is done or its deadline moves.
The monitor reads OpenCaseState (kept by the dashboard counters), an index range scan.

It also keeps the dashboard's at-risk and breach counters: a clock crossing its risk or breach
moment is no audit event, so count_crossings() moves exactly the cases whose moment has passed
since they were last counted (the (counted, moment) indexes) from one counter to the next.
Uncounting (a case resolved, a deadline extended) happens in the counter folder, which sees
those changes as events.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from caseboard import audit
from caseboard.dashboard_counters import CLOCK_METRICS, add_counts
from caseboard.db import Database
from caseboard.models import Case, utcnow
from caseboard.supervisor_models import (
    COUNTED_AT_RISK,
    COUNTED_BREACHED,
    NOT_COUNTED,
    DeadlineExtension,
    LiveCounter,
    OpenCaseState,
    SupervisorAlert,
)
from caseboard.timelimits import BusinessCalendar

BATCH = 200
MAX_EXTENSION_HOURS = 24 * 30


class ExtensionError(ValueError):
    """The extension cannot be requested or decided as asked; the message says why."""


def _mark(state: type[OpenCaseState] = OpenCaseState) -> sa.ColumnElement[dt.datetime]:
    """The deadline an alert is about: the breach moment, or the risk moment if paused."""
    return sa.func.coalesce(col(state.breach_at), col(state.risk_at))


class TimeLimitMonitor:
    def __init__(self, database: Database) -> None:
        self.database = database

    def step(self, now: dt.datetime | None = None) -> bool:
        """Count clocks that crossed, raise due reminders and escalations, clear stale ones;
        True if more are due."""
        now = now or utcnow()
        crossed = self.count_step(now)
        with self.database.write() as session:
            _clear_stale(session)
            escalated = self._raise(session, "escalation", now)
            reminded = self._raise(session, "reminder", now)
        return crossed or max(escalated, reminded) >= BATCH

    def count_step(self, now: dt.datetime | None = None) -> bool:
        """One batch of count_crossings in its own transaction; True if more have crossed."""
        now = now or utcnow()
        with self.database.write() as session:
            return count_crossings(session, now, self.database.is_sqlite) >= BATCH

    def _raise(self, session: Session, kind: str, now: dt.datetime) -> int:
        already = (select(SupervisorAlert.id)
                   .where(col(SupervisorAlert.case_id) == OpenCaseState.case_id,
                          col(SupervisorAlert.kind) == kind,
                          col(SupervisorAlert.due) == _mark()).exists())
        if kind == "escalation":
            due_now = sa.and_(col(OpenCaseState.breach_at).is_not(None),
                              col(OpenCaseState.breach_at) < now)
        else:
            due_now = col(OpenCaseState.risk_at) <= now
        rows = session.execute(
            select(OpenCaseState.case_id, OpenCaseState.held_by, _mark(), Case.reference)
            .join(Case, col(Case.id) == OpenCaseState.case_id)
            .where(due_now, ~already).limit(BATCH)).all()
        for case_id, held_by, mark, reference in rows:
            to_user = held_by if kind == "reminder" else None
            text = (f"{reference} is at risk of breaking its time limit" if kind == "reminder"
                    else f"{reference} has broken its time limit")
            if _insert_once(session, case_id, kind, mark, to_user, text, now):
                audit.record(session, case_id, "system", f"timelimit_{kind}", "",
                             due=mark.isoformat() if mark else None, to_user_id=to_user)
        return len(rows)


# (counted before, the moment that moves it on, counted after): breaches first, so a case
# that went straight past both moments is counted once, as breached.
_CROSSINGS = ((COUNTED_AT_RISK, OpenCaseState.breach_at, COUNTED_BREACHED),
              (NOT_COUNTED, OpenCaseState.breach_at, COUNTED_BREACHED),
              (NOT_COUNTED, OpenCaseState.risk_at, COUNTED_AT_RISK))


def count_crossings(session: Session, now: dt.datetime, is_sqlite: bool,
                    batch: int = BATCH) -> int:
    """Move up to `batch` cases per crossing whose clock passed its risk or breach moment to
    their new counter; the number moved. Rows the counter folder is refolding are skipped
    (it counts them itself, as of its own now) and picked up by the next pass."""
    deltas: Counter[tuple[str, str, str]] = Counter()
    moved = 0
    for before, moment, after in _CROSSINGS:
        passed = (col(moment) < now) if after == COUNTED_BREACHED else (col(moment) <= now)
        query = (select(OpenCaseState.case_id, OpenCaseState.department_id,
                        OpenCaseState.channel)
                 .where(col(OpenCaseState.counted) == before, passed).limit(batch))
        if not is_sqlite:
            query = query.with_for_update(skip_locked=True)
        rows = session.execute(query).all()
        if not rows:
            continue
        session.execute(sa.update(OpenCaseState)
                        .where(col(OpenCaseState.case_id).in_([r.case_id for r in rows]))
                        .values(counted=after).execution_options(synchronize_session=False))
        for _case_id, department, channel in rows:
            if before in CLOCK_METRICS:
                deltas[(CLOCK_METRICS[before], department, channel)] -= 1
            deltas[(CLOCK_METRICS[after], department, channel)] += 1
        moved = max(moved, len(rows))
    add_counts(session, LiveCounter, ("metric", "department_id", "channel"), deltas)
    return moved


def _insert_once(session: Session, case_id: int, kind: str, due: dt.datetime | None,
                 to_user: int | None, message: str, now: dt.datetime) -> bool:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = SupervisorAlert.__table__  # type: ignore[attr-defined]
    statement = insert(table).values(
        case_id=case_id, kind=kind, due=due, to_user_id=to_user, message=message,
        raised_at=now, resolved=False).on_conflict_do_nothing()
    result: Any = session.execute(statement)
    return bool(result.rowcount)


def _clear_stale(session: Session) -> None:
    """Time-limit alerts of cases that are done, or whose deadline has since moved."""
    current = (select(OpenCaseState.case_id)
               .where(col(OpenCaseState.case_id) == SupervisorAlert.case_id,
                      _mark() == col(SupervisorAlert.due)).exists())
    session.execute(sa.update(SupervisorAlert)
                    .where(col(SupervisorAlert.resolved).is_(False),
                           col(SupervisorAlert.kind).in_(("reminder", "escalation")),
                           ~current)
                    .values(resolved=True).execution_options(synchronize_session=False))


def resolve_alert(session: Session, alert_id: int, actor: str) -> None:
    alert = session.get(SupervisorAlert, alert_id)
    if alert is None or alert.resolved:
        return
    alert.resolved = True
    session.add(alert)
    audit.record(session, alert.case_id, actor, "alert_resolved", "board", kind=alert.kind)


# ---------------------------------------------------------------- deadline extensions


def request_extension(session: Session, case: Case, username: str, hours: float,
                      reason: str, now: dt.datetime | None = None) -> DeadlineExtension:
    if not 0 < hours <= MAX_EXTENSION_HOURS:
        raise ExtensionError(f"hours must be between 0 and {MAX_EXTENSION_HOURS}")
    if not reason.strip():
        raise ExtensionError("an extension needs a reason")
    if case.resolved_at is not None or case.closed_at is not None:
        raise ExtensionError(f"{case.reference} is already resolved")
    pending = session.execute(select(DeadlineExtension.id).where(
        col(DeadlineExtension.case_id) == case.id,
        col(DeadlineExtension.status) == "pending")).first()
    if pending is not None:
        raise ExtensionError(f"{case.reference} already has a pending extension request")
    now = now or utcnow()
    assert case.id is not None
    extension = DeadlineExtension(case_id=case.id, requested_by=username, hours=hours,
                                  reason=reason.strip()[:500], created_at=now)
    session.add(extension)
    session.flush()
    audit.record(session, case.id, username, "extension_requested", "board", hours=hours,
                 reason=extension.reason, extension_id=extension.id)
    return extension


def decide_extension(session: Session, extension_id: int, supervisor: str, approve: bool,
                     calendar: BusinessCalendar, now: dt.datetime | None = None) -> Case:
    """Approve (the resolution deadline moves by the working hours asked) or refuse."""
    extension = session.get(DeadlineExtension, extension_id)
    if extension is None or extension.status != "pending":
        raise ExtensionError("no such pending extension request")
    case = session.get(Case, extension.case_id)
    assert case is not None
    now = now or utcnow()
    extension.status = "approved" if approve else "refused"
    extension.decided_by, extension.decided_at = supervisor, now
    session.add(extension)
    details: dict[str, object] = {"extension_id": extension.id, "hours": extension.hours,
                                  "requested_by": extension.requested_by}
    if approve and case.resolution_due is not None:
        before = case.resolution_due
        case.resolution_due = calendar.add_working_time(before, extension.hours * 3600)
        case.updated_at = now
        session.add(case)
        details.update(from_due=before.isoformat(), to_due=case.resolution_due.isoformat())
    session.flush()
    audit.record(session, case.id, supervisor,
                 "deadline_extended" if approve else "extension_refused", "board", **details)
    return case
