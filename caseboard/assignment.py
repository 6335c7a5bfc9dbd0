"""Giving cases to agents: push (the system assigns) and pull (an agent claims the next case).

The choice itself is routing.assignment.pick_agent (pure). Here: reading agents' presence,
skills and load from the database, and taking a case atomically, so two agents can never hold
the same case: the assignment is a conditional UPDATE that only succeeds while the case is
still unassigned.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from caseboard import audit
from caseboard.db import Database
from caseboard.models import Case, CaseStatus, User, UserDepartment, table_of, utcnow
from routing.assignment import (
    DEFAULT_CAPACITY,
    AgentState,
    WorkItem,
    capacity_group,
    pick_agent,
    why_not,
)
from settings import Config

# Cases an agent is actively working on count against capacity; cases waiting for the
# citizen or already answered do not.
HELD_STATUSES = (CaseStatus.DISPATCHED, CaseStatus.ACCEPTED, CaseStatus.IN_PROGRESS)
WAITING_STATUSES = (CaseStatus.NEW, CaseStatus.DISPATCHED, CaseStatus.ACCEPTED,
                    CaseStatus.IN_PROGRESS)
PRIORITY_ORDER = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
PRESENCES = ("available", "busy", "away", "offline")


class AssignmentError(ValueError):
    """The case cannot be given to that agent; the message says why."""


@dataclass(frozen=True)
class Assignment:
    reference: str
    username: str
    reasons: tuple[str, ...]


def agent_states(session: Session, config: Config, department: str | None = None
                 ) -> list[AgentState]:
    """Every active agent (of a department), with their load counted from open cases."""
    users = session.execute(select(User).where(col(User.active))).scalars().all()
    memberships: dict[int, set[str]] = defaultdict(set)
    for user_id, dep in session.execute(select(UserDepartment.user_id,
                                               UserDepartment.department_id)):
        memberships[user_id].add(dep)
    load: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    held = session.execute(
        select(Case.assigned_user_id, Case.channel, sa.func.count())
        .where(col(Case.assigned_user_id).is_not(None), col(Case.status).in_(HELD_STATUSES))
        .group_by(col(Case.assigned_user_id), col(Case.channel)))
    for user_id, channel, count in held:
        load[user_id][capacity_group(channel)] += count
    defaults = {**DEFAULT_CAPACITY, **config.assignment_capacity}
    states = []
    for user in users:
        assert user.id is not None
        if department and department not in memberships[user.id]:
            continue
        idle_since = max(filter(None, (user.presence_since, user.last_assigned_at)))
        states.append(AgentState(
            user_id=user.id, username=user.username,
            departments=frozenset(memberships[user.id]), skills=frozenset(user.skills),
            languages=frozenset(user.languages), presence=user.presence,
            capacity={**defaults, **user.capacity}, load=dict(load[user.id]),
            idle_since=idle_since))
    return states


def _item(session: Session, case: Case) -> WorkItem:
    previous = session.execute(
        select(Case.assigned_user_id)
        .where(col(Case.citizen_id) == case.citizen_id, col(Case.id) != case.id,
               col(Case.assigned_user_id).is_not(None))
        .order_by(col(Case.id).desc()).limit(1)).scalar_one_or_none()
    return WorkItem(case.department_id, case.service_code, case.language, case.channel,
                    previous)


def assign(session: Session, case: Case, agent: AgentState, actor: str,
           reasons: tuple[str, ...] = (), now: dt.datetime | None = None) -> None:
    """Give the case to the agent, or raise AssignmentError if someone else got it first."""
    problem = why_not(agent, _item(session, case))
    if problem:
        raise AssignmentError(problem)
    now = now or utcnow()
    cases = table_of(Case)
    taken = session.connection().execute(
        sa.update(cases).where(cases.c.id == case.id, cases.c.assigned_user_id.is_(None))
        .values(assigned_user_id=agent.user_id, updated_at=now))
    if taken.rowcount != 1:
        raise AssignmentError(f"{case.reference} is already held by another agent")
    users = table_of(User)
    session.connection().execute(sa.update(users).where(users.c.id == agent.user_id)
                                 .values(last_assigned_at=now))
    session.refresh(case)
    audit.record(session, case.id, actor, "assign", case.channel, to_user=agent.username,
                 reasons=list(reasons))


def release(session: Session, case: Case, actor: str, reason: str = "") -> None:
    if case.assigned_user_id is None:
        raise AssignmentError(f"{case.reference} is not assigned")
    case.assigned_user_id = None
    case.updated_at = utcnow()
    session.add(case)
    session.flush()
    audit.record(session, case.id, actor, "release", case.channel, reason=reason)


def _waiting_cases(session: Session, departments: set[str], limit: int) -> list[Case]:
    """Unassigned open cases of these departments, most urgent first (priority, then due)."""
    query = (select(Case)
             .where(col(Case.assigned_user_id).is_(None),
                    col(Case.status).in_(WAITING_STATUSES),
                    col(Case.department_id).in_(departments))
             .limit(limit))
    cases = list(session.execute(query).scalars())
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(cases, key=lambda c: (PRIORITY_ORDER.get(c.priority, 9),
                                        c.first_response_due or far, c.id))


def claim_next(database: Database, config: Config, username: str) -> Assignment | None:
    """Pull: the most urgent waiting case this agent may take, now held by them."""
    with database.write() as session:
        agent = next((a for a in agent_states(session, config) if a.username == username), None)
        if agent is None:
            raise AssignmentError(f"unknown or inactive user {username!r}")
        for case in _waiting_cases(session, set(agent.departments), limit=200):
            if why_not(agent, _item(session, case)) is None:
                reasons = (f"{username} claimed the most urgent case they can take",)
                assign(session, case, agent, username, reasons)
                return Assignment(case.reference, username, reasons)
    return None


def assign_waiting(database: Database, config: Config, departments: set[str] | None = None,
                   limit: int = 500) -> list[Assignment]:
    """Push: give waiting cases of push-mode departments to qualified agents with room."""
    push = {d.id for d in config.departments if d.assignment == "push"}
    targets = push & departments if departments is not None else push
    if not targets:
        return []
    done: list[Assignment] = []
    with database.write() as session:
        states: dict[str, list[AgentState]] = {}
        for case in _waiting_cases(session, targets, limit):
            department = case.department_id
            if department not in states:
                states[department] = agent_states(session, config, department)
            if not any(a.presence == "available" for a in states[department]):
                continue  # nobody there: don't look further into this department's cases
            choice = pick_agent(_item(session, case), states[department])
            if choice is not None:
                assign(session, case, choice.agent, "system", choice.reasons)
                done.append(Assignment(case.reference, choice.agent.username, choice.reasons))
                del states[department]  # that agent's load changed: read it again
    return done


def set_presence(session: Session, username: str, presence: str, actor: str) -> User:
    if presence not in PRESENCES:
        raise AssignmentError(f"presence must be one of {', '.join(PRESENCES)}")
    user = session.execute(select(User).where(col(User.username) == username)
                           ).scalar_one_or_none()
    if user is None:
        raise AssignmentError(f"unknown user {username!r}")
    if user.presence != presence:
        user.presence, user.presence_since = presence, utcnow()
        session.add(user)
        audit.record(session, None, actor, "presence", "", user=username, presence=presence)
    return user
