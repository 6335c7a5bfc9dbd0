"""The case workflow, a state machine in the spirit of a 12345 hotline.

new → dispatched (to a department) → accepted → in progress → answered → resolved → closed.
A department may return a wrongly dispatched case to triage (its clock keeps running);
waiting for the citizen pauses the clock; a citizen's follow-up reopens a resolved case.
A reply the citizen never got (reply_undelivered) takes back what it moved: the case returns
to work and the first response it counted is uncounted.
Every transition is checked here and written to the audit trail.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Session, col, select

from caseboard import audit
from caseboard.models import (
    AuditEvent,
    Case,
    CaseStatus,
    Department,
    Message,
    OutboxItem,
    User,
    utcnow,
)
from caseboard.supervisor_models import SupervisorAlert
from caseboard.timelimits import BusinessCalendar, extend_for_pause

S = CaseStatus

# action → (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[CaseStatus], CaseStatus]] = {
    "dispatch": (frozenset({S.NEW}), S.DISPATCHED),
    "transfer": (frozenset({S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS}), S.DISPATCHED),
    "accept": (frozenset({S.DISPATCHED}), S.ACCEPTED),
    "return": (frozenset({S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS}), S.NEW),
    "start": (frozenset({S.ACCEPTED}), S.IN_PROGRESS),
    "wait_for_citizen": (frozenset({S.ACCEPTED, S.IN_PROGRESS, S.ANSWERED}), S.WAITING_CITIZEN),
    "resume": (frozenset({S.WAITING_CITIZEN}), S.IN_PROGRESS),
    "answer": (frozenset({S.IN_PROGRESS}), S.ANSWERED),
    "resolve": (frozenset({S.IN_PROGRESS, S.ANSWERED}), S.RESOLVED),
    "reopen": (frozenset({S.ANSWERED, S.RESOLVED}), S.IN_PROGRESS),
    "close": (frozenset({S.RESOLVED}), S.CLOSED),
}


# Why a department sends a case back; the dispatcher then rules on it: dispatching it
# elsewhere upholds the return, dispatching it back to the same department refuses it.
RETURN_REASONS = {
    "not_our_service": "Not our responsibility",
    "wrong_location": "Outside our area",
    "duplicate": "Duplicate of another case",
    "needs_information": "Not enough information to act on",
    "other": "Other (see the note)",
}


class WorkflowError(ValueError):
    """A transition that the workflow does not allow; the message says why."""


def allowed_actions(status: str) -> list[str]:
    return [name for name, (sources, _) in TRANSITIONS.items() if status in sources]


def apply(session: Session, case: Case, action: str, actor: str, *,
          calendar: BusinessCalendar | None, channel: str = "", department: str | None = None,
          reason: str = "", reason_code: str = "", triage_department: str = "triage",
          now: dt.datetime | None = None) -> Case:
    """Move the case by `action`, or raise WorkflowError and change nothing.

    Only resuming needs the calendar (the paused time moves the deadlines on)."""
    if action not in TRANSITIONS:
        raise WorkflowError(f"unknown action {action!r}")
    sources, target = TRANSITIONS[action]
    if case.status not in sources:
        raise WorkflowError(f"cannot {action.replace('_', ' ')} a case that is "
                            f"{case.status.replace('_', ' ')} (allowed: "
                            f"{', '.join(allowed_actions(case.status)) or 'none'})")
    now = now or utcnow()
    before = {"status": case.status, "department": case.department_id}
    _check_arguments(session, case, action, department, reason, triage_department)
    if action == "resume" and calendar is None:
        raise WorkflowError("resuming needs the business calendar to move the deadlines")
    ruling = _ruling(session, case, action, department, reason, reason_code)
    _apply_effects(case, action, now, calendar, department, triage_department)
    case.status = target
    case.updated_at = now
    session.add(case)
    session.flush()
    details: dict[str, object] = {"from": before["status"], "to": target.value}
    if case.department_id != before["department"]:
        details.update(from_department=before["department"], to_department=case.department_id)
    if reason:
        details["reason"] = reason
    details.update(ruling)
    audit.record(session, case.id, actor, action, channel, **details)
    return case


def _check_arguments(session: Session, case: Case, action: str, department: str | None,
                     reason: str, triage_department: str) -> None:
    if action in ("dispatch", "transfer"):
        if not department:
            raise WorkflowError(f"{action} needs a department")
        target = session.get(Department, department)
        if target is None or not target.active:
            raise WorkflowError(f"unknown department {department!r}")
        if department == triage_department:
            raise WorkflowError("use 'return' to send a case back to triage")
        if action == "transfer" and department == case.department_id:
            raise WorkflowError(f"the case is already with {department}")
    if action in ("return", "transfer") and not reason.strip():
        raise WorkflowError(f"{action} needs a reason")


def _ruling(session: Session, case: Case, action: str, department: str | None, reason: str,
            reason_code: str) -> dict[str, object]:
    """Reason codes on a return; on the dispatch that follows, the dispatcher's ruling."""
    if action == "return":
        if reason_code not in RETURN_REASONS:
            raise WorkflowError(f"a return needs a reason code: one of {', '.join(RETURN_REASONS)}")
        return {"reason_code": reason_code}
    if action != "dispatch" or case.return_count == 0:
        return {}
    returned_by = _last_returning_department(session, case)
    if returned_by is None:
        return {}
    if department == returned_by:
        if not reason.strip():
            raise WorkflowError(f"refusing {returned_by}'s return needs a reason")
        return {"ruling": "return refused", "returned_by": returned_by}
    return {"ruling": "return upheld", "returned_by": returned_by}


def _last_returning_department(session: Session, case: Case) -> str | None:
    details = session.execute(
        select(AuditEvent.details)
        .where(col(AuditEvent.case_id) == case.id, col(AuditEvent.action) == "return")
        .order_by(col(AuditEvent.id).desc()).limit(1)).scalar_one_or_none()
    department = (details or {}).get("from_department")
    return department if isinstance(department, str) else None


def _apply_effects(case: Case, action: str, now: dt.datetime,
                   calendar: BusinessCalendar | None, department: str | None,
                   triage_department: str) -> None:
    if action in ("dispatch", "transfer"):
        case.department_id = str(department)
        case.assigned_user_id = None
    elif action == "return":
        # Back to the dispatchers; the deadlines stay, the citizen's clock does not restart.
        case.department_id = triage_department
        case.assigned_user_id = None
        case.return_count += 1
    elif action == "wait_for_citizen":
        case.paused_since = now
    elif action == "resume" and case.paused_since is not None and calendar is not None:
        _extend_deadlines(case, calendar, case.paused_since, now)
        case.paused_since = None
    elif action == "answer" and case.first_response_at is None:
        case.first_response_at = now
    elif action == "resolve":
        case.resolved_at = now
    elif action == "reopen":
        case.resolved_at = None
    elif action == "close":
        case.closed_at = now


def _extend_deadlines(case: Case, calendar: BusinessCalendar, paused_since: dt.datetime,
                      resumed_at: dt.datetime) -> None:
    if case.first_response_due is not None and case.first_response_at is None:
        case.first_response_due = extend_for_pause(calendar, case.first_response_due,
                                                   paused_since, resumed_at)
    if case.resolution_due is not None:
        case.resolution_due = extend_for_pause(calendar, case.resolution_due,
                                               paused_since, resumed_at)


# ---------------------------------------------------------------- replies that never arrived


def reply_undelivered(session: Session, item: OutboxItem, reason: str, *,
                      calendar: BusinessCalendar | None = None,
                      now: dt.datetime | None = None) -> None:
    """The outbox gave up on an agent's reply (refused for good, out of retries, bounced).

    Unless a later reply has reached the citizen since, the case goes back to work where an
    agent sees it (answered or resolved: reopened; waiting for the citizen, who never got the
    question: resumed, when the calendar to extend its deadlines is at hand) and the
    supervisors get an alert. The first response stops counting if this reply was it: the
    next reply still on its way counts instead, or none. Acknowledgements and other automatic
    mail never come here: their failure is no agent's work undone.
    """
    if item.kind != "reply" or item.message_id is None:
        return
    message = session.get(Message, item.message_id)
    # The message's case, not the item's: a merge moves messages to the surviving case.
    case = session.get(Case, message.case_id, with_for_update=True) if message else None
    if message is None or case is None:
        return
    now = now or utcnow()
    details: dict[str, object] = {"message_id": message.id, "reply_channel": item.channel,
                                  "recipient": item.recipient, "reason": reason}
    if case.first_response_at is not None and case.first_response_at >= message.created_at:
        details["first_response_from"] = case.first_response_at.isoformat()
        case.first_response_at = _next_reply_at(session, case, message)
        details["first_response_to"] = (case.first_response_at.isoformat()
                                        if case.first_response_at else None)
    case.updated_at = now
    session.add(case)
    audit.record(session, case.id, "system", "reply_undelivered", item.channel, **details)
    if _reached_since(session, case, message):
        return
    why = f"reply by {item.channel} not delivered: {reason}"[:500]
    if case.status in (S.ANSWERED, S.RESOLVED):
        apply(session, case, "reopen", "system", calendar=calendar, channel=item.channel,
              reason=why, now=now)
    elif case.status == S.WAITING_CITIZEN and calendar is not None:
        apply(session, case, "resume", "system", calendar=calendar, channel=item.channel,
              reason=why, now=now)
    author = session.get(User, message.author_user_id) if message.author_user_id else None
    by = f" by {author.display_name or author.username}" if author else ""
    session.add(SupervisorAlert(
        case_id=case.id or 0, kind="reply_failed", raised_at=now,
        message=(f"{case.reference}: the reply{by} by {item.channel} to {item.recipient} was "
                 f"not delivered ({reason}); the case is {case.status.replace('_', ' ')}")[:1000]))


def _other_replies(case: Case, message: Message) -> list[sa.ColumnElement[bool]]:
    """Replies on the case written after this one that have not failed."""
    return [col(Message.case_id) == case.id, col(Message.direction) == "out",
            col(Message.id) != message.id, col(Message.created_at) >= message.created_at,
            col(Message.delivery_status) != "failed", col(OutboxItem.kind) == "reply",
            col(OutboxItem.status) != "failed"]


def _next_reply_at(session: Session, case: Case, message: Message) -> dt.datetime | None:
    return session.execute(
        select(sa.func.min(Message.created_at))
        .join(OutboxItem, col(OutboxItem.message_id) == col(Message.id))
        .where(*_other_replies(case, message))).scalar_one_or_none()


def _reached_since(session: Session, case: Case, message: Message) -> bool:
    return session.execute(
        select(Message.id).join(OutboxItem, col(OutboxItem.message_id) == col(Message.id))
        .where(*_other_replies(case, message),
               col(Message.delivery_status).in_(("sent", "delivered"))).limit(1)
    ).first() is not None
