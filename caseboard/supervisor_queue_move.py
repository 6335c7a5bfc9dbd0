"""Moving a whole queue at once: a supervisor sends every waiting case of a department
(optionally only one service or channel, optionally also the cases agents hold) to another
department or to one agent.

Everything is checked before anything moves: an unknown department or service, a target that
is the same department or triage, an unknown or inactive agent, or one who does not belong to
the department is refused and nothing changes. The move is one transaction, each case audited
as it would be when moved by hand (a dispatch or transfer with the reason, or a release and an
assign), so the counters, reports and the case's own trail all see it.

Giving a queue to one agent is a supervisor's decision: presence and capacity, which push
assignment respects, are shown on the confirmation page but not enforced.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from caseboard import audit, workflow
from caseboard.assignment import WAITING_STATUSES, release
from caseboard.models import (
    Case,
    CaseStatus,
    Department,
    ServiceType,
    User,
    UserDepartment,
    table_of,
    utcnow,
)
from caseboard.timelimits import BusinessCalendar

SAMPLE = 20  # references listed on the confirmation page
MAX_REASON = 500


class QueueMoveError(ValueError):
    """The move cannot be done as asked; the message says why. Nothing was changed."""


@dataclass(frozen=True)
class QueueMove:
    department: str
    to_department: str = ""
    to_agent: str = ""
    service: str = ""
    channel: str = ""
    include_held: bool = False
    reason: str = ""

    @property
    def target(self) -> str:
        return self.to_department or self.to_agent

    def describe(self) -> str:
        """'housing (service pothole, email only)' for messages and the audit trail."""
        parts = [f"service {self.service}"] if self.service else []
        if self.channel:
            parts.append(f"{self.channel} only")
        return self.department + (f" ({', '.join(parts)})" if parts else "")


@dataclass(frozen=True)
class Preview:
    count: int
    held: int  # of which agents hold
    references: list[str]
    agent: User | None


def check(session: Session, move: QueueMove, triage_department: str) -> User | None:
    """Refuse a bad move with QueueMoveError; the agent it goes to, if it goes to one."""
    source = session.get(Department, move.department)
    if source is None:
        raise QueueMoveError(f"unknown department {move.department!r}")
    if move.service:
        service = session.get(ServiceType, move.service)
        if service is None or service.department_id != move.department:
            raise QueueMoveError(f"{move.department} has no service {move.service!r}")
    if bool(move.to_department) == bool(move.to_agent):
        raise QueueMoveError("choose either another department or an agent to move to")
    if move.to_department:
        _check_department(session, move, triage_department)
        return None
    return _check_agent(session, move)


def _check_department(session: Session, move: QueueMove, triage_department: str) -> None:
    target = session.get(Department, move.to_department)
    if target is None or not target.active:
        raise QueueMoveError(f"unknown department {move.to_department!r}")
    if move.to_department == move.department:
        raise QueueMoveError(f"the cases are already with {move.department}")
    if move.to_department == triage_department:
        raise QueueMoveError("cases go back to triage one by one, with a return reason")
    if not move.reason.strip():
        raise QueueMoveError("moving cases to another department needs a reason")


def _check_agent(session: Session, move: QueueMove) -> User:
    agent = session.execute(select(User).where(col(User.username) == move.to_agent)
                            ).scalar_one_or_none()
    if agent is None:
        raise QueueMoveError(f"unknown user {move.to_agent!r}")
    if not agent.active:
        raise QueueMoveError(f"{move.to_agent} is not active")
    if session.get(UserDepartment, (agent.id, move.department)) is None:
        raise QueueMoveError(f"{move.to_agent} is not in {move.department}")
    return agent


def _queue(session: Session, move: QueueMove, agent: User | None,
           lock: bool = False) -> list[Case]:
    """The waiting cases (and, if asked, the held ones) of the queue, oldest first; not those
    the agent it goes to already holds."""
    query = select(Case).where(col(Case.department_id) == move.department,
                               col(Case.status).in_(WAITING_STATUSES))
    if not move.include_held:
        query = query.where(col(Case.assigned_user_id).is_(None))
    elif agent is not None:
        query = query.where(sa.or_(col(Case.assigned_user_id).is_(None),
                                   col(Case.assigned_user_id) != agent.id))
    if move.service:
        query = query.where(col(Case.service_code) == move.service)
    if move.channel:
        query = query.where(col(Case.channel) == move.channel)
    query = query.order_by(col(Case.id))
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()  # nobody claims or moves them while they move
    return list(session.execute(query).scalars())


def preview(session: Session, move: QueueMove, triage_department: str) -> Preview:
    agent = check(session, move, triage_department)
    cases = _queue(session, move, agent)
    held = sum(1 for case in cases if case.assigned_user_id is not None)
    return Preview(len(cases), held, [c.reference for c in cases[:SAMPLE]], agent)


def move_queue(session: Session, move: QueueMove, actor: str, calendar: BusinessCalendar,
               triage_department: str, now: dt.datetime | None = None) -> int:
    """Move the queue; the number of cases moved. Raises QueueMoveError, changing nothing."""
    agent = check(session, move, triage_department)
    now = now or utcnow()
    reason = (f"{move.reason.strip()[:MAX_REASON]} " if move.reason.strip() else "")
    reason += f"(queue {move.describe()} moved by {actor})"
    cases = _queue(session, move, agent, lock=True)
    for case in cases:
        if agent is not None:
            _give(session, case, agent, actor, reason, now)
        else:
            action = "dispatch" if case.status == CaseStatus.NEW else "transfer"
            try:
                workflow.apply(session, case, action, actor, calendar=calendar,
                               channel="board", department=move.to_department,
                               reason=reason, triage_department=triage_department, now=now)
            except workflow.WorkflowError as error:  # rolls the whole move back
                raise QueueMoveError(f"{case.reference}: {error}") from error
    if agent is not None and cases:
        agent.last_assigned_at = now
        session.add(agent)
    return len(cases)


def _give(session: Session, case: Case, agent: User, actor: str, reason: str,
          now: dt.datetime) -> None:
    """Hand the case to the agent (from whoever held it), audited as an assignment."""
    if case.assigned_user_id is not None:
        release(session, case, actor, reason=reason)
    cases = table_of(Case)
    session.connection().execute(sa.update(cases).where(cases.c.id == case.id)
                                 .values(assigned_user_id=agent.id, updated_at=now))
    session.refresh(case)
    audit.record(session, case.id, actor, "assign", case.channel, to_user=agent.username,
                 reasons=[reason])
