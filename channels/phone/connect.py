"""Putting a queued caller through to an agent's own phone number.

Agents with their browser open (a Voice SDK token still valid) take callers from the queue
themselves (tokens.agent_twiml). An available agent of the department who has set a number
and has no browser open is rung instead: the oldest caller of that department leaves the
queue (<Leave>), and the <Enqueue> action <Dial>s the agent's number, whispering the case to
the agent first. An agent who does not pick up is set away, and the caller queues again.
"""

from __future__ import annotations

import contextlib
import datetime as dt

from sqlmodel import Session, col, select
from twilio.twiml.voice_response import VoiceResponse

from caseboard import assignment
from caseboard.models import User, UserDepartment, utcnow
from caseboard.services import Services
from channels.phone.calls import CallInfo
from channels.phone.models import PhoneAgent, PhoneCall
from routing.assignment import DEFAULT_CAPACITY

DIAL_SECONDS = 20  # how long the agent's phone rings before the caller queues again
ON_A_CALL = ("connecting", "connected")
CANDIDATES = 20  # agents looked at per department, longest idle first


def ring_agent(services: Services, call: CallInfo, now: dt.datetime | None = None) -> bool:
    """Claim an agent with a number for this caller (if it is the oldest one waiting in its
    department); True when the caller should now leave the queue to be put through."""
    now = now or utcnow()
    database = services.database
    with database.write() as session:
        oldest = session.execute(
            select(PhoneCall).where(col(PhoneCall.status) == "queued",
                                    col(PhoneCall.department_id) == call.department)
            .order_by(col(PhoneCall.queued_at), col(PhoneCall.id)).limit(1)
        ).scalar_one_or_none()
        if oldest is None or oldest.call_sid != call.call_sid:
            return False  # callers are put through in the order they queued
        username = _free_agent(session, services, call, now)
        if username is None:
            return False
        oldest.status, oldest.agent, oldest.updated_at = "connecting", username, now
        session.add(oldest)
    return True


def _free_agent(session: Session, services: Services, call: CallInfo,
                now: dt.datetime) -> str | None:
    """The longest-idle available agent of the department with a number, no browser open,
    not on a call and taking calls at all (phone capacity above 0); one speaking the
    caller's language first."""
    busy = select(PhoneCall.agent).where(col(PhoneCall.status).in_(ON_A_CALL))
    query = (select(User.username, User.capacity, User.languages)
             .join(PhoneAgent, col(PhoneAgent.user_id) == col(User.id))
             .join(UserDepartment, col(UserDepartment.user_id) == col(User.id))
             .where(col(UserDepartment.department_id) == call.department,
                    col(User.active).is_(True), col(User.presence) == "available",
                    col(PhoneAgent.number) != "",
                    (col(PhoneAgent.browser_until).is_(None))
                    | (col(PhoneAgent.browser_until) <= now),
                    col(User.username).not_in(busy))
             .order_by(col(User.presence_since), col(User.id)).limit(CANDIDATES))
    if not services.database.is_sqlite:  # two web nodes never ring one agent for two callers
        query = query.with_for_update(of=PhoneAgent, skip_locked=True)
    defaults = {**DEFAULT_CAPACITY, **services.config.assignment_capacity}
    taking = [(str(name), list(languages or ())) for name, capacity, languages
              in session.execute(query) if {**defaults, **(capacity or {})}.get("phone", 1) > 0]
    speaking = [name for name, languages in taking if not languages
                or call.language in languages]
    chosen = speaking or [name for name, _ in taking]
    return chosen[0] if chosen else None


def number_of(services: Services, username: str) -> str:
    with services.database.read() as session:
        found = session.execute(
            select(PhoneAgent.number).join(User, col(User.id) == col(PhoneAgent.user_id))
            .where(col(User.username) == username)).scalar_one_or_none()
    return str(found or "")


def dial_agent(call: CallInfo, number: str) -> VoiceResponse:
    """The caller's TwiML: ring the agent's number, whispering the case to them first."""
    response = VoiceResponse()
    dial = response.dial(action="/twilio/voice/dialled", timeout=DIAL_SECONDS)
    dial.number(number, url=f"/twilio/voice/whisper?call={call.call_sid}")
    return response


def missed(services: Services, call: CallInfo, username: str) -> None:
    """The agent did not pick up: away until they come back, and the caller queues again."""
    with services.database.write() as session:
        row = session.execute(select(PhoneCall).where(
            col(PhoneCall.call_sid) == call.call_sid)).scalar_one_or_none()
        if row is not None and row.status in ON_A_CALL:
            row.status, row.agent, row.updated_at = "queued", "", utcnow()
            session.add(row)
        if username:
            with contextlib.suppress(assignment.AssignmentError):  # the user is gone
                assignment.set_presence(session, username, "away", "phone")


def set_number(session: Session, user_id: int, number: str) -> None:
    row = session.get(PhoneAgent, user_id) or PhoneAgent(user_id=user_id)
    row.number, row.updated_at = number, utcnow()
    session.add(row)


def browser_seen(session: Session, user_id: int, until: dt.datetime) -> None:
    """The agent's browser took a Voice SDK token: it answers calls until `until`."""
    row = session.get(PhoneAgent, user_id) or PhoneAgent(user_id=user_id)
    row.browser_until, row.updated_at = until, utcnow()
    session.add(row)
