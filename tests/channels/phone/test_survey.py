"""The satisfaction question for a phone case is an automated call: placed through the outbox
with the real twilio client against a local recording server, then answered on signed
webhooks (TwiML read as XML); the score goes through caseboard.satisfaction."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from flask import Flask
from sqlmodel import col, select

from caseboard import workflow
from caseboard.contacts import InboundContact, Sender
from caseboard.models import AuditEvent, Case, CaseStatus, Message, OutboxItem
from caseboard.satisfaction import SurveySender
from caseboard.services import Services
from caseboard.supervisor_models import SupervisorAlert, Survey
from channels.phone.survey import score_from
from tests.channels.phone.conftest import (
    PUBLIC,
    TOKEN,
    VOICE,
    Post,
    RecordingApi,
    account_env,
    payload,
    twiml,
)

ACCOUNT = "AC" + "c" * 32
CITIZEN = "+447700900123"
pytestmark = pytest.mark.ports


@pytest.fixture
def phone_env(twilio_api: RecordingApi) -> dict[str, str]:
    return account_env(twilio_api, ACCOUNT, CC_PHONE_FROM_NUMBER="+442071838750")


@pytest.fixture(autouse=True)
def app_made(phone_app: Flask) -> Flask:
    """The app, as in serve: it also makes the secret key survey tokens are signed with."""
    return phone_app


# Monday 7 December 2026 in London (GMT): open 08:00-18:00.
OPEN = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)
EVENING = dt.datetime(2026, 12, 7, 19, 30, tzinfo=dt.UTC)
NIGHT = dt.datetime(2026, 12, 7, 22, 48, tzinfo=dt.UTC)
NEXT_MORNING = dt.datetime(2026, 12, 8, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> list[dt.datetime]:
    """The moment the survey call's transport and callbacks see (calls only in opening
    hours): Monday morning unless a test moves it."""
    now = [OPEN]
    monkeypatch.setattr("channels.phone.survey.utcnow", lambda: now[0])
    return now


def resolved_call(services: Services, text: str = "Broken streetlight on Elm Road",
                  sid: str = "CA" + "1" * 32) -> int:
    result = services.intake.take(InboundContact(
        "phone", sid, Sender(phone=CITIZEN), text=text, subject="Phone call",
        explicit_department="housing", automated=True,
        language="zh" if not text.isascii() else "en"))
    with services.database.write() as session:
        case = session.get(Case, result.case_id)
        assert case is not None
        for action in ("accept", "start", "resolve"):
            workflow.apply(session, case, action, "alice", calendar=services.calendar)
    return result.case_id


def survey_call_item(services: Services, now: dt.datetime = OPEN) -> OutboxItem:
    SurveySender(services.database, services.config).step(now)
    with services.database.read() as session:
        return session.execute(select(OutboxItem).where(
            col(OutboxItem.kind) == "survey")).scalar_one()


def placed(services: Services, api: RecordingApi) -> str:
    """The survey call placed; returns its token."""
    item = survey_call_item(services)
    assert item.channel == "phone" and item.recipient == CITIZEN
    assert services.dispatcher.send_one(OPEN) is True
    return str(item.payload["token"])


def test_a_case_resolved_at_night_is_called_at_the_next_opening_not_at_once(
        phone_services: Services, twilio_api: RecordingApi, clock: list[dt.datetime]) -> None:
    case_id = resolved_call(phone_services)
    item = survey_call_item(phone_services, now=NIGHT)
    assert item.next_attempt_at == NEXT_MORNING
    dispatcher = phone_services.dispatcher
    assert dispatcher.send_one(NIGHT + dt.timedelta(seconds=1)) is False
    assert dispatcher.send_one(NEXT_MORNING - dt.timedelta(seconds=1)) is False
    assert twilio_api.requests == []  # nobody was rung at night
    clock[0] = NEXT_MORNING
    assert dispatcher.send_one(NEXT_MORNING) is True
    [request] = twilio_api.requests
    assert request["form"]["To"] == CITIZEN
    with phone_services.database.read() as session:
        queued = session.execute(select(AuditEvent).where(
            col(AuditEvent.case_id) == case_id,
            col(AuditEvent.action) == "survey_queued")).scalar_one()
    assert queued.details["not_before"] == NEXT_MORNING.isoformat()


def test_a_call_that_comes_due_after_closing_waits_for_the_morning(
        phone_services: Services, twilio_api: RecordingApi, clock: list[dt.datetime]) -> None:
    """Queued in the morning, but the dispatcher only gets to it in the evening (it was
    stopped until then): the call is put back, not placed, and not failed."""
    resolved_call(phone_services)
    item = survey_call_item(phone_services, now=OPEN)
    dispatcher = phone_services.dispatcher
    clock[0] = EVENING
    assert dispatcher.send_one(EVENING) is True
    assert twilio_api.requests == []
    with phone_services.database.read() as session:
        waiting = session.get(OutboxItem, item.id)
    assert waiting is not None and waiting.status == "pending"
    assert waiting.next_attempt_at >= NEXT_MORNING and "closed" in waiting.last_error
    assert dispatcher.send_one(NIGHT) is False
    clock[0] = NEXT_MORNING
    assert dispatcher.send_one(waiting.next_attempt_at) is True
    assert len(twilio_api.requests) == 1
    with phone_services.database.read() as session:
        sent = session.get(OutboxItem, item.id)
    assert sent is not None and sent.status == "sent"


def survey(services: Services) -> Survey:
    with services.database.read() as session:
        return session.execute(select(Survey)).scalar_one()


def spoken(root: ET.Element) -> str:
    return " ".join(say.text or "" for say in root.iter("Say"))


def call(**extra: str) -> dict[str, str]:
    return {"CallSid": "CA" + "9" * 32, "AccountSid": ACCOUNT, "From": "+442071838750",
            "To": CITIZEN, "CallStatus": "in-progress", "Direction": "outbound-api", **extra}


def test_the_survey_is_one_exact_calls_create(phone_services: Services,
                                              twilio_api: RecordingApi) -> None:
    case_id = resolved_call(phone_services)
    token = placed(phone_services, twilio_api)
    [request] = twilio_api.requests
    assert request["path"] == f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
    assert request["authorization"].startswith("Basic ")
    form = request["form"]
    assert form["To"] == CITIZEN and form["From"] == "+442071838750"
    assert form["Url"] == f"{PUBLIC}/twilio/survey/{token}"
    assert form["StatusCallback"] == f"{PUBLIC}/twilio/survey/{token}/status"
    assert form["MachineDetection"] == "Enable"
    with phone_services.database.read() as session:
        sent = session.execute(select(Message).where(col(Message.direction) == "out")
                               ).scalar_one()
    assert sent.case_id == case_id and sent.channel == "phone"
    assert sent.external_id == "SM" + "1".zfill(32) and sent.delivery_status == "sent"


def test_the_caller_keys_a_score_and_is_thanked(post: Post, phone_services: Services,
                                                twilio_api: RecordingApi) -> None:
    case_id = resolved_call(phone_services)
    token = placed(phone_services, twilio_api)
    root = twiml(post(f"/twilio/survey/{token}", call()))
    gather = root.find("Gather")
    assert gather is not None and gather.get("input") == "dtmf speech"
    assert gather.get("numDigits") == "1" and gather.get("language") == "en-GB"
    with phone_services.database.read() as session:
        reference = session.get(Case, case_id).reference  # type: ignore[union-attr]
    assert " ".join(reference) in spoken(gather) and "from 1" in spoken(gather)
    answered = twiml(post(f"/twilio/survey/{token}/answer?tries=0", call(Digits="4")))
    assert "Thank you for your answer" in spoken(answered)
    assert answered.find("Hangup") is not None
    assert survey(phone_services).score == 4
    # Twilio retries the webhook, or a second key arrives: the first answer stays.
    twiml(post(f"/twilio/survey/{token}/answer?tries=0", call(Digits="1")))
    assert survey(phone_services).score == 4
    with phone_services.database.read() as session:
        scored = session.execute(select(AuditEvent).where(
            col(AuditEvent.action) == "satisfaction_scored")).scalars().all()
        assert len(scored) == 1
        assert session.get(Case, case_id).status == CaseStatus.RESOLVED  # type: ignore


def test_a_low_spoken_score_reopens_the_case_in_chinese(post: Post, phone_services: Services,
                                                        twilio_api: RecordingApi) -> None:
    case_id = resolved_call(phone_services, "路灯坏了，晚上很黑")
    token = placed(phone_services, twilio_api)
    gather = twiml(post(f"/twilio/survey/{token}", call())).find("Gather")
    assert gather is not None and gather.get("language") == "cmn-Hans-CN"
    assert "满意" in spoken(gather)
    answered = twiml(post(f"/twilio/survey/{token}/answer",
                          call(SpeechResult="一分。", Confidence="0.9")))
    assert "感谢您的评价" in spoken(answered)
    assert survey(phone_services).score == 1
    with phone_services.database.read() as session:
        assert session.get(Case, case_id).status != CaseStatus.RESOLVED  # type: ignore
        assert [a.kind for a in session.execute(select(SupervisorAlert)).scalars()] == [
            "low_score"]


def test_silence_or_a_wrong_key_is_asked_once_more_then_goodbye(
        post: Post, phone_services: Services, twilio_api: RecordingApi) -> None:
    resolved_call(phone_services)
    token = placed(phone_services, twilio_api)
    first = twiml(post(f"/twilio/survey/{token}", call()))
    redirect = first.findtext("Redirect")
    assert redirect == f"/twilio/survey/{token}/answer?tries=0"  # what silence leads to
    again = twiml(post(redirect, call()))  # no key, no speech
    gather = again.find("Gather")
    assert gather is not None and "Sorry" in spoken(gather)
    assert gather.get("action") == f"/twilio/survey/{token}/answer?tries=1"
    goodbye = twiml(post(f"/twilio/survey/{token}/answer?tries=1", call(Digits="9")))
    assert goodbye.find("Gather") is None and goodbye.find("Hangup") is not None
    assert "Goodbye" in spoken(goodbye)
    assert survey(phone_services).score is None
    # Even a forged tries=5 gets one repeat at most, never a loop or a score.
    assert twiml(post(f"/twilio/survey/{token}/answer?tries=5", call(Digits="0"))
                 ).find("Gather") is None
    assert survey(phone_services).score is None


def test_a_busy_line_is_called_once_more_later_then_left_alone(
        post: Post, phone_services: Services, twilio_api: RecordingApi) -> None:
    resolved_call(phone_services)
    token = placed(phone_services, twilio_api)
    first_sid = "SM" + "1".zfill(32)
    status = f"/twilio/survey/{token}/status"
    assert post(status, call(CallSid=first_sid, CallStatus="busy")).status_code == 204
    assert post(status, call(CallSid=first_sid, CallStatus="busy")).status_code == 204  # retry
    with phone_services.database.read() as session:
        items = session.execute(select(OutboxItem).order_by(col(OutboxItem.id))).scalars().all()
        first = session.execute(select(Message).where(
            col(Message.external_id) == first_sid)).scalar_one()
    assert first.delivery_status == "undelivered" and "busy" in first.delivery_error
    assert len(items) == 2 and items[1].payload["attempt"] == 2
    assert items[1].next_attempt_at > items[0].created_at  # not straight away
    with phone_services.database.write() as session:
        again = session.get(OutboxItem, items[1].id)
        assert again is not None
        again.next_attempt_at = items[0].created_at
    assert phone_services.dispatcher.send_one(items[0].created_at) is True
    assert len(twilio_api.requests) == 2
    second_sid = "SM" + "2".zfill(32)
    assert post(status, call(CallSid=second_sid, CallStatus="no-answer")).status_code == 204
    with phone_services.database.read() as session:
        assert len(session.execute(select(OutboxItem)).scalars().all()) == 2  # no third call
    assert survey(phone_services).score is None
    assert post(status, call(CallSid="CA" + "7" * 32, CallStatus="busy")).status_code == 404


def test_an_answering_machine_is_not_asked_and_is_called_again_later(
        post: Post, phone_services: Services, twilio_api: RecordingApi) -> None:
    resolved_call(phone_services)
    token = placed(phone_services, twilio_api)
    first_sid = "SM" + "1".zfill(32)
    machine = payload(VOICE, "ivr_callback_8")  # mailroom's AnsweredBy=machine_start
    as_recorded = twiml(post(f"/twilio/survey/{token}", machine))  # no CallSid in it
    assert as_recorded.find("Hangup") is not None and as_recorded.find("Gather") is None
    root = twiml(post(f"/twilio/survey/{token}", dict(machine, **call(CallSid=first_sid))))
    assert root.find("Hangup") is not None and root.find("Gather") is None
    assert post(f"/twilio/survey/{token}/status", call(CallSid=first_sid,
                                                       CallStatus="completed")
                ).status_code == 204  # the machine "completed" the call: still unanswered
    with phone_services.database.read() as session:
        items = session.execute(select(OutboxItem).order_by(col(OutboxItem.id))).scalars().all()
        first = session.execute(select(Message).where(
            col(Message.external_id) == first_sid)).scalar_one()
    assert first.delivery_status == "undelivered"
    assert len(items) == 2 and items[1].payload["attempt"] == 2
    assert survey(phone_services).score is None
    human = twiml(post(f"/twilio/survey/{token}", call(AnsweredBy="human")))
    assert human.find("Gather") is not None  # a person is asked


def test_unsigned_or_forged_survey_webhooks_record_nothing(
        post: Post, phone_services: Services, twilio_api: RecordingApi) -> None:
    resolved_call(phone_services)
    token = placed(phone_services, twilio_api)
    path = f"/twilio/survey/{token}/answer"
    assert post(path, call(Digits="5"), sign=False).status_code == 403
    assert post(path, call(Digits="5"), token="not-the-token").status_code == 403
    assert post(f"/twilio/survey/{token[:-2]}xx/answer", call(Digits="5")).status_code == 404
    assert survey(phone_services).score is None


def test_scores_heard_in_speech() -> None:
    assert [score_from("", s) for s in ("Four.", "five please", "3", "我给五分", "二")] == [
        4, 5, 3, 5, 2]
    assert [score_from(d, s) for d, s in (("", "maybe"), ("", "three or four"), ("0", ""),
                                          ("#", "five"), ("", ""))] == [None] * 5


class TestWithoutAccount:
    @pytest.fixture
    def phone_env(self) -> dict[str, str]:
        return {"CC_TWILIO_AUTH_TOKEN": TOKEN, "CC_TWILIO_PUBLIC_URL": PUBLIC}

    def test_the_demo_writes_the_call_to_the_data_folder(self,
                                                         phone_services: Services) -> None:
        resolved_call(phone_services)
        item = survey_call_item(phone_services)
        assert phone_services.dispatcher.send_one(OPEN) is True
        written = Path(phone_services.config.data_dir / "outbox-calls" / f"{item.id}.json")
        planned = json.loads(written.read_text(encoding="utf-8"))
        assert planned["to"] == CITIZEN
        assert planned["url"] == f"/twilio/survey/{item.payload['token']}"

    def test_no_call_is_written_at_night(self, phone_services: Services,
                                         clock: list[dt.datetime]) -> None:
        resolved_call(phone_services)
        item = survey_call_item(phone_services, now=NIGHT)
        calls = Path(phone_services.config.data_dir / "outbox-calls")
        assert phone_services.dispatcher.send_one(NIGHT + dt.timedelta(seconds=1)) is False
        assert not calls.exists() or list(calls.iterdir()) == []
        clock[0] = NEXT_MORNING
        assert phone_services.dispatcher.send_one(NEXT_MORNING) is True
        assert (calls / f"{item.id}.json").exists()
