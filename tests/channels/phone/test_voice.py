"""The phone menu: real inbound-call bodies, TwiML read as XML, a case behind every call."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import col, select

from caseboard import auth
from caseboard.contacts import InboundContact, Sender
from caseboard.models import Case, CaseStatus, Message
from caseboard.services import Services
from channels.phone.models import PhoneCall
from tests.channels.phone.conftest import VOICE, Post, payload, synthetic, twiml

OPEN = dt.datetime(2026, 12, 2, 11, 0, tzinfo=dt.UTC)  # a Wednesday morning in London
CLOSED = dt.datetime(2026, 12, 6, 11, 0, tzinfo=dt.UTC)  # a Sunday


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[dt.datetime]:
    """The moment the menu sees (opening hours decide between queue and voicemail)."""
    now = [OPEN]
    monkeypatch.setattr("channels.phone.voice.utcnow", lambda: now[0])
    return now


PASSWORD = "a-long-password"


def add_people(services: Services) -> None:
    with services.database.write() as session:
        auth.create_user(session, "alice", "agent", PASSWORD, departments=("housing", "triage"))


def sign_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = client.post("/login", data={"csrf_token": token, "username": username,
                                         "password": PASSWORD})
    assert answer.status_code == 303
    return client


def call_params(**extra: str) -> dict[str, str]:
    return {**synthetic("incoming_call"), **extra}


def cases(services: Services) -> list[Case]:
    with services.database.read() as session:
        return list(session.execute(select(Case).order_by(col(Case.id))).scalars())


def messages(services: Services, case_id: int | None) -> list[Message]:
    with services.database.read() as session:
        return list(session.execute(select(Message).where(col(Message.case_id) == case_id)
                                    .order_by(col(Message.id))).scalars())


def spoken(root: ET.Element) -> str:
    return " ".join(say.text or "" for say in root.iter("Say"))


def test_real_inbound_calls_open_one_case_each(post: Post, phone_services: Services) -> None:
    for name in ("inbound_call_0", "inbound_call_1"):  # "Caller" only, then "From"
        root = twiml(post("/twilio/voice", payload(VOICE, name)))
        gather = root.find("Gather")
        assert gather is not None and gather.get("action") == "/twilio/voice/language"
        assert "press 1" in spoken(gather) and "按2" in spoken(gather)
    found = cases(phone_services)
    assert len(found) == 1 and found[0].channel == "phone"  # the same CallSid twice
    assert messages(phone_services, found[0].id)[0].sender == "+12064871234"


def test_a_hidden_number_is_told_so_and_nothing_is_written(post: Post,
                                                           phone_services: Services) -> None:
    root = twiml(post("/twilio/voice", payload(VOICE, "inbound_call_2")))
    assert "hidden number" in spoken(root) and root.find("Hangup") is not None
    assert cases(phone_services) == []


def test_mandarin_menu_and_an_operator(post: Post, phone_services: Services,
                                       clock: list[dt.datetime]) -> None:
    post("/twilio/voice", call_params())
    root = twiml(post("/twilio/voice/language", call_params(Digits="2")))
    gather = root.find("Gather")
    assert gather is not None and gather.get("input") == "speech dtmf"
    assert gather.get("language") == "cmn-Hans-CN" and "人工服务请按3" in spoken(gather)
    root = twiml(post("/twilio/voice/choice", call_params(Digits="3")))
    enqueue = root.find("Enqueue")
    assert enqueue is not None and enqueue.text == "triage"
    assert enqueue.get("waitUrl") == "/twilio/voice/wait"
    with phone_services.database.read() as session:
        call = session.execute(select(PhoneCall)).scalar_one()
    assert (call.status, call.language, call.department_id) == ("queued", "zh", "triage")
    wait = twiml(post("/twilio/voice/wait", call_params(QueuePosition="3", QueueTime="40")))
    assert "3" in spoken(wait) and wait.find("Pause") is not None
    too_long = twiml(post("/twilio/voice/wait", call_params(QueueTime="301")))
    assert too_long.find("Leave") is not None
    offer = twiml(post("/twilio/voice/dequeued", call_params(QueueResult="leave")))
    assert offer.find("Gather") is not None and "留言请按1" in spoken(offer)


def test_speech_finds_an_answer_and_yes_resolves_with_the_article(
        post: Post, phone_services: Services, clock: list[dt.datetime]) -> None:
    phone_services.kb.load_demo()
    post("/twilio/voice", call_params())
    post("/twilio/voice/language", call_params(Digits="1"))
    speech = call_params(SpeechResult="How do I get rid of an old sofa?", Confidence="0.93")
    root = twiml(post("/twilio/voice/choice", speech))
    gather = root.find("Gather")
    assert gather is not None and "Did that answer your question" in spoken(gather)
    action = gather.get("action") or ""
    assert action.startswith("/twilio/voice/answered?") and "bulky-waste" in action
    twiml(post("/twilio/voice/choice", speech))  # Twilio retried: no second message
    case = cases(phone_services)[0]
    assert case.department_id == "waste"
    said = [m for m in messages(phone_services, case.id) if m.text.startswith("How do I")]
    assert len(said) == 1
    for _ in range(2):  # the second is Twilio retrying: still one answer on the case
        done = twiml(post(action, call_params(SpeechResult="Yes, thank you")))
        assert done.find("Hangup") is not None
    case = cases(phone_services)[0]
    assert case.status == CaseStatus.RESOLVED
    answer = [m for m in messages(phone_services, case.id) if m.direction == "out"]
    assert len(answer) == 1 and answer[0].article_slug and answer[0].article_version


def test_noise_is_asked_again_then_goes_to_a_person(post: Post, phone_services: Services,
                                                    clock: list[dt.datetime]) -> None:
    post("/twilio/voice", call_params())
    root = twiml(post("/twilio/voice/speech?tries=0", call_params(SpeechResult=" ... ")))
    assert "did not catch" in spoken(root) and root.find("Gather") is not None
    root = twiml(post("/twilio/voice/speech?tries=1", call_params(SpeechResult="")))
    assert root.find("Enqueue") is not None
    assert len(messages(phone_services, cases(phone_services)[0].id)) == 1  # only the ring


def test_status_by_reference_only_for_the_cases_own_caller(post: Post,
                                                           phone_services: Services) -> None:
    result = phone_services.intake.take(InboundContact(
        channel="sms", external_id="SMearlier", sender=Sender(phone="+14155550100"),
        text="My bins were not collected on Elm Road"))
    number = result.reference.split("-", 1)[1].replace("-", "")  # CC-2026-000001 → 2026000001
    post("/twilio/voice", call_params())
    root = twiml(post("/twilio/voice/reference", call_params(Digits=number + "#")))
    assert " ".join(result.reference) in spoken(root)
    stranger = call_params(CallSid="CA" + "7" * 32, From="+14155550999")
    post("/twilio/voice", stranger)
    root = twiml(post("/twilio/voice/reference", dict(stranger, Digits=number)))
    text = spoken(root)
    assert "number we have" in text and " ".join(result.reference) not in text


def test_voicemail_when_closed_with_recording_and_transcript(post: Post,
                                                             phone_services: Services,
                                                             clock: list[dt.datetime]) -> None:
    clock[0] = CLOSED
    post("/twilio/voice", call_params())
    root = twiml(post("/twilio/voice/choice", call_params(Digits="3")))
    assert "closed" in spoken(root) and root.find("Gather") is not None
    record = twiml(post("/twilio/voice/after", call_params(Digits="1"))).find("Record")
    assert record is not None and record.get("transcribe") == "true"
    assert record.get("transcribeCallback") == "/twilio/voice/transcription"
    recorded = synthetic("record_action")
    for _ in range(2):  # retried: still one voicemail
        twiml(post("/twilio/voice/recorded", recorded))
    assert post("/twilio/voice/transcription", synthetic("transcription_callback")
                ).status_code == 204
    case = cases(phone_services)[0]
    voicemail = [m for m in messages(phone_services, case.id)
                 if m.external_id == recorded["RecordingSid"]]
    assert len(voicemail) == 1
    details = voicemail[0].details
    assert details["recording"] == {"url": recorded["RecordingUrl"], "duration": 12,
                                    "transcript": "Hello, I would like to report a broken "
                                                  "streetlight."}
    assert details["callback"]["number"] == "+14155550100"
    unknown = dict(synthetic("transcription_callback"), RecordingSid="RE404")
    assert post("/twilio/voice/transcription", unknown).status_code == 404


def test_call_back_request(post: Post, phone_services: Services) -> None:
    post("/twilio/voice", call_params())
    root = twiml(post("/twilio/voice/after", call_params(Digits="2")))
    assert "call you back" in spoken(root)
    case = cases(phone_services)[0]
    assert any(m.details.get("callback") for m in messages(phone_services, case.id))


def test_unsigned_voice_webhooks_write_nothing(post: Post, phone_services: Services) -> None:
    assert post("/twilio/voice", call_params(), sign=False).status_code == 403
    assert post("/twilio/voice/recorded", synthetic("record_action"), sign=False
                ).status_code == 403
    assert cases(phone_services) == []


def test_the_board_lists_calls_waiting_per_department(post: Post, phone_app: Flask,
                                                      phone_services: Services,
                                                      clock: list[dt.datetime]) -> None:
    post("/twilio/voice", call_params())
    post("/twilio/voice/choice", call_params(Digits="3"))
    assert phone_app.test_client().get("/board/calls").status_code == 302  # sign in first
    add_people(phone_services)
    page = sign_in(phone_app, "alice").get("/board/calls").get_data(as_text=True)
    reference = cases(phone_services)[0].reference
    assert f'href="/board/case/{reference}"' in page and "+14155550100" in page
    # The agent's browser calls in: it is connected to the oldest caller.
    root = twiml(post("/twilio/agent", {"CallSid": "CA" + "5" * 32, "From": "client:alice"}))
    dial = root.find("Dial")
    assert dial is not None and dial.findtext("Queue") == "triage"


def test_no_key_pressed_and_a_wrong_key(post: Post, phone_services: Services) -> None:
    greeting = twiml(post("/twilio/voice", call_params()))
    assert greeting.findtext("Redirect") == "/twilio/voice/menu"  # no key: English menu
    menu = twiml(post("/twilio/voice/menu", call_params()))
    gather = menu.find("Gather")
    assert gather is not None and gather.get("language") == "en-GB"
    wrong = twiml(post("/twilio/voice/choice", call_params(Digits="9")))
    assert "not one of the options" in spoken(wrong) and wrong.find("Gather") is not None
    assert post("/twilio/voice/nowhere", call_params()).status_code == 404


def queued_call(services: Services) -> PhoneCall:
    with services.database.read() as session:
        return session.execute(select(PhoneCall)).scalar_one()


def test_a_missed_bin_with_no_article_is_queued_for_waste_not_triage(
        post: Post, phone_services: Services, clock: list[dt.datetime]) -> None:
    post("/twilio/voice", call_params())
    post("/twilio/voice/language", call_params(Digits="1"))
    root = twiml(post("/twilio/voice/choice", call_params(
        SpeechResult="My bin was not collected this week", Confidence="0.91")))
    enqueue = root.find("Enqueue")
    assert enqueue is not None and enqueue.text == "waste"
    assert "Connecting you to Waste and recycling" in spoken(root)
    call = queued_call(phone_services)
    assert (call.status, call.department_id) == ("queued", "waste")
    assert cases(phone_services)[0].department_id == "waste"


@pytest.mark.parametrize("answer", [{"SpeechResult": "No, not really"}, {"Digits": "2"}, {}])
def test_an_answer_that_did_not_help_queues_for_the_routed_department(
        post: Post, phone_services: Services, clock: list[dt.datetime],
        answer: dict[str, str]) -> None:
    phone_services.kb.load_demo()
    post("/twilio/voice", call_params())
    post("/twilio/voice/language", call_params(Digits="1"))
    root = twiml(post("/twilio/voice/choice", call_params(
        SpeechResult="How do I get rid of an old sofa?")))
    gather = root.find("Gather")
    assert gather is not None
    # Said "no", pressed 2, or said nothing (the <Redirect> with Default=2).
    action = gather.get("action") or "" if answer else root.findtext("Redirect") or ""
    queued = twiml(post(action, call_params(**answer)))
    enqueue = queued.find("Enqueue")
    assert enqueue is not None and enqueue.text == "waste"
    assert queued_call(phone_services).department_id == "waste"
    case = cases(phone_services)[0]
    assert case.status != CaseStatus.RESOLVED and case.department_id == "waste"
    assert not [m for m in messages(phone_services, case.id) if m.article_slug]


def test_status_check_reads_back_the_status_and_the_department(
        post: Post, phone_services: Services) -> None:
    result = phone_services.intake.take(InboundContact(
        channel="sms", external_id="SMearlier", sender=Sender(phone="+14155550100"),
        text="My bins were not collected on Elm Road"))
    number = result.reference.split("-", 1)[1].replace("-", "")
    post("/twilio/voice", call_params())
    text = spoken(twiml(post("/twilio/voice/reference", call_params(Digits=number + "#"))))
    assert f"Case {' '.join(result.reference)} is with the department, handled by Waste " \
           "and recycling." in text
    with phone_services.database.write() as session:  # the department accepts and starts
        case = session.execute(select(Case).where(
            col(Case.reference) == result.reference)).scalar_one()
        case.status, case.department_id = CaseStatus.IN_PROGRESS, "roads"
        session.add(case)
    post("/twilio/voice", call_params(CallSid="CA" + "3" * 32))
    zh = call_params(CallSid="CA" + "3" * 32)
    post("/twilio/voice/language", dict(zh, Digits="2"))
    text = spoken(twiml(post("/twilio/voice/reference", dict(zh, Digits=number))))
    assert "正在办理" in text and "道路" in text


def test_the_board_shows_the_calls_case_as_soon_as_it_rings(
        post: Post, phone_app: Flask, phone_services: Services) -> None:
    add_people(phone_services)
    alice = sign_in(phone_app, "alice")
    twiml(post("/twilio/voice", call_params()))  # ringing: nothing said or keyed yet
    case = cases(phone_services)[0]
    assert case.department_id == "triage"
    page = alice.get("/board/triage").get_data(as_text=True)
    assert case.reference in page
    opened = alice.get(f"/board/case/{case.reference}")
    assert opened.status_code == 200 and "+14155550100" in opened.get_data(as_text=True)


@pytest.mark.parametrize("state", ["completed", "no-answer", "busy", "canceled"])
def test_a_call_status_callback_takes_the_call_out_of_the_queue(
        post: Post, phone_app: Flask, phone_services: Services, clock: list[dt.datetime],
        state: str) -> None:
    add_people(phone_services)
    alice = sign_in(phone_app, "alice")
    post("/twilio/voice", call_params())
    post("/twilio/voice/choice", call_params(Digits="3"))
    assert "in queue" in alice.get("/board/calls").get_data(as_text=True)
    ended = call_params(CallStatus=state, CallDuration="50")
    for _ in range(2):  # retried: the same answer
        assert post("/twilio/status", ended).status_code == 204
    call = queued_call(phone_services)
    assert call.status == "completed" and call.ended_at is not None
    page = alice.get("/board/calls").get_data(as_text=True)
    assert "No caller is waiting" in page and "in queue" not in page


def test_a_caller_hanging_up_in_the_queue_leaves_it(post: Post, phone_app: Flask,
                                                    phone_services: Services,
                                                    clock: list[dt.datetime]) -> None:
    add_people(phone_services)
    alice = sign_in(phone_app, "alice")
    post("/twilio/voice", call_params())
    post("/twilio/voice/choice", call_params(Digits="3"))
    root = twiml(post("/twilio/voice/dequeued", call_params(QueueResult="hangup",
                                                            QueueTime="75")))
    assert root.find("Hangup") is not None
    assert queued_call(phone_services).status == "completed"
    assert "No caller is waiting" in alice.get("/board/calls").get_data(as_text=True)
    root = twiml(post("/twilio/agent", {"CallSid": "CA" + "5" * 32, "From": "client:alice"}))
    assert root.find("Dial") is None and root.find("Hangup") is not None  # nobody to take
