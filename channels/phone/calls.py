"""Calls and their cases: every call leaves a case behind, opened when it rings.

What the caller says, records or asks for joins that case through intake (thread id
"call:<CallSid>"), with the channel's own id, so a retried webhook adds nothing twice.
A call that only checks the status of the caller's own case belongs to that case: its
ring-time case is merged into it (caseboard.merge, so it can be undone), rather than left
behind in triage with nothing to do.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from caseboard import audit, merge, workflow
from caseboard.contacts import InboundContact, Sender
from caseboard.models import Case, CaseStatus, Message, utcnow
from caseboard.services import Services
from channels.phone.models import PhoneCall
from routing import route


@dataclass(frozen=True)
class CallInfo:
    call_sid: str
    case_id: int
    reference: str
    from_number: str
    language: str
    status: str
    department: str
    agent: str = ""  # the agent a caller is being put through to, or is talking with


def ring(services: Services, call_sid: str, number: str, to: str) -> CallInfo:
    """The case and call row for a new call; the same CallSid again returns them unchanged."""
    found = lookup(services, call_sid)
    if found is not None:
        return found
    result = services.intake.take(InboundContact(
        channel="phone", external_id=call_sid, sender=Sender(phone=number),
        text=f"Phone call from {number}", subject="Phone call", own_thread_id=thread(call_sid),
        automated=True,  # the reference is read out on the call, not texted
        metadata={"call": {"sid": call_sid, "from": number, "to": to}}))
    now = utcnow()
    with services.database.write() as session:
        exists = session.execute(select(PhoneCall.id).where(
            col(PhoneCall.call_sid) == call_sid)).scalar_one_or_none()
        if exists is None:
            case = session.get(Case, result.case_id)
            session.add(PhoneCall(call_sid=call_sid, case_id=result.case_id, from_number=number,
                                  department_id=case.department_id if case else None,
                                  created_at=now, updated_at=now))
    found = lookup(services, call_sid)
    assert found is not None
    return found


def lookup(services: Services, call_sid: str) -> CallInfo | None:
    with services.database.read() as session:
        row = session.execute(
            select(PhoneCall, Case.reference).join(Case, col(Case.id) == col(PhoneCall.case_id))
            .where(col(PhoneCall.call_sid) == call_sid)).first()
        if row is None:
            return None
        call, reference = row
        return CallInfo(call.call_sid, call.case_id, reference, call.from_number, call.language,
                        call.status, call.department_id or "", call.agent)


def update(services: Services, call_sid: str, **fields: Any) -> None:
    with services.database.write() as session:
        call = session.execute(select(PhoneCall).where(
            col(PhoneCall.call_sid) == call_sid)).scalar_one_or_none()
        if call is None:
            return
        for name, value in fields.items():
            setattr(call, name, value)
        call.updated_at = utcnow()
        session.add(call)


def thread(call_sid: str) -> str:
    return f"call:{call_sid}"


def add_contact(services: Services, call: CallInfo, external_id: str, text: str,
                metadata: dict[str, Any]) -> int:
    """What the caller said or recorded, as a message on the call's case; its id."""
    return services.intake.take(InboundContact(
        channel="phone", external_id=external_id, sender=Sender(phone=call.from_number),
        text=text, language=call.language, thread_ids=(thread(call.call_sid),),
        automated=True, metadata=metadata)).message_id


def status_checked(services: Services, call: CallInfo, case: Case, digits: str) -> None:
    """The caller heard the status of their own `case`: the check is written on the
    call's case, which is then merged into that case, and the call row follows it. A closed
    case takes no merge: the call's case is linked to it instead. A call's case that holds
    anything but this call (an agent's note, another contact) is linked, never merged."""
    # No reference in the text: intake would thread it straight onto that case, and a
    # status check is no follow-up (it must not reopen a resolved case or resume a waiting one).
    add_contact(services, call, f"{call.call_sid}/reference/{digits}",
                f"Status check by phone: the caller keyed {digits} and was told the case is "
                f"{case.status.replace('_', ' ')}.",
                {"call": {"sid": call.call_sid, "status_check": case.reference}})
    with services.database.write() as session:
        ring, own = session.get(Case, call.case_id), session.get(Case, case.id)
        if ring is None or own is None or ring.id == own.id or ring.status == CaseStatus.CLOSED:
            return  # done already (Twilio retried the webhook), or nothing to move
        foreign = session.execute(select(Message.external_id).where(
            col(Message.case_id) == ring.id)).scalars().all()
        only_this_call = all(e == call.call_sid or (e or "").startswith(f"{call.call_sid}/")
                             for e in foreign)
        if own.status == CaseStatus.CLOSED or not only_this_call:
            with contextlib.suppress(merge.CaseActionError):  # linked already
                merge.link(session, ring, own, "ivr")
            return
        merge.merge(session, ring, own, "ivr", channel="phone",
                    reason=f"the call {call.call_sid} was a status check of {own.reference} "
                           "by its own citizen")
        phone_call = session.execute(select(PhoneCall).where(
            col(PhoneCall.call_sid) == call.call_sid)).scalar_one_or_none()
        if phone_call is not None:
            phone_call.case_id, phone_call.department_id = own.id, own.department_id
            phone_call.updated_at = utcnow()
            session.add(phone_call)


def route_case(services: Services, call: CallInfo, text: str) -> str:
    """Send the call's case to the department the caller's words point to; return it."""
    rules = services.rules
    decision = route(text, rules, language=call.language)
    triage = services.config["routing.triage_department"]
    with services.database.write() as session:
        case = session.get(Case, call.case_id)
        if case is None:
            return decision.department
        if case.status == CaseStatus.NEW and decision.department != triage:
            workflow.apply(session, case, "dispatch", "ivr", calendar=services.calendar,
                           channel="phone", department=decision.department,
                           triage_department=triage, reason="what the caller said")
            case.service_code = decision.service
            case.routing_confidence = decision.confidence
            case.routing_reasons = list(decision.reasons)
            session.add(case)
        department = case.department_id
    update(services, call.call_sid, department_id=department)
    return department


def resolve_with_article(services: Services, call: CallInfo, spoken: str, slug: str,
                         version: int, department: str) -> bool:
    """The caller said the answer helped: record it (article and version) and resolve."""
    now = utcnow()
    triage = services.config["routing.triage_department"]
    with services.database.write() as session:
        case = session.get(Case, call.case_id)
        if case is None or case.id is None:
            return False
        external_id = f"{call.call_sid}/answer/{slug}/{version}"
        if session.execute(select(Message.id).where(
                col(Message.channel) == "phone",
                col(Message.external_id) == external_id)).first() is not None:
            return case.status == CaseStatus.RESOLVED  # Twilio retried the webhook
        session.add(Message(case_id=case.id, direction="out", channel="phone",
                            external_id=external_id,
                            sender="ivr", text=spoken, language=call.language,
                            delivery_status="delivered", article_slug=slug,
                            article_version=version, details={"ivr": True}, created_at=now))
        steps = {CaseStatus.NEW: "dispatch", CaseStatus.DISPATCHED: "accept",
                 CaseStatus.ACCEPTED: "start", CaseStatus.IN_PROGRESS: "answer",
                 CaseStatus.ANSWERED: "resolve"}
        try:
            while case.status in steps:
                target = department if department != triage else None
                if case.status == CaseStatus.NEW and target is None:
                    break  # a triage case stays for the dispatchers to look at
                workflow.apply(session, case, steps[CaseStatus(case.status)], "ivr",
                               calendar=services.calendar, channel="phone",
                               department=target, triage_department=triage, now=now,
                               reason="answered by the phone menu")
        except workflow.WorkflowError:
            return False
        audit.record(session, case.id, "ivr", "answered_by_article", "phone", slug=slug,
                     version=version)
        resolved = case.status == CaseStatus.RESOLVED
    update(services, call.call_sid, status="resolved" if resolved else "completed",
           ended_at=now)
    return resolved


def waiting_per_department(services: Services) -> dict[str, list[dict[str, Any]]]:
    """Calls in a queue now, oldest first, by department (for the board). Call-backs asked
    for are tasks of their own (callbacks.py)."""
    with services.database.read() as session:
        rows = session.execute(
            select(PhoneCall, Case.reference).join(Case, col(Case.id) == col(PhoneCall.case_id))
            .where(col(PhoneCall.status) == "queued")
            .order_by(col(PhoneCall.queued_at))).all()
    now = utcnow()
    waiting: dict[str, list[dict[str, Any]]] = {}
    for call, reference in rows:
        since: dt.datetime = call.queued_at or call.created_at
        waiting.setdefault(call.department_id or "", []).append({
            "reference": reference, "number": call.from_number, "language": call.language,
            "status": call.status, "waiting_seconds": int((now - since).total_seconds())})
    return waiting
