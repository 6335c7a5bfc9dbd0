"""Control characters (NUL above all, which PostgreSQL refuses in text) and lone surrogates in
what a citizen or an agent sends the chat: taken out, the request answered as usual, on both
databases; tab and line breaks stay."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import col, select

from caseboard.models import Message
from caseboard.services import Services
from channels.webchat.models import ChatLine, ChatSession
from tests.channels.webchat.conftest import MOULD, Citizen, sign_in


def _stored_lines(services: Services) -> list[str]:
    with services.database.read() as session:
        return list(session.execute(select(ChatLine.text).order_by(col(ChatLine.id))).scalars())


def test_a_nul_in_the_name_and_the_lines_is_taken_out_not_a_server_error(
        app: Flask, client: FlaskClient, services: Services) -> None:
    citizen = Citizen(client, name="N\u0000an\u0007cy")
    assert citizen.history()["state"]["name"] == "Nancy"
    answer = citizen.post("/suggest", text="my bin\u0000 was not emptied")
    assert answer.status_code == 200 and answer.get_json()["articles"]
    handed = citizen.post("/handover", text=MOULD + "\u0000\u001b", client_id="q1")
    assert handed.status_code == 200, handed.get_json()
    said = citizen.say("line one\r\n\tline\u0000 two\u0008")
    assert said.status_code == 201, said.get_json()
    assert said.get_json()["line"]["text"] == "line one\r\n\tline two"
    assert citizen.say("odd \ud800 half").get_json()["line"]["text"] == "odd \ufffd half"

    agent, csrf = sign_in(app)
    session_id = agent.get("/board/chats/state").get_json()["waiting"][0]["id"]
    assert agent.post(f"/board/chats/{session_id}/take", headers=csrf).status_code == 200
    reply = agent.post(f"/board/chats/{session_id}/messages", headers=csrf,
                       json={"text": "We\u0000 can help", "client_id": "a1"})
    assert reply.status_code == 201, reply.get_json()

    saved = citizen.post("/contact", email="nancy\u0000@example.org", phone="")
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["state"]["contact"] == "nancy@example.org"
    sent = citizen.post("/transcript", email="nancy@example.org\u0000")
    assert sent.status_code == 200, sent.get_json()

    texts = _stored_lines(services)
    for expected in (MOULD, "line one\r\n\tline two", "odd \ufffd half", "We can help"):
        assert expected in texts
    assert not any("\u0000" in text for text in texts)
    with services.database.read() as session:
        chat = session.execute(select(ChatSession)).scalar_one()
        assert (chat.display_name, chat.question) == ("Nancy", MOULD)
        on_case = list(session.execute(select(Message.text).where(
            col(Message.channel) == "webchat")).scalars())
    assert "line one\r\n\tline two" in on_case and "We can help" in on_case


def test_a_nul_in_an_article_slug_is_taken_out_not_a_server_error(
        client: FlaskClient, services: Services) -> None:
    citizen = Citizen(client)
    answer = citizen.post("/answered", question="my bin was not emptied",
                          slug="missed-bin\u0000-collection", language="en\u0000")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["state"]["status"] == "ended"
