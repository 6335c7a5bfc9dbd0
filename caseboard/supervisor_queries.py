"""What the dashboard shows, read from the counter tables and a few small indexed queries."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from caseboard import supervisor_waiting
from caseboard.audit_feed import cursor_position
from caseboard.dashboard_counters import CURSOR
from caseboard.models import AuditEvent, Case, User, UserDepartment
from caseboard.supervisor_models import (
    AgentLoad,
    DailyCounter,
    DeadlineExtension,
    LiveCounter,
    OpenCaseState,
    SupervisorAlert,
)
from routing.assignment import DEFAULT_CAPACITY
from settings import Config

ALERTS_SHOWN = 50


def age(since: dt.datetime | None, now: dt.datetime) -> str:
    """How long ago, shortly: 3d 4h, 2h 5m, 7m."""
    if since is None:
        return "–"
    seconds = max(0, int((now - since).total_seconds()))
    if seconds >= 86400:
        return f"{seconds // 86400}d {seconds % 86400 // 3600}h"
    if seconds >= 3600:
        return f"{seconds // 3600}h {seconds % 3600 // 60}m"
    return f"{seconds // 60}m"


def _cell() -> dict[str, Any]:
    return {"open": 0, "waiting": 0, "oldest_waiting": None, "at_risk": 0, "breached": 0}


def queue_rows(session: Session) -> dict[tuple[str, str], dict[str, Any]]:
    """(department, channel) → open, waiting, oldest waiting, at risk, breached: counters
    (at risk and breached as the time-limit monitor last moved them) and one grouped index
    scan for the oldest waiting case."""
    cells: dict[tuple[str, str], dict[str, Any]] = defaultdict(_cell)
    for metric, department, channel, value in session.execute(
            select(LiveCounter.metric, LiveCounter.department_id, LiveCounter.channel,
                   LiveCounter.value).where(col(LiveCounter.value) != 0)):
        cells[(department, channel)][metric] = value
    oldest = session.execute(
        select(OpenCaseState.department_id, OpenCaseState.channel,
               sa.func.min(OpenCaseState.created_at))
        .where(col(OpenCaseState.waiting).is_(True))
        .group_by(col(OpenCaseState.department_id), col(OpenCaseState.channel)))
    for department, channel, first in oldest:
        cells[(department, channel)]["oldest_waiting"] = _aware(first)
    return dict(cells)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)  # an aggregate bypasses the column type


def department_totals(rows: dict[tuple[str, str], dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Cells summed over the second part of the key (called with the key's parts swapped, the
    totals per channel): counts added, the oldest waiting the earliest."""
    totals: dict[str, dict[str, Any]] = defaultdict(_cell)
    for (department, _channel), cell in rows.items():
        total = totals[department]
        for name in ("open", "waiting", "at_risk", "breached"):
            total[name] += cell[name]
        first = cell["oldest_waiting"]
        if first is not None and (total["oldest_waiting"] is None
                                  or first < total["oldest_waiting"]):
            total["oldest_waiting"] = first
    return dict(totals)


def returns_on(session: Session, day: dt.date) -> dict[str, int]:
    result: dict[str, int] = defaultdict(int)
    for department, value in session.execute(
            select(DailyCounter.department_id, DailyCounter.value)
            .where(col(DailyCounter.day) == day, col(DailyCounter.hour) == -1,
                   col(DailyCounter.metric) == "returns")):
        result[department] += value
    return dict(result)


def agents(session: Session, config: Config, now: dt.datetime) -> list[dict[str, Any]]:
    """Active staff with presence, time in that state, load per kind of work and capacity."""
    memberships: dict[int, list[str]] = defaultdict(list)
    for user_id, department in session.execute(select(UserDepartment.user_id,
                                                      UserDepartment.department_id)):
        memberships[user_id].append(department)
    loads: dict[int, dict[str, int]] = defaultdict(dict)
    for user_id, work, value in session.execute(
            select(AgentLoad.user_id, AgentLoad.work, AgentLoad.value)
            .where(col(AgentLoad.value) != 0)):
        loads[user_id][work] = value
    defaults = {**DEFAULT_CAPACITY, **config.assignment_capacity}
    result = []
    users = session.execute(  # plain columns: 200 ORM objects a poll cost more than the rest
        sa.select(col(User.id), col(User.username), col(User.display_name), col(User.role),
                  col(User.presence), col(User.presence_since), col(User.capacity))
        .where(col(User.active)).order_by(col(User.username)))
    for user in users:
        result.append({
            "id": user.id, "username": user.username, "name": user.display_name,
            "role": user.role, "presence": user.presence,
            "since": user.presence_since,
            "seconds_in_state": max(0, int((now - user.presence_since).total_seconds())),
            "departments": sorted(memberships[user.id]),
            "load": {work: loads[user.id].get(work, 0) for work in defaults},
            "capacity": {**defaults, **(user.capacity or {})},
        })
    return result


def open_alerts(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(SupervisorAlert, Case.reference, User.username)
        .join(Case, col(Case.id) == SupervisorAlert.case_id)
        .outerjoin(User, col(User.id) == SupervisorAlert.to_user_id)
        .where(col(SupervisorAlert.resolved).is_(False))
        .order_by(col(SupervisorAlert.raised_at).desc()).limit(ALERTS_SHOWN))
    return [{"id": alert.id, "kind": alert.kind, "reference": reference,
             "to": username or "supervisors", "message": alert.message,
             "raised_at": alert.raised_at, "due": alert.due}
            for alert, reference, username in rows]


def pending_extensions(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(DeadlineExtension, Case.reference)
        .join(Case, col(Case.id) == DeadlineExtension.case_id)
        .where(col(DeadlineExtension.status) == "pending")
        .order_by(col(DeadlineExtension.id)))
    return [{"id": ext.id, "reference": reference, "requested_by": ext.requested_by,
             "hours": ext.hours, "reason": ext.reason, "created_at": ext.created_at}
            for ext, reference in rows]


def dashboard(session: Session, config: Config, now: dt.datetime) -> dict[str, Any]:
    """Every number of the dashboard, as plain data (the page and its JSON both use it)."""
    rows = queue_rows(session)
    channels = department_totals({(channel, department): cell
                                  for (department, channel), cell in rows.items()})
    today = now.astimezone(config.timezone).date()
    last_event = session.execute(select(sa.func.max(AuditEvent.id))).scalar_one() or 0
    # Callers on hold and chats queued for an agent, from the channels' own tables (an open
    # unassigned phone or chat case may be a hung-up call or an out-of-hours message).
    waiting_now = supervisor_waiting.waiting_now(session)
    calls, oldest_call = supervisor_waiting.total(waiting_now, supervisor_waiting.CALL_CHANNEL)
    chats, oldest_chat = supervisor_waiting.total(waiting_now, supervisor_waiting.CHAT_CHANNEL)
    return {
        "now": now,
        "rows": rows,
        "departments": department_totals(rows),
        "channels": dict(channels),
        "calls_waiting": calls,
        "oldest_call": oldest_call,
        "chats_waiting": chats,
        "oldest_chat": oldest_chat,
        "waiting_now": waiting_now,
        "returns_today": returns_on(session, today),
        "agents": agents(session, config, now),
        "alerts": open_alerts(session),
        "extensions": pending_extensions(session),
        "events_behind": max(0, int(last_event) - cursor_position(session, CURSOR)),
    }


def as_json(data: dict[str, Any]) -> dict[str, Any]:
    """The dashboard data with JSON-friendly keys and ISO times."""

    def plain(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.isoformat()
        if isinstance(value, dict):
            return {("/".join(k) if isinstance(k, tuple) else k): plain(v)
                    for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return {str(k): plain(v) for k, v in data.items()}
