"""Typing shows on the other side for 5 s: each side's state says how many seconds the sign has
left (the pages hide it themselves then), and once the chat has ended nobody is typing."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from caseboard.services import Services
from tests.channels.webchat.conftest import MOULD, Citizen, sign_in


def test_typing_has_seconds_left_and_ends_with_the_chat(
        app: Flask, client: FlaskClient, services: Services) -> None:
    citizen = Citizen(client, name="Ann")
    assert citizen.post("/handover", text=MOULD, client_id="q1").status_code == 200
    agent, csrf = sign_in(app)
    session_id = agent.get("/board/chats/state").get_json()["waiting"][0]["id"]
    assert agent.post(f"/board/chats/{session_id}/take", headers=csrf).status_code == 200
    state = citizen.history()["state"]
    assert (state["agent_typing"], state["agent_typing_seconds"]) == (False, 0)

    assert citizen.post("/typing").status_code == 200
    mine = agent.get("/board/chats/state").get_json()["mine"][0]
    assert mine["citizen_typing"] is True and 4 <= mine["citizen_typing_seconds"] <= 5

    assert agent.post(f"/board/chats/{session_id}/typing", headers=csrf).status_code == 200
    state = citizen.history()["state"]
    assert state["agent_typing"] is True and 4 <= state["agent_typing_seconds"] <= 5

    # The agent ends the chat in the middle of typing: the citizen's last state (the stream
    # of an ended chat closes after it) must not leave "The agent is typing…" up.
    assert agent.post(f"/board/chats/{session_id}/end", headers=csrf).status_code == 200
    state = citizen.history()["state"]
    assert state["status"] == "ended"
    assert (state["agent_typing"], state["agent_typing_seconds"]) == (False, 0)
