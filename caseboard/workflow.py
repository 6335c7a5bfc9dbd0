"""The case workflow, a state machine in the spirit of a 12345 hotline.

new → dispatched (to a department) → accepted → in progress → answered → resolved → closed.
A department may return a wrongly dispatched case to triage (its clock keeps running);
waiting for the citizen pauses the clock; a citizen's follow-up reopens a resolved case.
Every transition is checked here and written to the audit trail.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from caseboard import audit
from caseboard.models import AuditEvent, Case, CaseStatus, Department, utcnow
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
          calendar: BusinessCalendar, channel: str = "", department: str | None = None,
          reason: str = "", reason_code: str = "", triage_department: str = "triage",
          now: dt.datetime | None = None) -> Case:
    """Move the case by `action`, or raise WorkflowError and change nothing."""
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
                   calendar: BusinessCalendar, department: str | None,
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
    elif action == "resume" and case.paused_since is not None:
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
