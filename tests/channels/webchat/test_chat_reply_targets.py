"""Answering a chat case from the case page, on both databases: the chat is offered (and
chosen) only while the citizen is in it; a message case is answered where the citizen asked
(the email they left), and an ended chat is never a reply target."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import col, select

from app import create_app
from caseboard import auth
from caseboard.models import Case, OutboxItem
from caseboard.services import Services, build_services, prepare_database
from channels.webchat.models import ChatLine
from tests.channels.webchat.conftest import (
    MOULD,
    PASSWORD,
    Citizen,
    config_with_hours,
    sign_in,
)


def _send_by(page: str) -> tuple[str, list[str]]:
    """The Send by list: the pre-selected value and every value offered."""
    select = page.split('id="channel"', 1)[1].split("</select>", 1)[0]
    values = re.findall(r'<option value="([^"]*)"', select)
    chosen = re.findall(r'<option value="([^"]*)" selected', select)
    assert len(chosen) == 1, select
    return chosen[0], values


def _field(page: str, name: str) -> str:
    return re.findall(rf'name="{name}" value="([^"]*)"', page)[0]


def _reference(citizen: Citizen) -> str:
    reference: str = citizen.history()["state"]["reference"]
    return reference


def _preview_and_send(agent: FlaskClient, reference: str, channel: str, text: str) -> int:
    page = agent.get(f"/board/case/{reference}").get_data(as_text=True)
    base = {"csrf_token": _field(page, "csrf_token"), "form_token": _field(page, "form_token"),
            "version": _field(page, "version"), "channel": channel, "text": text}
    shown = agent.post(f"/board/case/{reference}/preview", data=base)
    if shown.status_code != 200:
        return shown.status_code
    answer = agent.post(f"/board/case/{reference}/reply", data={
        **base, "previewed": _field(shown.get_data(as_text=True), "previewed")})
    return answer.status_code


def test_a_message_case_is_answered_by_the_email_the_citizen_left(tmp_path: Path,
                                                                  db_url: str) -> None:
    config = config_with_hours(tmp_path, db_url, "")  # closed: the chat becomes a message case
    services = build_services(config)
    prepare_database(services)
    try:
        with services.database.write() as session:
            auth.create_user(session, "alice", "agent", PASSWORD, display_name="Alice Agent",
                             departments=("housing", "triage"))
        app = create_app(config, services)
        citizen = Citizen(app.test_client())
        state = citizen.post("/handover", text=MOULD, client_id="q1").get_json()["state"]
        assert state["status"] == "message"
        assert citizen.post("/contact", email="Ann@Mail.Example", phone="").status_code == 200
        reference = _reference(citizen)
        agent, _ = sign_in(app)
        page = agent.get(f"/board/case/{reference}").get_data(as_text=True)
        chosen, offered = _send_by(page)
        assert chosen == "email:ann@mail.example"
        assert not [v for v in offered if v.startswith("webchat:")]  # nobody reads that chat
        refused = _preview_and_send(agent, reference, "webchat", "We will visit.")
        assert refused == 400
        assert _preview_and_send(agent, reference, chosen, "We will visit on Monday.") == 303
        with services.database.read() as session:
            replies = list(session.execute(select(OutboxItem).where(
                col(OutboxItem.kind) == "reply")).scalars())
            in_chat = session.execute(select(ChatLine).where(
                col(ChatLine.text).contains("We will visit"))).first()
        assert [(i.channel, i.recipient) for i in replies] == [("email", "ann@mail.example")]
        assert in_chat is None
    finally:
        services.database.dispose()


def test_the_chat_is_offered_while_live_and_never_once_it_ended(
        app: Flask, client: FlaskClient, services: Services) -> None:
    citizen = Citizen(client)
    citizen.post("/handover", text=MOULD, client_id="q1")
    reference = _reference(citizen)
    agent, csrf = sign_in(app)
    session_id = agent.get("/board/chats/state").get_json()["waiting"][0]["id"]
    assert agent.post(f"/board/chats/{session_id}/take", headers=csrf).status_code == 200
    chosen, _ = _send_by(agent.get(f"/board/case/{reference}").get_data(as_text=True))
    assert chosen == f"webchat:{session_id}"  # the citizen is in the chat: answer there
    assert agent.post(f"/board/chats/{session_id}/end", headers=csrf).status_code == 200
    page = agent.get(f"/board/case/{reference}").get_data(as_text=True)
    assert f"webchat:{session_id}" not in page
    assert _preview_and_send(agent, reference, "webchat", "One more thing.") == 400
    with services.database.read() as session:
        case = session.execute(select(Case).where(col(Case.reference) == reference)).scalar_one()
        assert session.execute(select(OutboxItem).where(
            col(OutboxItem.case_id) == case.id, col(OutboxItem.kind) == "reply")).first() is None
