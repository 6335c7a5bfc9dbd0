"""Outbound SMS through the outbox: the real twilio client against a local recording server,
delivery callbacks, error mapping, opt-outs, and files when no account is configured."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import socket
from pathlib import Path

import pytest
from flask import Flask
from sqlmodel import col, select

from caseboard import auth, replies, workflow
from caseboard import outbox as outbox_queue
from caseboard.contacts import InboundContact, Sender
from caseboard.models import AuditEvent, Case, Message, OutboxItem
from caseboard.services import Services
from caseboard.supervisor_models import SupervisorAlert
from channels.phone import texts
from channels.phone.models import SmsOptOut
from channels.phone.tokens import access_token
from tests.channels.phone.conftest import (
    MESSAGING,
    PUBLIC,
    TOKEN,
    Post,
    RecordingApi,
    account_env,
    payload,
)

ACCOUNT = "AC" + "a" * 32
pytestmark = pytest.mark.ports


@pytest.fixture
def phone_env(twilio_api: RecordingApi) -> dict[str, str]:
    return account_env(twilio_api, ACCOUNT, CC_PHONE_FROM_NUMBER="+442071838750")


def text_in(post: Post, body: str = "The bins on Elm Road were not collected") -> None:
    params = payload(MESSAGING, "receiveValid")
    params["Body"] = body
    assert post("/twilio/sms", params).status_code == 200


def outbox(services: Services) -> OutboxItem:
    with services.database.read() as session:
        return session.execute(select(OutboxItem)).scalar_one()


def acknowledgement(services: Services) -> Message:
    with services.database.read() as session:
        return session.execute(select(Message).where(col(Message.direction) == "out")
                               ).scalar_one()


def test_the_acknowledgement_is_one_exact_rest_call(post: Post, phone_app: Flask,
                                                    phone_services: Services,
                                                    twilio_api: RecordingApi) -> None:
    text_in(post)
    assert phone_services.dispatcher.send_one() is True
    assert len(twilio_api.requests) == 1
    call = twilio_api.requests[0]
    assert call["path"] == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert call["authorization"].startswith("Basic ")
    item = outbox(phone_services)
    form = call["form"]
    assert form["To"] == "+14133881111" and form["From"] == "+442071838750"
    assert item.payload["reference"] in form["Body"]
    assert form["StatusCallback"] == f"{PUBLIC}/twilio/status?o={item.id}"
    assert item.status == "sent"
    sent = acknowledgement(phone_services)
    assert sent.external_id == "SM" + "1".zfill(32) and sent.delivery_status == "sent"


def test_delivery_callbacks_move_the_state_forward(post: Post, phone_services: Services,
                                                   twilio_api: RecordingApi) -> None:
    text_in(post)
    phone_services.dispatcher.send_one()
    item = outbox(phone_services)
    sid = acknowledgement(phone_services).external_id or ""
    base = payload(MESSAGING, "statusValid")
    path = f"/twilio/status?o={item.id}"
    assert post(path, dict(base, MessageSid=sid, MessageStatus="delivered")).status_code == 204
    # A late "sent" callback does not move a delivered message back.
    assert post(path, dict(base, MessageSid=sid, MessageStatus="sent")).status_code == 204
    assert acknowledgement(phone_services).delivery_status == "delivered"


def test_failed_delivery_for_an_unsubscribed_number_stores_the_opt_out(
        post: Post, phone_services: Services, twilio_api: RecordingApi) -> None:
    text_in(post)
    phone_services.dispatcher.send_one()
    sid = acknowledgement(phone_services).external_id or ""
    stop = dict(payload(MESSAGING, "statusStop"), MessageSid=sid)
    assert post("/twilio/status", stop).status_code == 204
    row = acknowledgement(phone_services)
    assert row.delivery_status == "failed" and "21610" in row.delivery_error
    with phone_services.database.read() as session:
        opt_out = session.get(SmsOptOut, "+14133881111")
    assert opt_out is not None and opt_out.opted_out


def test_unknown_sids_and_states_write_nothing(post: Post, phone_services: Services) -> None:
    assert post("/twilio/status", payload(MESSAGING, "statusValid")).status_code == 404
    assert post("/twilio/status", payload(MESSAGING, "statusInvalid")).status_code == 400
    assert post("/twilio/status", {"CallSid": "CA404", "CallStatus": "completed"}
                ).status_code == 404
    with phone_services.database.read() as session:
        assert session.execute(select(Message)).first() is None


def test_permanent_and_retryable_twilio_errors(post: Post, phone_services: Services,
                                               twilio_api: RecordingApi) -> None:
    twilio_api.replies = [(503, {"code": 20500, "message": "Service unavailable"})]
    text_in(post)
    phone_services.dispatcher.send_one()
    item = outbox(phone_services)
    assert item.status == "pending" and "503" in item.last_error
    assert acknowledgement(phone_services).delivery_status == "queued"
    twilio_api.replies = [(400, {"code": 21211, "message": "Invalid 'To' Phone Number",
                                 "status": 400})]
    with phone_services.database.write() as session:
        due = session.get(OutboxItem, item.id)
        assert due is not None
        due.next_attempt_at = due.created_at
    phone_services.dispatcher.send_one()
    item = outbox(phone_services)
    assert item.status == "failed" and "21211" in item.last_error
    assert len(twilio_api.requests) == 2


def test_nothing_is_sent_to_an_opted_out_number(post: Post, phone_services: Services,
                                                twilio_api: RecordingApi) -> None:
    text_in(post)
    stop = dict(payload(MESSAGING, "receiveValid"), Body="退订", MessageSid="SM" + "9" * 32)
    assert post("/twilio/sms", stop).status_code == 200
    phone_services.dispatcher.send_one()
    assert twilio_api.requests == []
    item = outbox(phone_services)
    assert item.status == "failed" and "opted out" in item.last_error


class TestWithoutAccount:
    @pytest.fixture
    def phone_env(self) -> dict[str, str]:
        return {"CC_TWILIO_AUTH_TOKEN": TOKEN, "CC_TWILIO_PUBLIC_URL": PUBLIC}

    def test_the_demo_writes_sms_to_the_data_folder(self, post: Post,
                                                    phone_services: Services) -> None:
        text_in(post)
        phone_services.dispatcher.send_one()
        item = outbox(phone_services)
        written = Path(phone_services.config.data_dir / "outbox-sms" / f"{item.id}.json")
        sms = json.loads(written.read_text(encoding="utf-8"))
        assert sms["to"] == "+14133881111" and item.payload["reference"] in sms["body"]
        assert item.status == "sent"


def test_whatsapp_replies_go_from_the_whatsapp_sender(post: Post, phone_services: Services,
                                                      twilio_api: RecordingApi) -> None:
    assert post("/twilio/sms", payload(MESSAGING, "waReceiveValid")).status_code == 200
    assert outbox(phone_services).channel == "whatsapp"
    phone_services.dispatcher.send_one()
    assert outbox(phone_services).status == "pending"  # no WhatsApp sender configured yet
    assert twilio_api.requests == []


def test_voice_sdk_tokens_carry_the_agent_and_the_twiml_app() -> None:
    from settings import load_config

    config = load_config(env={"CC_TWILIO_ACCOUNT_SID": ACCOUNT, "CC_PHONE_API_KEY_SID": "SK1",
                              "CC_PHONE_API_KEY_SECRET": "s" * 32, "CC_DEMO": "0",
                              "CC_PHONE_TWIML_APP_SID": "AP1"})
    token = access_token(config, "alice")
    assert token is not None
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["iss"] == "SK1" and claims["sub"] == ACCOUNT
    assert claims["grants"]["identity"] == "alice"
    assert claims["grants"]["voice"]["outgoing"]["application_sid"] == "AP1"
    assert access_token(load_config(env={"CC_DEMO": "0"}), "alice") is None


RETRY, FAIL = "pending", "failed"


@pytest.mark.parametrize(("status", "code", "outcome"), [
    (429, 20429, RETRY),  # too many requests
    (401, 20003, RETRY),  # wrong credentials: fixed in config, the SMS waits
    (403, 20003, RETRY),
    (500, 20500, RETRY),
    (502, None, RETRY),
    (503, 20503, RETRY),
    (400, 21211, FAIL),  # invalid 'To' number
    (400, 21610, FAIL),  # unsubscribed recipient
    (400, 21612, FAIL),  # not reachable from this number
    (400, 21614, FAIL),  # not a mobile number
    (400, 63016, FAIL),  # WhatsApp: outside the allowed window
    (400, 63018, RETRY),  # WhatsApp: the sender's rate limit, passes like a 429
    (404, 20404, FAIL),  # another 4xx
])
def test_twilio_errors_are_retryable_or_permanent(post: Post, phone_services: Services,
                                                   twilio_api: RecordingApi, status: int,
                                                   code: int | None, outcome: str) -> None:
    answer = {"status": status, "message": "from the test server",
              **({"code": code} if code else {})}
    twilio_api.replies = [(status, answer)]
    text_in(post)
    phone_services.dispatcher.send_one()
    assert len(twilio_api.requests) == 1  # the real client made the one REST call
    item = outbox(phone_services)
    assert item.status == outcome and str(status) in item.last_error
    if code:
        assert str(code) in item.last_error
    assert acknowledgement(phone_services).delivery_status == (
        "queued" if outcome == RETRY else "failed")


class TestTwilioUnreachable:
    @pytest.fixture
    def phone_env(self) -> dict[str, str]:
        with socket.socket() as probe:  # a port nothing listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        return {"CC_TWILIO_AUTH_TOKEN": TOKEN, "CC_TWILIO_PUBLIC_URL": PUBLIC,
                "CC_TWILIO_ACCOUNT_SID": ACCOUNT, "CC_PHONE_FROM_NUMBER": "+442071838750",
                "CC_PHONE_API_BASE_URL": f"http://127.0.0.1:{port}"}

    def test_a_network_error_is_retried(self, post: Post, phone_services: Services) -> None:
        text_in(post)
        phone_services.dispatcher.send_one()
        item = outbox(phone_services)
        assert item.status == RETRY and "unreachable" in item.last_error
        assert acknowledgement(phone_services).delivery_status == "queued"


class TestWhatsAppSender:
    @pytest.fixture(params=["whatsapp:+442071838751", "+442071838751"])
    def phone_env(self, request: pytest.FixtureRequest,
                  twilio_api: RecordingApi) -> dict[str, str]:
        return {"CC_TWILIO_AUTH_TOKEN": TOKEN, "CC_TWILIO_PUBLIC_URL": PUBLIC,
                "CC_TWILIO_ACCOUNT_SID": ACCOUNT, "CC_PHONE_API_BASE_URL": twilio_api.url,
                "CC_PHONE_FROM_NUMBER": "+442071838750",
                "CC_PHONE_WHATSAPP_FROM": str(request.param)}

    def test_whatsapp_messages_go_whatsapp_to_whatsapp(self, post: Post,
                                                       phone_services: Services,
                                                       twilio_api: RecordingApi) -> None:
        assert post("/twilio/sms", payload(MESSAGING, "waReceiveValid")).status_code == 200
        assert phone_services.dispatcher.send_one() is True
        [call] = twilio_api.requests
        assert call["path"] == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
        form = call["form"]
        assert form["From"] == "whatsapp:+442071838751"  # with or without it in config
        assert form["To"] == "whatsapp:+14133881111"
        item = outbox(phone_services)
        assert item.status == "sent" and item.payload["reference"] in form["Body"]
        assert form["StatusCallback"] == f"{PUBLIC}/twilio/status?o={item.id}"
        sent = acknowledgement(phone_services)
        assert sent.channel == "whatsapp" and sent.delivery_status == "sent"


def test_a_chinese_acknowledgement_writes_its_date_in_chinese(post: Post,
                                                              phone_services: Services,
                                                              twilio_api: RecordingApi) -> None:
    text_in(post, "我家门口的路灯坏了，晚上很黑")
    assert phone_services.dispatcher.send_one() is True
    body = twilio_api.requests[0]["form"]["Body"]
    due = dt.datetime.fromisoformat(outbox(phone_services).payload["first_response_due"])
    local = due.astimezone(phone_services.config.timezone)
    assert f"将于{local.month}月{local.day}日 {local:%H:%M}前答复。" in body
    assert not re.search(r"[A-Za-z]{3} \d\d:\d\d", body)  # no "Dec 16:00"
    assert "We" not in body


def test_acknowledgements_without_a_department_say_we_in_the_citizens_language(
        phone_services: Services) -> None:
    config = phone_services.config
    due = {"reference": "CC-2026-000019", "department_name": {}, "department": "",
           "first_response_due": "2026-12-08T16:00:00+00:00"}
    assert texts.acknowledgement(config, {**due, "language": "zh"}).endswith(
        "案件编号 CC-2026-000019。我们将于12月8日 16:00前答复。")
    assert "We will answer by 08 Dec 16:00." in texts.acknowledgement(
        config, {**due, "language": "en"})
    summer = {**due, "language": "zh-CN", "first_response_due": "2026-07-01T08:30:00+00:00"}
    assert "7月1日 09:30前" in texts.acknowledgement(config, summer)  # London time (BST)


def test_a_survey_text_that_comes_due_after_closing_waits_for_the_morning(
        phone_app: Flask, phone_services: Services, twilio_api: RecordingApi,
        monkeypatch: pytest.MonkeyPatch) -> None:
    evening = dt.datetime(2026, 12, 7, 19, 30, tzinfo=dt.UTC)  # a Monday, closed at 18:00
    morning = dt.datetime(2026, 12, 8, 8, 0, tzinfo=dt.UTC)
    clock = [evening]
    monkeypatch.setattr("channels.phone.outbound.utcnow", lambda: clock[0])
    taken = phone_services.intake.take(InboundContact(
        "sms", "SMsurvey", Sender(phone="+14133881111"), text="Pothole on Mill Lane",
        automated=True))
    with phone_services.database.write() as session:  # as the survey sender queues it
        item_id = outbox_queue.enqueue(session, case_id=taken.case_id, channel="sms",
                                       recipient="+14133881111", kind="survey",
                                       payload={"text": "How satisfied are you? 1 to 5"},
                                       now=evening - dt.timedelta(hours=3))
    assert phone_services.dispatcher.send_one(evening) is True
    assert twilio_api.requests == []  # nothing texted in the evening
    with phone_services.database.read() as session:
        waiting = session.get(OutboxItem, item_id)
    assert waiting is not None and waiting.status == "pending"
    assert waiting.next_attempt_at >= morning
    clock[0] = morning
    assert phone_services.dispatcher.send_one(waiting.next_attempt_at) is True
    [request] = twilio_api.requests
    assert request["form"]["Body"] == "How satisfied are you? 1 to 5"


def test_a_reply_the_carrier_could_not_deliver_puts_the_case_back_to_work(
        post: Post, phone_services: Services, twilio_api: RecordingApi) -> None:
    """Twilio took the agent's SMS, then the carrier failed it: no answer reached the phone,
    so the case is worked again and the supervisors hear of it, as for a refused email."""
    text_in(post)
    phone_services.dispatcher.send_one()  # the acknowledgement
    with phone_services.database.write() as session:
        agent = auth.create_user(session, "sam", "agent", "sam-password-123",
                                 departments=tuple(d.id for d in phone_services.config.departments))
        case = session.execute(select(Case)).scalar_one()
        for action in ("accept", "start"):
            workflow.apply(session, case, action, "sam", calendar=phone_services.calendar)
        shown = replies.preview(session, phone_services.kb, case, agent,
                                replies.Draft("sms", "We will collect them on Friday."),
                                "City of Example", PUBLIC)
        message_id, _ = replies.send(
            session, phone_services.kb, case, agent,
            replies.Draft("sms", "We will collect them on Friday.", form_token="t1",
                          version=case.updated_at.isoformat(),
                          previewed=replies.digest(shown, "+14133881111")),
            administration="City of Example", help_base=PUBLIC,
            calendar=phone_services.calendar)
        reference = case.reference
    phone_services.dispatcher.send_one()  # the reply, taken by Twilio
    with phone_services.database.read() as session:
        case = session.execute(select(Case)).scalar_one()
        reply = session.get(Message, message_id)
        item = session.execute(select(OutboxItem).where(
            col(OutboxItem.message_id) == message_id)).scalar_one()
    assert case.status == "answered" and case.first_response_at is not None
    assert reply is not None and reply.delivery_status == "sent"
    failed = dict(payload(MESSAGING, "statusValid"), MessageSid=reply.external_id or "",
                  MessageStatus="undelivered", ErrorCode="30003")
    for _retry in range(2):  # Twilio retries callbacks: one reopening, one alert
        assert post(f"/twilio/status?o={item.id}", failed).status_code == 204
    with phone_services.database.read() as session:
        case = session.execute(select(Case)).scalar_one()
        item = session.get(OutboxItem, item.id)
        alerts = session.execute(select(SupervisorAlert)).scalars().all()
        reopened = session.execute(select(AuditEvent).where(
            col(AuditEvent.action) == "reopen")).scalars().all()
    assert case.status == "in_progress" and case.first_response_at is None
    assert item is not None and item.status == "failed" and "30003" in item.last_error
    assert [a.kind for a in alerts] == ["reply_failed"] and reference in alerts[0].message
    assert len(reopened) == 1


def test_an_acknowledgement_the_carrier_could_not_deliver_changes_no_case(
        post: Post, phone_services: Services, twilio_api: RecordingApi) -> None:
    text_in(post)
    phone_services.dispatcher.send_one()
    item = outbox(phone_services)
    with phone_services.database.read() as session:
        before = session.execute(select(Case)).scalar_one()
    failed = dict(payload(MESSAGING, "statusValid"),
                  MessageSid=acknowledgement(phone_services).external_id or "",
                  MessageStatus="failed", ErrorCode="30006")
    assert post(f"/twilio/status?o={item.id}", failed).status_code == 204
    with phone_services.database.read() as session:
        after = session.execute(select(Case)).scalar_one()
        assert session.execute(select(SupervisorAlert)).first() is None
    assert outbox(phone_services).status == "failed"
    assert (after.status, after.updated_at) == (before.status, before.updated_at)
    assert acknowledgement(phone_services).delivery_status == "failed"
