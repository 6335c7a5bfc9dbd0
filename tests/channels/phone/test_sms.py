"""Inbound SMS and WhatsApp: the real webhook bodies, signed; threading, keywords, bad input."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlmodel import col, func, select
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from caseboard.models import Case, Message, OutboxItem
from caseboard.services import Services
from channels.phone.keywords import keyword
from channels.phone.models import SmsOptOut
from tests.channels.phone.conftest import (
    MESSAGING,
    PUBLIC,
    TOKEN,
    Post,
    payload,
    payloads,
    twiml,
)


def count(services: Services, model: type) -> int:
    with services.database.read() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def messages_in(services: Services) -> list[Message]:
    with services.database.read() as session:
        return list(session.execute(select(Message).where(col(Message.direction) == "in")
                                    .order_by(col(Message.id))).scalars())


def test_every_real_inbound_body_is_filed_once(post: Post, phone_services: Services) -> None:
    incoming = [p for p in payloads(MESSAGING) if p["kind"] == "incoming_message"]
    assert len(incoming) >= 10
    answers = {p["name"]: post("/twilio/sms", dict(p["params"])) for p in incoming}
    # A WhatsApp user id instead of a number is refused clearly, not filed.
    refused = answers.pop("waReceiveFromBSUID")
    assert refused.status_code == 400 and b"phone number" in refused.data
    for name, answer in answers.items():
        assert len(twiml(answer)) == 0, name  # the acknowledgement goes through the outbox
    sids = {(p["params"]["MessageSid"], "whatsapp" if p["params"]["From"].startswith(
        "whatsapp:") else "sms") for p in incoming if p["name"] != "waReceiveFromBSUID"}
    stored = messages_in(phone_services)
    assert len(stored) == len(sids)  # the same MessageSid delivered again is one message
    first = next(m for m in stored if m.channel == "sms")
    assert first.text == "Msg" and first.sender == "+14133881111"


def test_the_answer_is_the_library_s_empty_messaging_twiml(post: Post) -> None:
    """Rendered once, not per webhook: the same bytes twilio's MessagingResponse gives."""
    answer = post("/twilio/sms", payload(MESSAGING, "receiveValid"))
    assert answer.get_data(as_text=True) == str(MessagingResponse())
    assert answer.headers["Content-Type"] == "text/xml; charset=utf-8"


@pytest.mark.parametrize(("body", "word"), [
    ("STOP", "stop"), ("  Stop!! ", "stop"), ("stop\n", "stop"), ("_stop_", "stop"),
    ("...opt-out...", "stop"), ("¿Unsubscribe?", "stop"), ("\u00a0help\u00a0", "help"),
    (" 退订。", "stop"), ("「订阅」", "start"), ("帮助！", "help"), ("stop now", None),
    ("S T O P", None), ("stop_1", None), ("", None), ("?!", None), ("___", None),
    ("x" * 17, None), ("The street light outside number 12 is out.", None)])
def test_a_keyword_is_the_whole_message_between_its_first_and_last_letter(
        body: str, word: str | None) -> None:
    assert keyword(body) == word


def test_a_retried_webhook_makes_no_second_message(post: Post,
                                                   phone_services: Services) -> None:
    body = payload(MESSAGING, "receiveValid")
    body["Body"] = "The street light outside number 12 is broken"
    assert twiml(post("/twilio/sms", body)) is not None
    before = (count(phone_services, Message), count(phone_services, OutboxItem))
    assert twiml(post("/twilio/sms", body)) is not None
    assert (count(phone_services, Message), count(phone_services, OutboxItem)) == before
    assert count(phone_services, Case) == 1


def test_first_text_is_acknowledged_with_the_reference_and_later_ones_thread(
        post: Post, phone_services: Services) -> None:
    body = payload(MESSAGING, "receiveValid")
    body["Body"] = "There is a pothole on Mill Lane"
    post("/twilio/sms", body)
    with phone_services.database.read() as session:
        case = session.execute(select(Case)).scalar_one()
        ack = session.execute(select(OutboxItem)).scalar_one()
    assert (ack.channel, ack.kind, ack.recipient) == ("sms", "acknowledgement", "+14133881111")
    assert ack.payload["reference"] == case.reference
    follow = dict(body, MessageSid="SM" + "1" * 32, Body="It is getting bigger")
    post("/twilio/sms", follow)
    quoting = dict(body, MessageSid="SM" + "2" * 32, From="+14155550100",
                   Body=f"About {case.reference}: my neighbour saw it too")
    post("/twilio/sms", quoting)
    assert count(phone_services, Case) == 1
    assert [m.case_id for m in messages_in(phone_services)] == [case.id] * 3
    assert count(phone_services, OutboxItem) == 1  # only the first message is acknowledged


def test_chinese_text_is_filed_in_chinese(post: Post, phone_services: Services) -> None:
    body = payload(MESSAGING, "receiveValid")
    body["Body"] = "我家楼下的路灯坏了"
    post("/twilio/sms", body)
    with phone_services.database.read() as session:
        ack = session.execute(select(OutboxItem)).scalar_one()
    assert messages_in(phone_services)[0].language == "zh" and ack.payload["language"] == "zh"


def test_stop_and_start_in_english_and_chinese(post: Post, phone_services: Services) -> None:
    body = payload(MESSAGING, "receiveValid")
    for word, opted_out in (("STOP", True), ("start", False), (" 退订 ", True),
                            ("订阅", False), ("取消", True)):
        root = twiml(post("/twilio/sms", dict(body, Body=word,
                                              MessageSid=f"SM{abs(hash(word)):032d}")))
        assert root.findtext("Message"), word
        with phone_services.database.read() as session:
            row = session.get(SmsOptOut, "+14133881111")
        assert row is not None and row.opted_out is opted_out, word
    assert count(phone_services, Case) == 0  # keywords are not cases


def test_help_answers_without_a_case(post: Post, phone_services: Services) -> None:
    body = payload(MESSAGING, "receiveValid")
    for word in ("HELP", "帮助"):
        text = twiml(post("/twilio/sms", dict(body, Body=word))).findtext("Message") or ""
        assert "STOP" in text or "退订" in text
    assert count(phone_services, Message) == 0


def test_a_long_text_is_kept_whole(post: Post, phone_services: Services) -> None:
    body = payload(MESSAGING, "receiveValid")
    body["Body"] = ("The bins on Elm Road were not collected. " * 60)[:2000]
    assert len(body["Body"]) == 2000
    twiml(post("/twilio/sms", body))
    assert messages_in(phone_services)[0].text == body["Body"]


def test_bad_input_gets_a_clear_answer_and_writes_nothing(post: Post,
                                                          phone_services: Services) -> None:
    body = payload(MESSAGING, "receiveValid")
    no_from = {k: v for k, v in body.items() if k != "From"}
    answer = post("/twilio/sms", no_from)
    assert answer.status_code == 400 and b"From" in answer.data
    no_sid = {k: v for k, v in body.items() if k not in ("MessageSid", "SmsMessageSid")}
    assert post("/twilio/sms", no_sid).status_code == 400
    assert post("/twilio/sms", dict(body, Body="   ")).status_code == 400
    assert count(phone_services, Message) == 0 and count(phone_services, Case) == 0


def test_unsigned_forged_and_altered_requests_are_refused(post: Post, twilio: FlaskClient,
                                                          phone_services: Services) -> None:
    body = payload(MESSAGING, "receiveValid")
    assert post("/twilio/sms", body, sign=False).status_code == 403
    assert post("/twilio/sms", body, token="not-the-token").status_code == 403
    # Replayed with a changed body: the signature was made for the original.
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + "/twilio/sms", body)
    changed = dict(body, Body="Send all the refunds to me")
    answer = twilio.post("/twilio/sms", data=changed, headers={"X-Twilio-Signature": signature})
    assert answer.status_code == 403
    # Signed for the internal http:// URL, not the public https:// one Twilio calls.
    assert post("/twilio/sms", body, signed_url="http://localhost/twilio/sms").status_code == 403
    assert count(phone_services, Message) == 0 and count(phone_services, Case) == 0

