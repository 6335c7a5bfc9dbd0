"""A queued caller is put through to an available agent's own number when the agent has no
browser connected: the queue's TwiML <Leave>s, the <Enqueue> action <Dial>s the number and
the agent hears the case first (TwiML read as XML, webhooks signed)."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import col, select

from caseboard import assignment, auth
from caseboard.models import Case, User
from caseboard.services import Services
from channels.phone.models import PhoneAgent, PhoneCall
from tests.channels.phone.conftest import PUBLIC, TOKEN, Post, synthetic, twiml

OPEN = dt.datetime(2026, 12, 2, 11, 0, tzinfo=dt.UTC)  # a Wednesday morning in London
PASSWORD = "a-long-password"
ALICE_PHONE = "+447700900999"
FIRST, SECOND = "CA" + "1" * 32, "CA" + "2" * 32


@pytest.fixture(autouse=True)
def opening_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("channels.phone.voice.utcnow", lambda: OPEN)


@pytest.fixture
def alice(phone_app: Flask, phone_services: Services) -> FlaskClient:
    """alice, signed in on the board and available, with her phone number saved there."""
    with phone_services.database.write() as session:
        auth.create_user(session, "alice", "agent", PASSWORD, departments=("housing", "triage"))
        assignment.set_presence(session, "alice", "available", "alice")
    client = phone_app.test_client()
    token = csrf(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"csrf_token": token, "username": "alice",
                                       "password": PASSWORD}).status_code == 303
    page = client.get("/board/calls").get_data(as_text=True)
    saved = client.post("/board/calls/number", data={"csrf_token": csrf(page),
                                                     "number": "07700 900999"})
    assert saved.status_code == 303
    return client


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def caller(sid: str = FIRST, **extra: str) -> dict[str, str]:
    number = "+14155550100" if sid == FIRST else "+14155550111"
    return {**synthetic("incoming_call"), "CallSid": sid, "From": number, "Caller": number,
            **extra}


def queue_up(post: Post, sid: str = FIRST) -> None:
    post("/twilio/voice", caller(sid))
    enqueue = twiml(post("/twilio/voice/choice", caller(sid, Digits="3"))).find("Enqueue")
    assert enqueue is not None and enqueue.text == "triage"


def phone_call(services: Services, sid: str = FIRST) -> PhoneCall:
    with services.database.read() as session:
        return session.execute(select(PhoneCall).where(col(PhoneCall.call_sid) == sid)
                               ).scalar_one()


def spoken(root: ET.Element) -> str:
    return " ".join(say.text or "" for say in root.iter("Say"))


def test_the_caller_is_put_through_to_the_agents_number(post: Post, alice: FlaskClient,
                                                        phone_services: Services) -> None:
    queue_up(post)
    wait = twiml(post("/twilio/voice/wait", caller(QueuePosition="1", QueueTime="3")))
    assert wait.find("Leave") is not None
    assert (phone_call(phone_services).status, phone_call(phone_services).agent) == (
        "connecting", "alice")
    dialled = twiml(post("/twilio/voice/dequeued", caller(QueueResult="leave")))
    dial = dialled.find("Dial")
    assert dial is not None and dial.get("action") == "/twilio/voice/dialled"
    number = dial.find("Number")
    assert number is not None and number.text == ALICE_PHONE
    assert number.get("url") == f"/twilio/voice/whisper?call={FIRST}"
    # What alice hears when she picks up: her leg has its own CallSid and opens no case.
    agent_leg = {"CallSid": "CA" + "a" * 32, "From": "+14155550100", "To": ALICE_PHONE,
                 "Direction": "outbound-dial"}
    whisper = twiml(post(f"/twilio/voice/whisper?call={FIRST}", agent_leg))
    with phone_services.database.read() as session:
        [case] = session.execute(select(Case)).scalars().all()
    assert " ".join(case.reference) in spoken(whisper) and "English" in spoken(whisper)
    done = twiml(post("/twilio/voice/dialled", caller(DialCallStatus="completed")))
    assert done.find("Hangup") is not None
    assert phone_call(phone_services).status == "completed"


def test_an_agent_who_does_not_pick_up_is_set_away_and_the_caller_queues_again(
        post: Post, alice: FlaskClient, phone_services: Services) -> None:
    queue_up(post)
    queued_at = phone_call(phone_services).queued_at
    twiml(post("/twilio/voice/wait", caller(QueueTime="3")))
    twiml(post("/twilio/voice/dequeued", caller(QueueResult="leave")))
    again = twiml(post("/twilio/voice/dialled", caller(DialCallStatus="no-answer")))
    enqueue = again.find("Enqueue")
    assert enqueue is not None and enqueue.text == "triage"
    row = phone_call(phone_services)
    assert (row.status, row.agent, row.queued_at) == ("queued", "", queued_at)  # same place
    with phone_services.database.read() as session:
        presence = session.execute(select(User.presence).where(
            col(User.username) == "alice")).scalar_one()
    assert presence == "away"
    wait = twiml(post("/twilio/voice/wait", caller(QueuePosition="1", QueueTime="30")))
    assert wait.find("Leave") is None and wait.find("Pause") is not None


def test_callers_are_put_through_in_order_and_one_at_a_time(
        post: Post, alice: FlaskClient, phone_services: Services) -> None:
    queue_up(post, FIRST)
    queue_up(post, SECOND)
    later = twiml(post("/twilio/voice/wait", caller(SECOND, QueuePosition="2")))
    assert later.find("Leave") is None  # the first caller waited longer
    assert twiml(post("/twilio/voice/wait", caller(FIRST))).find("Leave") is not None
    # alice is ringing for the first caller: the second one keeps waiting.
    assert twiml(post("/twilio/voice/wait", caller(SECOND))).find("Leave") is None
    assert phone_call(phone_services, SECOND).status == "queued"


def test_an_agent_away_or_without_a_number_is_not_rung(post: Post, alice: FlaskClient,
                                                       phone_services: Services) -> None:
    queue_up(post)
    with phone_services.database.write() as session:
        assignment.set_presence(session, "alice", "away", "alice")
    assert twiml(post("/twilio/voice/wait", caller())).find("Leave") is None
    with phone_services.database.write() as session:
        assignment.set_presence(session, "alice", "available", "alice")
    page = alice.get("/board/calls").get_data(as_text=True)
    assert f'value="{ALICE_PHONE}"' in page
    assert alice.post("/board/calls/number", data={"csrf_token": csrf(page), "number": ""}
                      ).status_code == 303
    assert twiml(post("/twilio/voice/wait", caller())).find("Leave") is None
    assert phone_call(phone_services).status == "queued"


def test_a_mandarin_caller_gets_the_agent_who_speaks_it_and_capacity_0_takes_no_calls(
        post: Post, alice: FlaskClient, phone_services: Services) -> None:
    with phone_services.database.write() as session:
        for name, languages in (("bob", ("en", "zh")), ("dora", ("zh",))):
            user = auth.create_user(session, name, "agent", PASSWORD, departments=("triage",),
                                    languages=languages)
            session.flush()
            assert user.id is not None
            session.add(PhoneAgent(user_id=user.id, number=f"+4477009001{len(name)}"))
            assignment.set_presence(session, name, "available", name)
        dora = session.execute(select(User).where(col(User.username) == "dora")).scalar_one()
        dora.capacity = {"phone": 0}  # dora answers chats, not calls...
        dora.presence_since = OPEN - dt.timedelta(days=1)  # ...though idle the longest
        session.add(dora)
    post("/twilio/voice", caller())
    post("/twilio/voice/language", caller(Digits="2"))
    twiml(post("/twilio/voice/choice", caller(Digits="3")))
    assert twiml(post("/twilio/voice/wait", caller())).find("Leave") is not None
    assert phone_call(phone_services).agent == "bob"  # alice waited longer, but in English


def test_a_wrong_number_is_refused_and_changes_nothing(alice: FlaskClient,
                                                       phone_services: Services) -> None:
    page = alice.get("/board/calls").get_data(as_text=True)
    refused = alice.post("/board/calls/number", data={"csrf_token": csrf(page),
                                                      "number": "call me maybe"})
    assert refused.status_code == 400
    assert "not a phone number" in refused.get_data(as_text=True)
    assert alice.post("/board/calls/number", data={"number": "+447700900111"}
                      ).status_code == 400  # no CSRF token
    with phone_services.database.read() as session:
        assert session.execute(select(PhoneAgent.number)).scalars().all() == [ALICE_PHONE]


class TestWithTheBrowserConnected:
    @pytest.fixture
    def phone_env(self) -> dict[str, str]:
        return {"CC_TWILIO_AUTH_TOKEN": TOKEN, "CC_TWILIO_PUBLIC_URL": PUBLIC,
                "CC_TWILIO_ACCOUNT_SID": "AC" + "d" * 32, "CC_PHONE_API_KEY_SID": "SK1",
                "CC_PHONE_API_KEY_SECRET": "s" * 32, "CC_PHONE_TWIML_APP_SID": "AP1"}

    def test_the_browser_takes_the_call_not_the_number(self, post: Post, alice: FlaskClient,
                                                       phone_services: Services) -> None:
        assert alice.get("/board/calls/token").status_code == 200  # the Voice SDK starts
        queue_up(post)
        assert twiml(post("/twilio/voice/wait", caller(QueueTime="3"))).find("Leave") is None
        root = twiml(post("/twilio/agent", {"CallSid": "CA" + "5" * 32,
                                            "From": "client:alice"}))
        dial = root.find("Dial")
        assert dial is not None and dial.findtext("Queue") == "triage"
        assert phone_call(phone_services).agent == "alice"
