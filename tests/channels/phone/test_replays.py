"""The real webhook bodies no other test replays: mailroom's IVR callbacks (menu keys, a gather
that timed out, an empty recording, a dial answered, call status callbacks) and courier's
statusRead, statusRateLimit, tmsStatusExtra and receiveBase64. Each is signed with the real
RequestValidator; TwiML is read as XML; state is checked after each."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from sqlmodel import col, func, select

from caseboard import assignment, auth
from caseboard.models import AuditEvent, Case, Message, OutboxItem, User
from caseboard.services import Services
from channels.phone.models import PhoneCall, PhoneCallback
from tests.channels.phone.conftest import (
    MESSAGING,
    VOICE,
    Post,
    RecordingApi,
    account_env,
    payload,
    twiml,
)

OPEN = dt.datetime(2026, 12, 2, 11, 0, tzinfo=dt.UTC)  # a Wednesday morning in London
ACCOUNT = "AC" + "e" * 32
# mailroom's callbacks carry no CallSid (its tests strip it): they are replayed as recorded,
# then as a call we know sends them (Twilio always names the call).
OUR_CALL = {"CallSid": "Call4", "From": "+16055741111"}


@pytest.fixture(autouse=True)
def opening_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("channels.phone.voice.utcnow", lambda: OPEN)


def spoken(root: ET.Element) -> str:
    return " ".join(say.text or "" for say in root.iter("Say"))


def count(services: Services, model: type) -> int:
    with services.database.read() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def phone_call(services: Services, sid: str = "Call4") -> PhoneCall:
    with services.database.read() as session:
        return session.execute(select(PhoneCall).where(
            col(PhoneCall.call_sid) == sid)).scalar_one()


def ours(name: str) -> dict[str, str]:
    return {**payload(VOICE, name), **OUR_CALL}


@pytest.fixture
def ringing(post: Post, phone_services: Services) -> Case:
    """mailroom's incoming call (ivr_callback_10: Caller only, CallStatus=ringing)."""
    root = twiml(post("/twilio/voice", payload(VOICE, "ivr_callback_10")))
    gather = root.find("Gather")
    assert gather is not None and gather.get("action") == "/twilio/voice/language"
    with phone_services.database.read() as session:
        case = session.execute(select(Case)).scalar_one()
    assert case.channel == "phone"
    assert phone_call(phone_services).from_number == "+16055741111"
    return case


@pytest.mark.parametrize(("name", "path"), [
    ("ivr_callback_0", "/twilio/voice/choice"), ("ivr_callback_1", "/twilio/voice/choice"),
    ("ivr_callback_2", "/twilio/voice/choice"), ("ivr_callback_3", "/twilio/voice/reference"),
    ("ivr_callback_4", "/twilio/voice/recorded"), ("ivr_callback_5", "/twilio/voice/dialled"),
    ("ivr_callback_7", "/twilio/voice/reference"), ("ivr_callback_8", "/twilio/voice"),
    ("ivr_callback_11", "/twilio/voice/language"),
])
def test_callbacks_without_a_call_sid_are_refused_and_write_nothing(
        post: Post, phone_services: Services, name: str, path: str) -> None:
    answer = post(path, payload(VOICE, name))
    assert answer.status_code == 400 and answer.data == b"CallSid is missing\n"
    assert answer.mimetype == "text/plain"  # like the other webhook errors, not an HTML page
    assert count(phone_services, Case) == 0 and count(phone_services, PhoneCall) == 0


def test_menu_keys_timeouts_and_status_checks(post: Post, phone_services: Services,
                                              ringing: Case) -> None:
    zh = twiml(post("/twilio/voice/language", ours("ivr_callback_11")))  # Digits=2
    assert phone_call(phone_services).language == "zh" and "人工服务请按3" in spoken(zh)
    timed_out = twiml(post("/twilio/voice/choice", ours("ivr_callback_0")))  # no key
    assert "没有听清楚" in spoken(timed_out) and timed_out.find("Gather") is not None
    reference = twiml(post("/twilio/voice/choice", ours("ivr_callback_1")))  # Digits=1
    gather = reference.find("Gather")
    assert gather is not None and gather.get("action") == "/twilio/voice/reference"
    wrong = twiml(post("/twilio/voice/choice", ours("ivr_callback_2")))  # Digits=101
    assert "没有这个选项" in spoken(wrong)
    for name in ("ivr_callback_3", "ivr_callback_7"):  # Digits=56, the second after hang-up
        answer = twiml(post("/twilio/voice/reference", ours(name)))
        assert "我们会通过我们登记的号码与您联系" in spoken(answer)
        assert answer.find("Hangup") is not None
    with phone_services.database.read() as session:
        checks = session.execute(select(Message.text).where(
            col(Message.case_id) == ringing.id, col(Message.text).like("Status check%"))
        ).scalars().all()
    assert checks == ["Status check by phone for reference digits 56: not given to this "
                      "caller"]  # the same digits twice on one call are one message
    assert phone_call(phone_services).status == "menu"


def test_an_empty_recording_offers_again_and_leaves_no_voicemail(
        post: Post, phone_services: Services, ringing: Case) -> None:
    before = count(phone_services, Message)
    root = twiml(post("/twilio/voice/recorded", ours("ivr_callback_4")))
    assert "did not get a message" in spoken(root) and root.find("Gather") is not None
    assert count(phone_services, Message) == before
    assert count(phone_services, PhoneCallback) == 0


def test_a_dial_the_agent_answered_ends_the_call_and_keeps_the_agent_available(
        post: Post, phone_services: Services, ringing: Case) -> None:
    with phone_services.database.write() as session:
        auth.create_user(session, "alice", "agent", "a-long-password", departments=("triage",))
        assignment.set_presence(session, "alice", "available", "alice")
        call = session.execute(select(PhoneCall)).scalar_one()
        call.status, call.agent, call.department_id = "connecting", "alice", "triage"
        session.add(call)
    root = twiml(post("/twilio/voice/dialled", ours("ivr_callback_5")))  # answered
    assert root.find("Hangup") is not None and root.find("Enqueue") is None
    assert phone_call(phone_services).status == "completed"
    with phone_services.database.read() as session:
        presence = session.execute(select(User.presence).where(
            col(User.username) == "alice")).scalar_one()
    assert presence == "available"  # she picked up: not set away


def test_call_status_callbacks(post: Post, phone_services: Services) -> None:
    for name in ("ivr_callback_6", "ivr_callback_9"):  # Call1, Call3: calls we never saw
        assert post("/twilio/status", payload(VOICE, name)).status_code == 404
    assert count(phone_services, PhoneCall) == 0
    twiml(post("/twilio/voice", payload(VOICE, "ivr_callback_12")))  # Call5 rings...
    for _ in range(2):  # ...and fails; the retry changes nothing
        assert post("/twilio/status", payload(VOICE, "ivr_callback_13")).status_code == 204
    call = phone_call(phone_services, "Call5")
    assert call.status == "completed" and call.ended_at is not None


class TestMessageStatus:
    @pytest.fixture
    def phone_env(self, twilio_api: RecordingApi) -> dict[str, str]:
        return account_env(twilio_api, ACCOUNT, CC_PHONE_FROM_NUMBER="+442071838750")

    def sent(self, post: Post, services: Services, api: RecordingApi, sid: str) -> Message:
        """An acknowledgement sent through the real client; Twilio named it `sid`."""
        # courier's inbound and status bodies share one MessageSid; Twilio's never do.
        body = dict(payload(MESSAGING, "receiveValid"), Body="Broken swing in Elm Park",
                    MessageSid="SM" + "4" * 32)
        assert post("/twilio/sms", body).status_code == 200
        api.replies = [(201, {"sid": sid})]
        assert services.dispatcher.send_one() is True
        return self.acknowledgement(services)

    def acknowledgement(self, services: Services) -> Message:
        with services.database.read() as session:
            return session.execute(select(Message).where(
                col(Message.direction) == "out")).scalar_one()

    def test_delivered_then_read(self, post: Post, phone_services: Services,
                                 twilio_api: RecordingApi) -> None:
        sid = payload(MESSAGING, "statusRead")["MessageSid"]
        assert self.sent(post, phone_services, twilio_api, sid).delivery_status == "sent"
        assert post("/twilio/status", payload(MESSAGING, "statusRead")).status_code == 204
        assert self.acknowledgement(phone_services).delivery_status == "read"
        # A late "delivered" (Twilio does not keep order) does not move it back.
        assert post("/twilio/status", payload(MESSAGING, "statusValid")).status_code == 204
        assert self.acknowledgement(phone_services).delivery_status == "read"

    def test_a_rate_limited_message_is_failed_with_twilios_code(
            self, post: Post, phone_services: Services, twilio_api: RecordingApi) -> None:
        sid = payload(MESSAGING, "statusRateLimit")["MessageSid"]
        self.sent(post, phone_services, twilio_api, sid)
        assert post("/twilio/status", payload(MESSAGING, "statusRateLimit")
                    ).status_code == 204
        row = self.acknowledgement(phone_services)
        assert row.delivery_status == "failed" and row.delivery_error == "Twilio error 63018"
        assert count(phone_services, OutboxItem) == 1  # not an opt-out, nothing else queued

    def test_a_messaging_service_callback(self, post: Post, phone_services: Services,
                                          twilio_api: RecordingApi) -> None:
        extra = payload(MESSAGING, "tmsStatusExtra")
        assert post("/twilio/status", extra).status_code == 404  # not one of ours yet
        row = self.sent(post, phone_services, twilio_api, extra["MessageSid"])
        with phone_services.database.write() as session:  # not yet "sent" on our side
            found = session.get(Message, row.id)
            assert found is not None
            found.delivery_status = "sending"
            session.add(found)
        assert post("/twilio/status", extra).status_code == 204
        assert self.acknowledgement(phone_services).delivery_status == "sent"


def test_a_base64_looking_text_is_filed_as_sent(post: Post, phone_services: Services) -> None:
    body = payload(MESSAGING, "receiveBase64")
    for _ in range(2):  # retried: one message
        assert len(twiml(post("/twilio/sms", body))) == 0
    with phone_services.database.read() as session:
        [message] = session.execute(select(Message).where(
            col(Message.direction) == "in")).scalars().all()
        acknowledged = session.execute(select(OutboxItem.recipient)).scalars().all()
        audited = session.execute(select(func.count()).select_from(AuditEvent).where(
            col(AuditEvent.case_id) == message.case_id)).scalar_one()
    # Kept exactly as the citizen's phone sent it: guessing at decoding could garble a text.
    assert message.text == body["Body"] and message.channel == "sms"
    assert acknowledged == ["+14133881111"] and audited >= 1
