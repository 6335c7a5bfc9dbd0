"""Which open cases are at risk of breaking a time limit, and which already have."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from caseboard.models import Case, CaseStatus
from caseboard.timelimits import BusinessCalendar, ClockState, clock_state

OPEN_STATUSES = tuple(s.value for s in CaseStatus
                      if s not in (CaseStatus.RESOLVED, CaseStatus.CLOSED))


@dataclass(frozen=True)
class ClockAlert:
    reference: str
    department: str
    clock: str  # "first_response" or "resolution"
    state: ClockState
    due: dt.datetime


def clock_alerts(session: Session, calendar: BusinessCalendar, now: dt.datetime,
                 at_risk_fraction: float, department: str | None = None) -> list[ClockAlert]:
    """Every at-risk or breached clock of an open case, most overdue first."""
    query = sa.select(Case).where(Case.status.in_(OPEN_STATUSES))  # type: ignore[attr-defined]
    if department:
        query = query.where(Case.department_id == department)  # type: ignore[arg-type]
    alerts = []
    for case in session.execute(query).scalars():
        clocks = [("resolution", case.resolution_due)]
        if case.first_response_at is None:
            clocks.insert(0, ("first_response", case.first_response_due))
        for name, due in clocks:
            if due is None:
                continue
            state = clock_state(calendar, case.created_at, due, now, None, at_risk_fraction,
                                paused_since=case.paused_since)
            if state in (ClockState.AT_RISK, ClockState.BREACHED):
                alerts.append(ClockAlert(case.reference, case.department_id, name, state, due))
    return sorted(alerts, key=lambda a: (a.state != ClockState.BREACHED, a.due))
