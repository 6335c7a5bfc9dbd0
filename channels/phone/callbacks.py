"""Call-back tasks: a voicemail or a call-back request leaves a task for the department's agents.

open → taken (one agent of the department says "I am calling") → done (the call was made);
each step is audited on the case, and done tasks leave /board/calls. One task per call, so a
retried webhook (Twilio retries) opens nothing twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from caseboard import audit
from caseboard.board_queues import visible_departments
from caseboard.models import Case, Message, User, utcnow
from caseboard.services import Services
from channels.phone.calls import CallInfo
from channels.phone.models import PhoneCall, PhoneCallback

KINDS = ("voicemail", "callback")


class CallbackRefused(Exception):
    """The agent may not do this to that task; `status` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class CallbackTask:
    id: int
    reference: str
    department: str
    number: str
    kind: str
    status: str
    agent: str
    created_at: dt.datetime
    duration: int = 0  # seconds of voicemail
    transcript: str = ""
    recording_url: str = ""


def open_task(services: Services, call: CallInfo, kind: str, message_id: int | None) -> None:
    """The task for this call (none is added when the call has one already)."""
    assert kind in KINDS
    department = call.department or services.config["routing.triage_department"]
    try:
        with services.database.write() as session:
            row = session.execute(select(PhoneCall.id).where(
                col(PhoneCall.call_sid) == call.call_sid)).scalar_one_or_none()
            if row is None or session.execute(select(PhoneCallback.id).where(
                    col(PhoneCallback.call_id) == row)).first() is not None:
                return
            session.add(PhoneCallback(call_id=row, case_id=call.case_id,
                                      department_id=department, number=call.from_number,
                                      kind=kind, message_id=message_id, created_at=utcnow()))
            audit.record(session, call.case_id, "ivr", "callback_requested", "phone",
                         kind=kind, number=call.from_number, department=department)
    except IntegrityError:
        return  # a concurrent retry of the same webhook opened it first


def open_tasks(services: Services, user: User) -> list[CallbackTask]:
    """Open and taken tasks of the departments this user works in, oldest first."""
    with services.database.read() as session:
        visible = visible_departments(session, user)
        query = (select(PhoneCallback, Case.reference, Message.details)
                 .join(Case, col(Case.id) == col(PhoneCallback.case_id))
                 .outerjoin(Message, col(Message.id) == col(PhoneCallback.message_id))
                 .where(col(PhoneCallback.status) != "done")
                 .order_by(col(PhoneCallback.created_at), col(PhoneCallback.id)))
        if visible is not None:
            query = query.where(col(PhoneCallback.department_id).in_(sorted(visible)))
        rows = session.execute(query).all()
    return [_task(task, reference, details or {}) for task, reference, details in rows]


def _task(task: PhoneCallback, reference: str, details: dict[str, Any]) -> CallbackTask:
    recording = details.get("recording") or {}
    assert task.id is not None
    return CallbackTask(task.id, reference, task.department_id, task.number, task.kind,
                        task.status, task.agent, task.created_at,
                        int(recording.get("duration") or 0),
                        str(recording.get("transcript") or ""), str(recording.get("url") or ""))


def take(session: Session, task_id: int, user: User) -> None:
    """This agent calls the citizen back; refused when another agent took it already."""
    task = _allowed(session, task_id, user)
    if task.status == "taken" and task.agent == user.username:
        return  # the form was sent twice
    if task.status != "open":
        raise CallbackRefused(409, f"{task.agent or 'Someone'} took this call-back already.")
    task.status, task.agent, task.taken_at = "taken", user.username, utcnow()
    session.add(task)
    audit.record(session, task.case_id, user.username, "callback_taken", "phone",
                 number=task.number, kind=task.kind)


def finish(session: Session, task_id: int, user: User) -> None:
    """The call back was made: the task leaves the list. Only the agent who took it."""
    task = _allowed(session, task_id, user)
    if task.status == "done":
        return
    if task.status != "taken" or task.agent != user.username:
        raise CallbackRefused(409, "Take the call-back first; only the agent who took it "
                                   "marks it done.")
    task.status, task.done_at = "done", utcnow()
    session.add(task)
    audit.record(session, task.case_id, user.username, "callback_done", "phone",
                 number=task.number, kind=task.kind)


def _allowed(session: Session, task_id: int, user: User) -> PhoneCallback:
    task = session.get(PhoneCallback, task_id)
    if task is None:
        raise CallbackRefused(404, "There is no such call-back.")
    visible = visible_departments(session, user)
    if visible is not None and task.department_id not in visible:
        raise CallbackRefused(403, f"You do not work in the {task.department_id} department.")
    return task
