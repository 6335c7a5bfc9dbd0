"""One inbound SMS or WhatsApp webhook → one committed contact (or a keyword handled).

The TwiML answer is given only after intake committed, so Twilio's 200 means the contact is
stored (invariant 1). Threading: a quoted reference joins that case (intake does that);
otherwise every SMS of a number carries the thread id "sms:<number>", so a text continues
the number's latest case while it is open. The acknowledgement with the reference is queued
by intake in the outbox (so opt-outs and retries apply to it), not sent in the TwiML.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

from caseboard.contacts import InboundContact, Sender
from caseboard.identity import normalise_phone
from caseboard.intake import IntakeError
from caseboard.services import Services
from channels.phone import keywords, media
from knowledge_base.text import has_han

log = logging.getLogger(__name__)
_NUMBER = re.compile(r"^\+?[0-9]{3,15}$")  # Twilio sends E.164; phonenumbers is lenient

STOP_REPLY = {"en": "You will get no more texts from {name}. Reply START to receive them again.",
              "zh": "您已退订{name}的短信。回复“订阅”可重新接收。"}
START_REPLY = {"en": "You will get texts from {name} again. Reply STOP to stop them.",
               "zh": "您已重新订阅{name}的短信。回复“退订”可停止接收。"}
HELP_REPLY = {"en": "{name}: text us your question, or quote your case reference to add to "
                    "it. Reply STOP to stop texts.",
              "zh": "{name}：请发送您的问题，或附上案件编号补充信息。回复“退订”停止接收短信。"}


class BadWebhook(ValueError):
    """The webhook cannot be taken (no sender, no id): answered 400, nothing written."""


@dataclass(frozen=True)
class SmsOutcome:
    kind: str  # created / joined / duplicate / stop / start / help
    reference: str = ""
    reply: str = ""  # text for a TwiML <Message>, only for keywords


def handle_sms(services: Services, form: Mapping[str, str]) -> SmsOutcome:
    sid = (form.get("MessageSid") or form.get("SmsMessageSid") or "").strip()
    raw_from = (form.get("From") or "").strip()
    if not sid:
        raise BadWebhook("MessageSid is missing")
    if not raw_from:
        raise BadWebhook("From is missing")
    channel = "whatsapp" if raw_from.lower().startswith("whatsapp:") else "sms"
    if not _NUMBER.match(raw_from.split(":", 1)[-1]):
        raise BadWebhook(f"From is not a phone number: {raw_from[:40]!r}")
    try:
        number = normalise_phone(raw_from, services.config["administration.country"])
    except ValueError as error:
        raise BadWebhook(str(error)) from None
    body = form.get("Body") or ""
    language = "zh" if has_han(body) else "en"
    word = keywords.keyword(body)
    if word is not None:
        return _keyword(services, word, opt_out_key(channel, number), language)
    count = media.media_count(form)
    text = body if body.strip() else ("(a picture message)" if count else "")
    contact = InboundContact(
        channel=channel, external_id=sid,
        sender=Sender(name=(form.get("ProfileName") or "")[:200], phone=number),
        text=text, language=language,
        thread_ids=(thread_id(number),), own_thread_id=thread_id(number),
        metadata={"sms": {"sid": sid, "from": raw_from, "to": form.get("To", ""),
                          "segments": form.get("NumSegments", ""),
                          "media": [form.get(f"MediaUrl{i}", "") for i in range(count)]}},
    )
    try:
        result = services.intake.take(contact)
    except IntakeError as error:
        raise BadWebhook(str(error)) from None
    # The files are fetched by the media worker; a retried webhook (a duplicate) adds the
    # media rows a crash between the two commits may have missed. A plain SMS has none.
    if count:
        media.queue_media(services, result.message_id, result.case_id, form)
    return SmsOutcome(result.outcome.value, result.reference)


def thread_id(number: str) -> str:
    return f"sms:{number}"


def opt_out_key(channel: str, number: str) -> str:
    return f"whatsapp:{number}" if channel == "whatsapp" else number


def _keyword(services: Services, word: str, key: str, language: str) -> SmsOutcome:
    name = services.config["administration.name"]
    if word == "help":
        return SmsOutcome("help", reply=HELP_REPLY[language].format(name=name))
    with services.database.write() as session:
        keywords.set_opt_out(session, key, word == "stop", word)
    replies = STOP_REPLY if word == "stop" else START_REPLY
    return SmsOutcome(word, reply=replies[language].format(name=name))
