"""A chat is queued only when an available agent could take it: one of its department who
speaks its language and handles its service. Otherwise it becomes a message case at once, said
in the citizen's language, instead of waiting for an agent who is refused when they take it."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import col, select

from caseboard import auth
from caseboard.assignment import set_presence
from caseboard.models import User
from caseboard.services import Services
from channels.webchat import phrases
from tests.channels.webchat.conftest import PASSWORD, Citizen, sign_in

BINS_ZH = "我家门口的垃圾桶没有清空"  # routed to waste / bins
BINS_EN = "The bin outside my house was not emptied"


def _bob(services: Services, languages: tuple[str, ...] = ("en",),
         skills: tuple[str, ...] = ()) -> None:
    """bob of the waste department, available."""
    with services.database.write() as session:
        user = auth.create_user(session, "bob", "agent", PASSWORD, display_name="Bob",
                                departments=("waste",), languages=languages)
        user.skills = list(skills)
        session.add(user)
        session.flush()
        set_presence(session, "bob", "available", "bob")


def _system_lines(citizen: Citizen) -> list[str]:
    return [line["text"] for line in citizen.history()["lines"] if line["author"] == "system"]


def test_a_chinese_chat_nobody_there_speaks_becomes_a_message_case_in_chinese(
        app: Flask, client: FlaskClient, services: Services) -> None:
    _bob(services, languages=("en",))
    citizen = Citizen(client, name="王芳", language="zh")
    answer = citizen.post("/handover", text=BINS_ZH, client_id="q1")
    assert answer.status_code == 200, answer.get_json()
    state = answer.get_json()["state"]
    assert state["status"] == "message" and state["position"] is None
    nobody = phrases.of("zh").nobody.format(reference=state["reference"])
    assert nobody in _system_lines(citizen)
    bob, csrf = sign_in(app, "bob")
    assert bob.get("/board/chats/state").get_json()["waiting"] == []
    saved = citizen.post("/contact", email="wang@example.org", phone="")
    assert saved.status_code == 200 and saved.get_json()["state"]["contact"]


def test_the_same_chat_is_queued_when_the_agent_speaks_chinese_and_they_can_take_it(
        app: Flask, client: FlaskClient, services: Services) -> None:
    _bob(services, languages=("en", "zh"))
    citizen = Citizen(client, name="王芳", language="zh")
    state = citizen.post("/handover", text=BINS_ZH, client_id="q1").get_json()["state"]
    assert state["status"] == "queued" and state["position"] == 1
    bob, csrf = sign_in(app, "bob")
    waiting = bob.get("/board/chats/state").get_json()["waiting"]
    assert [w["name"] for w in waiting] == ["王芳"]
    taken = bob.post(f"/board/chats/{waiting[0]['id']}/take", headers=csrf)
    assert taken.status_code == 200, taken.get_json()
    assert citizen.history()["state"]["status"] == "live"


def test_an_agent_who_does_not_handle_the_service_is_not_counted(
        client: FlaskClient, services: Services) -> None:
    _bob(services, skills=("fly-tipping",))
    citizen = Citizen(client, name="Ann")
    assert citizen.post("/handover", text=BINS_EN, client_id="q1") \
        .get_json()["state"]["status"] == "message"


def test_an_agent_with_no_room_for_chats_at_all_is_not_counted_but_a_busy_one_is(
        app: Flask, client: FlaskClient, services: Services) -> None:
    _bob(services)
    with services.database.write() as session:
        user = session.execute(select(User).where(col(User.username) == "bob")).scalar_one()
        user.capacity = {"chat": 0}
        session.add(user)
    first = Citizen(client, name="Ann")
    assert first.post("/handover", text=BINS_EN, client_id="q1") \
        .get_json()["state"]["status"] == "message"

    with services.database.write() as session:
        user = session.execute(select(User).where(col(User.username) == "bob")).scalar_one()
        user.capacity = {"chat": 1}
        session.add(user)
    bob, csrf = sign_in(app, "bob")
    second = Citizen(client, name="Ben")
    assert second.post("/handover", text=BINS_EN, client_id="q1") \
        .get_json()["state"]["status"] == "queued"
    chat_id = bob.get("/board/chats/state").get_json()["waiting"][0]["id"]
    assert bob.post(f"/board/chats/{chat_id}/take", headers=csrf).status_code == 200
    # bob's one chat slot is taken, but he will be free again: the next chat waits for him.
    third = Citizen(client, name="Cat")
    assert third.post("/handover", text=BINS_EN, client_id="q1") \
        .get_json()["state"]["status"] == "queued"


def _presence(services: Services, username: str, presence: str) -> None:
    with services.database.write() as session:
        set_presence(session, username, presence, username)


def test_a_queued_chat_whose_last_agent_who_could_take_it_leaves_becomes_a_message_case(
        app: Flask, client: FlaskClient, services: Services) -> None:
    _bob(services, languages=("en",))
    with services.database.write() as session:
        auth.create_user(session, "xi", "agent", PASSWORD, display_name="Xi",
                         departments=("waste",), languages=("zh",))
        set_presence(session, "xi", "available", "xi")
    flows = app.extensions["webchat"].flows
    flows.recheck_seconds = 0.0
    citizen = Citizen(client, name="王芳", language="zh")
    state = citizen.post("/handover", text=BINS_ZH, client_id="q1").get_json()["state"]
    assert state["status"] == "queued"

    _presence(services, "xi", "away")  # for a moment only: the chat keeps its place
    assert citizen.history()["state"]["status"] == "queued"
    _presence(services, "xi", "available")
    assert citizen.history()["state"]["status"] == "queued"

    flows.stranded_seconds = 0.0
    _presence(services, "xi", "offline")  # bob is still there, but speaks no Chinese
    state = citizen.history()["state"]
    assert state["status"] == "message" and state["position"] is None
    nobody = phrases.of("zh").nobody.format(reference=state["reference"])
    assert _system_lines(citizen).count(nobody) == 1
    bob, _ = sign_in(app, "bob")
    assert bob.get("/board/chats/state").get_json()["waiting"] == []
    assert citizen.history()["state"]["status"] == "message"
    assert _system_lines(citizen).count(nobody) == 1


def test_a_queued_chat_stays_queued_while_an_agent_who_could_take_it_is_there(
        app: Flask, client: FlaskClient, services: Services) -> None:
    _bob(services, languages=("en", "zh"))
    flows = app.extensions["webchat"].flows
    flows.recheck_seconds = flows.stranded_seconds = 0.0
    citizen = Citizen(client, name="王芳", language="zh")
    assert citizen.post("/handover", text=BINS_ZH, client_id="q1") \
        .get_json()["state"]["status"] == "queued"
    for _ in range(3):
        assert citizen.history()["state"]["status"] == "queued"


def test_an_agent_sees_why_they_cannot_take_a_waiting_chat_instead_of_being_refused(
        app: Flask, client: FlaskClient, services: Services) -> None:
    _bob(services, languages=("en",))
    with services.database.write() as session:
        auth.create_user(session, "xi", "agent", PASSWORD, display_name="Xi",
                         departments=("waste",), languages=("zh",))
        set_presence(session, "xi", "available", "xi")
    chinese, english = Citizen(client, name="王芳", language="zh"), Citizen(client, name="Ann")
    for citizen, text in ((chinese, BINS_ZH), (english, BINS_EN)):
        assert citizen.post("/handover", text=text, client_id="q1") \
            .get_json()["state"]["status"] == "queued"
    bob, _ = sign_in(app, "bob")
    xi, _ = sign_in(app, "xi")
    seen = {name: {w["name"]: w["cannot_take"]
                   for w in agent.get("/board/chats/state").get_json()["waiting"]}
            for name, agent in (("bob", bob), ("xi", xi))}
    assert seen == {"bob": {"王芳": "bob does not speak zh", "Ann": ""},
                    "xi": {"王芳": "", "Ann": "xi does not speak en"}}
