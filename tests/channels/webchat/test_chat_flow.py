"""The chat's life on both databases: self-service, hand-over, an agent taking it within their
capacity, messages both ways on the case, the end with its transcript, the outbox transport."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import col, select

from app import create_app
from caseboard import outbox
from caseboard.models import Case, CitizenIdentity, Message, OutboxItem, User
from caseboard.services import Services, build_services, prepare_database
from channels.webchat.models import ChatLine
from tests.channels.webchat.conftest import MOULD, Citizen, config_with_hours, sign_in


def _case(services: Services, reference: str) -> Case:
    with services.database.read() as session:
        case = session.execute(select(Case).where(col(Case.reference) == reference)).scalar_one()
    return case


def _messages(services: Services, case_id: int) -> list[Message]:
    with services.database.read() as session:
        return list(session.execute(select(Message).where(col(Message.case_id) == case_id)
                                    .order_by(col(Message.id))).scalars())


def test_an_article_that_answers_ends_the_chat_with_a_resolved_case(
        client: FlaskClient, services: Services) -> None:
    citizen = Citizen(client)
    found = citizen.post("/suggest", text="my bin was not emptied").get_json()["articles"]
    assert found and found[0]["slug"] == "missed-bin-collection"
    answer = citizen.post("/answered", question="my bin was not emptied",
                          slug=found[0]["slug"], language="en")
    assert answer.status_code == 200, answer.get_json()
    case = _case(services, answer.get_json()["reference"])
    assert case.status == "resolved" and case.channel == "webchat"
    sent = [m for m in _messages(services, case.id or 0) if m.direction == "out"]
    assert [(m.article_slug, m.article_version) for m in sent] == [
        ("missed-bin-collection", found[0]["version"])]
    assert citizen.history()["state"]["status"] == "ended"


def test_hand_over_take_talk_and_end(app: Flask, client: FlaskClient,
                                     services: Services) -> None:
    citizen = Citizen(client, name="Ann")
    assert citizen.say("too early").status_code == 409  # no person asked for yet
    answer = citizen.post("/handover", text=MOULD, client_id="q1")
    state = answer.get_json()["state"]
    assert state["status"] == "queued" and state["position"] == 1 and state["reference"]
    agent, csrf = sign_in(app)
    waiting = agent.get("/board/chats/state").get_json()["waiting"]
    assert [w["question"] for w in waiting] == [MOULD]
    session_id = waiting[0]["id"]
    assert agent.post(f"/board/chats/{session_id}/take", headers=csrf).status_code == 200
    assert citizen.history()["state"] == {**citizen.history()["state"], "status": "live",
                                          "agent": "Alice Agent"}
    assert citizen.say("Hello, are you there?").status_code == 201
    reply = agent.post(f"/board/chats/{session_id}/messages", headers=csrf,
                       json={"text": "Yes, I can help.", "client_id": "a1"})
    assert reply.status_code == 201
    agent.post(f"/board/chats/{session_id}/typing", headers=csrf)
    assert citizen.history()["state"]["agent_typing"] is True
    texts = [line["text"] for line in citizen.history()["lines"]]
    assert texts.index("Hello, are you there?") < texts.index("Yes, I can help.")
    mine = agent.get("/board/chats/state").get_json()
    assert "Hello, are you there?" in [line["text"] for line in mine["lines"]]
    case = _case(services, state["reference"])
    assert case.assigned_user_id is not None and case.status == "in_progress"
    assert case.first_response_at is not None
    assert agent.post(f"/board/chats/{session_id}/end", headers=csrf).status_code == 200
    case = _case(services, state["reference"])
    assert case.status == "resolved"
    messages = _messages(services, case.id or 0)
    assert [m.text for m in messages if m.direction == "in"] == [MOULD, "Hello, are you there?"]
    assert [m.text for m in messages if m.direction == "out"] == ["Yes, I can help."]
    note = next(m for m in messages if m.direction == "note")
    assert "Hello, are you there?" in note.text
    assert [t["text"] for t in note.details["chat_transcript"] if t["author"] != "system"] == [
        MOULD, "Hello, are you there?", "Yes, I can help."]
    assert citizen.say("still there?").status_code == 409


def test_an_agent_takes_no_more_chats_than_their_capacity(app: Flask, client: FlaskClient,
                                                          services: Services) -> None:
    with services.database.write() as session:
        alice = session.execute(select(User).where(col(User.username) == "alice")).scalar_one()
        alice.capacity = {"chat": 1}
        session.add(alice)
    first, second = Citizen(client, "One"), Citizen(client, "Two")
    first.post("/handover", text=MOULD, client_id="q1")
    second.post("/handover", text=MOULD + " again", client_id="q1")
    assert second.history()["state"]["position"] == 2
    agent, csrf = sign_in(app)
    waiting = agent.get("/board/chats/state").get_json()["waiting"]
    assert agent.post(f"/board/chats/{waiting[0]['id']}/take", headers=csrf).status_code == 200
    refused = agent.post(f"/board/chats/{waiting[1]['id']}/take", headers=csrf)
    assert refused.status_code == 409 and "capacity is 1" in refused.get_json()["message"]
    assert second.history()["state"]["status"] == "queued"
    assert second.history()["state"]["position"] == 1


def test_a_retried_send_is_one_line_and_one_message(client: FlaskClient,
                                                    services: Services) -> None:
    citizen = Citizen(client)
    citizen.post("/handover", text=MOULD, client_id="q1")
    assert citizen.say("once", client_id="same").status_code == 201
    assert citizen.say("once", client_id="same").status_code == 201
    lines = [line for line in citizen.history()["lines"] if line["text"] == "once"]
    assert len(lines) == 1
    case = _case(services, citizen.history()["state"]["reference"])
    assert [m.text for m in _messages(services, case.id or 0)].count("once") == 1


def test_transcript_is_emailed_through_the_outbox(client: FlaskClient,
                                                  services: Services) -> None:
    citizen = Citizen(client)
    citizen.post("/handover", text=MOULD, client_id="q1")
    assert citizen.post("/transcript", email="not an address").status_code == 400
    assert citizen.post("/transcript", email="ann@mail.example").status_code == 200
    with services.database.read() as session:
        items = list(session.execute(select(OutboxItem).where(
            col(OutboxItem.channel) == "email")).scalars())
    assert [i.recipient for i in items] == ["ann@mail.example"]
    assert MOULD in items[0].payload["text"]


def test_a_reply_from_the_case_page_arrives_in_the_chat(client: FlaskClient,
                                                        services: Services) -> None:
    citizen = Citizen(client)
    citizen.post("/handover", text=MOULD, client_id="q1")
    case = _case(services, citizen.history()["state"]["reference"])
    session_id = next(m.sender for m in _messages(services, case.id or 0))
    with services.database.write() as session:
        outbox.enqueue(session, case_id=case.id or 0, channel="webchat", recipient=session_id,
                       kind="reply", payload={"text": "We will send a surveyor.",
                                              "agent_name": "Alice Agent"})
    while services.dispatcher.send_one():
        pass
    texts = [line["text"] for line in citizen.history()["lines"]]
    assert "We will send a surveyor." in texts
    assert any(t.startswith("We have your message") for t in texts)  # the acknowledgement
    with services.database.read() as session:
        assert session.execute(select(ChatLine).where(
            col(ChatLine.text) == "We will send a surveyor.")).scalar_one().author == "agent"


def test_the_events_stream_resumes_after_the_last_line_seen(client: FlaskClient) -> None:
    citizen = Citizen(client)
    citizen.post("/handover", text=MOULD, client_id="q1")
    citizen.say("first")
    lines = citizen.history()["lines"]
    last_seen = next(line["id"] for line in lines if line["text"] == "first")
    have = ",".join(str(line["id"]) for line in lines if line["id"] <= last_seen)
    citizen.say("second")
    answer = client.get(f"/chat/api/events?token={citizen.token}&have={have}",
                        headers={"Last-Event-ID": str(last_seen)}, buffered=False)
    assert answer.mimetype == "text/event-stream"
    received = ""
    for chunk in answer.response:
        received += chunk.decode() if isinstance(chunk, bytes) else chunk
        if '"second"' in received:
            break
    answer.close()
    assert '"second"' in received and '"first"' not in received
    assert "event: state" in received


def test_out_of_hours_the_chat_becomes_a_message_case(tmp_path: Path, db_url: str) -> None:
    config = config_with_hours(tmp_path, db_url, "")  # closed today
    services = build_services(config)
    prepare_database(services)
    try:
        app = create_app(config, services)
        citizen = Citizen(app.test_client())
        state = citizen.post("/handover", text=MOULD, client_id="q1").get_json()["state"]
        assert state["status"] == "message"
        assert "leave an email" in citizen.history()["lines"][-1]["text"]
        assert citizen.post("/contact", email="nope", phone="").status_code == 400
        answer = citizen.post("/contact", email="Ann@Mail.Example", phone="")
        assert answer.status_code == 200 and answer.get_json()["state"]["contact"]
        case = _case(services, state["reference"])
        with services.database.read() as session:
            kinds = {(i.kind, i.value) for i in session.execute(select(CitizenIdentity).where(
                col(CitizenIdentity.citizen_id) == case.citizen_id)).scalars()}
        assert ("email", "ann@mail.example") in kinds
        assert case.status in ("new", "dispatched")  # waiting for an answer by email
    finally:
        services.database.dispose()


def test_with_no_agent_available_the_chat_becomes_a_message_case(
        client: FlaskClient, services: Services) -> None:
    from caseboard.assignment import set_presence

    with services.database.write() as session:
        set_presence(session, "alice", "away", "alice")
    citizen = Citizen(client)
    state = citizen.post("/handover", text=MOULD, client_id="q1").get_json()["state"]
    assert state["status"] == "message"
    assert citizen.post("/contact", email="", phone="07700 900123").status_code == 200
    assert citizen.history()["state"]["contact"] == "+447700900123"
