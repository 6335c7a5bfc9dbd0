"""How lines reach the other side: agents' lines through the outbox (delivered at once, or by
the dispatcher after a crash), and the streams fed by the bus and by the poller that finds
lines written by another web process."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import col, select

from app import create_app
from caseboard.models import Message, OutboxItem, User, utcnow
from caseboard.services import Services, build_services, prepare_database
from channels.webchat.models import ChatLine
from channels.webchat.service import ChatService
from channels.webchat.transport import IMMEDIATE_GRACE
from tests.channels.webchat.conftest import MOULD, Citizen, config_with_hours, sign_in


def _live_chat(app: Flask, client: FlaskClient) -> tuple[Citizen, str, FlaskClient,
                                                         dict[str, str]]:
    citizen = Citizen(client)
    assert citizen.post("/handover", text=MOULD, client_id="q1").status_code == 200
    agent, csrf = sign_in(app)
    session_id = agent.get("/board/chats/state").get_json()["waiting"][0]["id"]
    assert agent.post(f"/board/chats/{session_id}/take", headers=csrf).status_code == 200
    services: Services = app.extensions["contact_centre"]
    while services.dispatcher.send_one():  # the hand-over's acknowledgement
        pass
    return citizen, session_id, agent, csrf


def _items(services: Services, session_id: str) -> list[OutboxItem]:
    with services.database.read() as session:
        return list(session.execute(select(OutboxItem).where(
            col(OutboxItem.channel) == "webchat", col(OutboxItem.recipient) == session_id,
            col(OutboxItem.kind) == "reply")).scalars())


def _agent_lines(services: Services, session_id: str) -> list[ChatLine]:
    with services.database.read() as session:
        return list(session.execute(select(ChatLine).where(
            col(ChatLine.session_id) == session_id, col(ChatLine.author) == "agent")).scalars())


def _message(services: Services, message_id: int | None) -> Message:
    with services.database.read() as session:
        message = session.get(Message, message_id)
    assert message is not None
    return message


def test_an_agent_line_is_an_outbox_item_sent_at_once(app: Flask, client: FlaskClient,
                                                      services: Services) -> None:
    citizen, session_id, agent, csrf = _live_chat(app, client)
    for _ in range(2):  # the second is the browser retrying: still one line
        answer = agent.post(f"/board/chats/{session_id}/messages", headers=csrf,
                            json={"text": "Yes, I can help.", "client_id": "a1"})
        assert answer.status_code == 201
    [item] = _items(services, session_id)
    assert item.status == "sent" and item.sent_at is not None
    assert item.payload["text"] == "Yes, I can help."
    [line] = _agent_lines(services, session_id)
    assert line.message_id == item.message_id and line.author_name == "Alice Agent"
    message = _message(services, item.message_id)
    assert (message.direction, message.delivery_status) == ("out", "delivered")
    assert [x["text"] for x in citizen.history()["lines"]].count("Yes, I can help.") == 1
    assert not services.dispatcher.send_one(utcnow() + IMMEDIATE_GRACE * 2)  # nothing left


def test_a_line_left_undelivered_by_a_crash_reaches_the_citizen_later(
        app: Flask, client: FlaskClient, services: Services) -> None:
    citizen, session_id, _agent, _csrf = _live_chat(app, client)
    chat = app.extensions["webchat"]
    with services.database.read() as session:
        alice = session.execute(select(User).where(col(User.username) == "alice")).scalar_one()
    # What post_agent commits before delivering: the process dies right after it.
    outbox_id = chat.flows.queue_agent_line(chat.store.get(session_id), alice, "a1",
                                            "A surveyor will call.")
    assert "A surveyor will call." not in [x["text"] for x in citizen.history()["lines"]]
    assert not services.dispatcher.send_one()  # a live process is still expected to send it
    assert services.dispatcher.send_one(utcnow() + IMMEDIATE_GRACE + dt.timedelta(seconds=1))
    texts = [x["text"] for x in citizen.history()["lines"]]  # the citizen reconnects
    assert texts.count("A surveyor will call.") == 1
    [item] = _items(services, session_id)
    assert item.status == "sent"
    assert _message(services, item.message_id).delivery_status == "delivered"
    chat.transport.deliver_now(outbox_id)  # a late second delivery writes nothing
    assert len(_agent_lines(services, session_id)) == 1


def test_an_agent_line_to_an_ended_chat_is_refused(app: Flask, client: FlaskClient,
                                                   services: Services) -> None:
    citizen, session_id, agent, csrf = _live_chat(app, client)
    assert citizen.post("/end").status_code == 200
    answer = agent.post(f"/board/chats/{session_id}/messages", headers=csrf,
                        json={"text": "Hello?", "client_id": "a2"})
    assert answer.status_code == 409
    assert _agent_lines(services, session_id) == []


def _read_stream(client: FlaskClient, token: str, needle: str, timeout: float = 15) -> str:
    """The citizen's event stream read until `needle` arrives (in a thread: the stream
    blocks between events)."""
    answer = client.get(f"/chat/api/events?token={token}", buffered=False)
    received: list[str] = []

    def read() -> None:
        for chunk in answer.response:
            received.append(chunk.decode() if isinstance(chunk, bytes) else chunk)
            if needle in "".join(received):
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    text = "".join(received)
    assert needle in text, text[-500:]
    answer.close()
    return text


def test_a_line_reaches_an_open_stream_from_this_process_and_from_another(
        tmp_path: Path, db_url: str) -> None:
    config = config_with_hours(tmp_path, db_url, "00:00-23:59", CC_CHAT_POLL_SECONDS="0.1")
    services = build_services(config)
    prepare_database(services)
    other = build_services(config)  # a second web process on the same database
    try:
        app = create_app(config, services)
        client = app.test_client()
        citizen = Citizen(client)
        citizen.post("/handover", text=MOULD, client_id="q1")
        session_id = app.extensions["webchat"].session_of(citizen.token)
        threading.Timer(0.3, citizen.say, ("said here",)).start()
        assert '"said here"' in _read_stream(client, citizen.token, '"said here"')
        elsewhere = ChatService(other, app.config["SECRET_KEY"])
        threading.Timer(0.3, elsewhere.store.post_citizen,
                        (session_id, "x1", "said elsewhere", "10.0.0.9")).start()
        received = _read_stream(client, citizen.token, '"said elsewhere"')
        assert received.count('"said here"') == 1  # what the browser missed, once
    finally:
        other.database.dispose()
        services.database.dispose()
