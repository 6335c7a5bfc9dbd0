"""Voicemails and call-back requests become call-back tasks for the department's agents on
/board/calls: one agent takes it, marks it done (CSRF forms, audited on the case), and done
tasks leave the list. Webhooks signed with the real library, TwiML read as XML."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import col, select

from caseboard import auth
from caseboard.models import AuditEvent, Case
from caseboard.services import Services
from channels.phone.models import PhoneCallback
from tests.channels.phone.conftest import Post, synthetic, twiml

CLOSED = dt.datetime(2026, 12, 6, 11, 0, tzinfo=dt.UTC)  # a Sunday: voicemail, no queue
PASSWORD = "a-long-password"
SECOND = "CA" + "2" * 32


@pytest.fixture(autouse=True)
def closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("channels.phone.voice.utcnow", lambda: CLOSED)


@pytest.fixture
def people(phone_services: Services) -> None:
    with phone_services.database.write() as session:
        auth.create_user(session, "alice", "agent", PASSWORD, departments=("housing", "triage"))
        auth.create_user(session, "carol", "agent", PASSWORD, departments=("triage",))
        auth.create_user(session, "bob", "agent", PASSWORD, departments=("waste",))


def sign_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    token = csrf(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"csrf_token": token, "username": username,
                                       "password": PASSWORD}).status_code == 303
    return client


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def board(client: FlaskClient) -> str:
    answer = client.get("/board/calls")
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def callbacks_section(page: str) -> str:
    return page.split("Call-backs to make", 1)[1]


def task_action(client: FlaskClient, task_id: int, action: str, token: bool = True) -> int:
    data = {"csrf_token": csrf(board(client))} if token else {}
    return client.post(f"/board/calls/callback/{task_id}/{action}", data=data).status_code


def tasks(services: Services) -> list[PhoneCallback]:
    with services.database.read() as session:
        return list(session.execute(select(PhoneCallback).order_by(col(PhoneCallback.id)))
                    .scalars())


def audit_actions(services: Services, case_id: int) -> list[tuple[str, str]]:
    with services.database.read() as session:
        rows = session.execute(select(AuditEvent.actor, AuditEvent.action).where(
            col(AuditEvent.case_id) == case_id, col(AuditEvent.action).like("callback%"))
            .order_by(col(AuditEvent.id))).all()
    return [(str(actor), str(action)) for actor, action in rows]


def reference_of(services: Services, case_id: int) -> str:
    with services.database.read() as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case.reference


def leave_voicemail(post: Post) -> None:
    post("/twilio/voice", synthetic("incoming_call"))
    offer = twiml(post("/twilio/voice/choice", dict(synthetic("gather_dtmf_action"),
                                                    Digits="3")))
    assert offer.find("Gather") is not None  # closed: a message or a call back
    assert twiml(post("/twilio/voice/after", dict(synthetic("gather_dtmf_action"), Digits="1"))
                 ).find("Record") is not None
    for _ in range(2):  # Twilio retries the <Record> action: still one task
        done = twiml(post("/twilio/voice/recorded", synthetic("record_action")))
        assert done.find("Hangup") is not None
    assert post("/twilio/voice/transcription", synthetic("transcription_callback")
                ).status_code == 204


def test_a_voicemail_is_a_task_taken_and_done_by_one_agent_of_the_department(
        post: Post, phone_app: Flask, phone_services: Services, people: None) -> None:
    leave_voicemail(post)
    [task] = tasks(phone_services)
    assert (task.kind, task.status, task.department_id, task.number) == (
        "voicemail", "open", "triage", "+14155550100")
    alice, carol, bob = (sign_in(phone_app, name) for name in ("alice", "carol", "bob"))
    listed = callbacks_section(board(alice))
    reference = reference_of(phone_services, task.case_id)
    assert f'href="/board/case/{reference}"' in listed and "+14155550100" in listed
    assert "voicemail (12 s)" in listed and "broken streetlight" in listed
    assert "No call-back is waiting" in callbacks_section(board(bob))  # waste only
    assert task_action(bob, task.id or 0, "take") == 403
    assert task_action(alice, task.id or 0, "take", token=False) == 400  # no CSRF token
    assert tasks(phone_services)[0].status == "open"

    assert task_action(alice, task.id or 0, "take") == 303
    assert "Called back: done" in callbacks_section(board(alice))
    assert "taken by alice" in callbacks_section(board(carol))
    assert task_action(carol, task.id or 0, "take") == 409  # alice is calling already
    assert task_action(carol, task.id or 0, "done") == 409
    assert tasks(phone_services)[0].agent == "alice"

    assert task_action(alice, task.id or 0, "done") == 303
    assert tasks(phone_services)[0].status == "done"
    for client in (alice, carol):
        assert "No call-back is waiting" in callbacks_section(board(client))
    assert audit_actions(phone_services, task.case_id) == [
        ("ivr", "callback_requested"), ("alice", "callback_taken"), ("alice", "callback_done")]
    assert task_action(alice, 9999, "take") == 404


def test_a_call_back_request_is_a_task_once(post: Post, phone_app: Flask,
                                            phone_services: Services, people: None) -> None:
    post("/twilio/voice", synthetic("incoming_call"))
    for _ in range(2):  # retried webhook
        root = twiml(post("/twilio/voice/after", dict(synthetic("gather_dtmf_action"),
                                                      Digits="2")))
        assert root.find("Hangup") is not None
    [task] = tasks(phone_services)
    assert (task.kind, task.status) == ("callback", "open")
    page = board(sign_in(phone_app, "carol"))
    assert "a call-back request" in callbacks_section(page)
    assert "No caller is waiting" in page  # a call-back is not a caller in the queue


def test_no_recording_is_offered_again_and_leaves_no_task(post: Post,
                                                          phone_services: Services) -> None:
    post("/twilio/voice", synthetic("incoming_call"))
    nothing = {k: v for k, v in synthetic("record_action").items()
               if not k.startswith("Recording")}
    root = twiml(post("/twilio/voice/recorded", nothing))
    assert "did not get a message" in " ".join(s.text or "" for s in root.iter("Say"))
    gather = root.find("Gather")
    assert gather is not None and gather.get("action") == "/twilio/voice/after"
    assert tasks(phone_services) == []


def test_two_callers_two_tasks_oldest_first(post: Post, phone_app: Flask,
                                            phone_services: Services, people: None) -> None:
    post("/twilio/voice", synthetic("incoming_call"))
    post("/twilio/voice/after", dict(synthetic("gather_dtmf_action"), Digits="2"))
    second = dict(synthetic("incoming_call"), CallSid=SECOND, From="+14155550111",
                  Caller="+14155550111")
    post("/twilio/voice", second)
    post("/twilio/voice/after", dict(second, Digits="2"))
    listed = callbacks_section(board(sign_in(phone_app, "alice")))
    assert listed.index("+14155550100") < listed.index("+14155550111")
    assert [t.number for t in tasks(phone_services)] == ["+14155550100", "+14155550111"]


def test_the_task_goes_to_the_department_the_caller_was_routed_to(
        post: Post, phone_app: Flask, phone_services: Services, people: None) -> None:
    post("/twilio/voice", synthetic("incoming_call"))
    offer = twiml(post("/twilio/voice/choice", dict(
        synthetic("gather_speech_action"), SpeechResult="My bin was not collected this week")))
    assert "closed" in " ".join(s.text or "" for s in offer.iter("Say"))
    post("/twilio/voice/after", dict(synthetic("gather_dtmf_action"), Digits="2"))
    [task] = tasks(phone_services)
    assert task.department_id == "waste"
    bob, alice = sign_in(phone_app, "bob"), sign_in(phone_app, "alice")
    assert "+14155550100" in callbacks_section(board(bob))
    assert "No call-back is waiting" in callbacks_section(board(alice))  # housing, triage
    assert task_action(bob, task.id or 0, "take") == 303
    assert task_action(bob, task.id or 0, "done") == 303
    assert audit_actions(phone_services, task.case_id)[-1] == ("bob", "callback_done")
