"""Delivery callbacks (/twilio/status): Twilio tells how an SMS or a call went.

The message is found by its MessageSid, or by the outbox id in the callback URL (a callback
can come before the REST answer was recorded). States only move forward, so callbacks
arriving out of order leave the latest state. An unknown sid writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlmodel import Session, col, select

from caseboard import outbox
from caseboard.models import Message, OutboxItem, utcnow
from caseboard.services import Services
from channels.phone import keywords
from channels.phone.models import PhoneCall
from channels.phone.outbound import _RANK
from channels.phone.sms import BadWebhook, opt_out_key

SMS_STATES = ("accepted", "scheduled", "queued", "sending", "sent", "delivered", "undelivered",
              "failed", "read", "canceled")
# The carrier could not deliver (after Twilio accepted the message).
CARRIER_FAILURES = ("failed", "undelivered")
CALL_END_STATES = ("completed", "busy", "failed", "no-answer", "canceled")
OPTED_OUT_CODE = "21610"  # "attempt to send to unsubscribed recipient"


def handle_status(services: Services, form: Mapping[str, str], outbox_id: str) -> bool:
    """True when the message or call was found and updated; BadWebhook for nonsense."""
    if form.get("MessageSid") or form.get("MessageStatus"):
        return _message_status(services, form, outbox_id)
    if form.get("CallSid"):
        return _call_status(services, form)
    raise BadWebhook("neither MessageSid nor CallSid given")


def _message_status(services: Services, form: Mapping[str, str], outbox_id: str) -> bool:
    sid = (form.get("MessageSid") or "").strip()
    state = (form.get("MessageStatus") or "").strip().lower()
    if state not in SMS_STATES:
        raise BadWebhook(f"unknown MessageStatus {state!r}")
    with services.database.write() as session:
        row = _find_message(session, sid, outbox_id)
        if row is None:
            return False
        state = "failed" if state == "canceled" else state
        already_failed = row.delivery_status in CARRIER_FAILURES
        if _RANK.get(state, 1) >= _RANK.get(row.delivery_status, 0):
            row.delivery_status = state
            code = (form.get("ErrorCode") or "").strip()
            row.delivery_error = f"Twilio error {code}" if code else ""
        if state in CARRIER_FAILURES and not already_failed:
            item = _outbox_item(session, row, outbox_id)
            if item is not None:  # a reply that never reached the phone is no answer
                outbox.give_up(session, item, row.delivery_error or f"SMS {state}",
                               calendar=services.calendar)
        if sid and (row.external_id or "").startswith("outbox:"):
            row.external_id = sid
        if (form.get("ErrorCode") or "").strip() == OPTED_OUT_CODE:
            recipient = str((row.details or {}).get("to") or form.get("To") or "")
            if recipient:
                number = recipient.removeprefix("whatsapp:")
                keywords.set_opt_out(session, opt_out_key(row.channel, number), True,
                                     "carrier")
        session.add(row)
    return True


def _outbox_item(session: Session, message: Message, outbox_id: str) -> OutboxItem | None:
    """The outbox item that sent this message (the callback URL names it, or the message)."""
    item = session.get(OutboxItem, int(outbox_id)) if outbox_id.isdigit() else None
    if item is not None and item.message_id in (None, message.id):
        return item
    return session.execute(select(OutboxItem).where(
        col(OutboxItem.message_id) == message.id)).scalars().first()


def _find_message(session: Session, sid: str, outbox_id: str) -> Message | None:
    channels = col(Message.channel).in_(["sms", "whatsapp"])
    if sid:
        row = session.execute(select(Message).where(
            channels, col(Message.external_id) == sid)).scalars().first()
        if row is not None:
            return row
    if not outbox_id.isdigit():
        return None
    item = session.get(OutboxItem, int(outbox_id))
    if item is None:
        return None
    if item.message_id is not None:
        return session.get(Message, item.message_id)
    return session.execute(select(Message).where(
        channels, col(Message.external_id) == f"outbox:{item.id}")).scalars().first()


def _call_status(services: Services, form: Mapping[str, str]) -> bool:
    state = (form.get("CallStatus") or "").strip().lower()
    with services.database.write() as session:
        call = session.execute(select(PhoneCall).where(
            col(PhoneCall.call_sid) == form.get("CallSid", ""))).scalar_one_or_none()
        if call is None:
            return False
        if state in CALL_END_STATES:
            now = utcnow()
            call.ended_at = call.ended_at or now
            if call.status in ("ringing", "menu", "queued", "connecting", "connected"):
                call.status = "completed"
            call.updated_at = now
            session.add(call)
    return True
