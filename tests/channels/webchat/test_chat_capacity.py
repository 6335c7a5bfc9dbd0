"""An agent holding several chats at once, up to their chat capacity: each line reaches its own
chat on both sides, one more is refused until one of them ends."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from caseboard.services import Services
from tests.channels.webchat.conftest import MOULD, Citizen, sign_in


def test_three_chats_at_once_each_line_in_its_own_chat_and_a_fourth_refused(
        app: Flask, client: FlaskClient, services: Services) -> None:
    citizens = {name: Citizen(client, name=name) for name in ("Ann", "Ben", "Cat", "Dan")}
    for name, citizen in citizens.items():
        assert citizen.post("/handover", text=f"{MOULD} ({name})", client_id="q1") \
            .status_code == 200
    agent, csrf = sign_in(app)
    chats = {w["name"]: w["id"] for w in agent.get("/board/chats/state").get_json()["waiting"]}
    for name in ("Ann", "Ben", "Cat"):
        assert agent.post(f"/board/chats/{chats[name]}/take", headers=csrf).status_code == 200
    refused = agent.post(f"/board/chats/{chats['Dan']}/take", headers=csrf)
    assert refused.status_code == 409
    assert "You already hold 3 chats (your capacity is 3)" in refused.get_json()["message"]
    assert citizens["Dan"].history()["state"]["status"] == "queued"

    for name in ("Ann", "Ben", "Cat"):
        assert citizens[name].say(f"{name} here").status_code == 201
        assert agent.post(f"/board/chats/{chats[name]}/messages", headers=csrf,
                          json={"text": f"Hello {name}"}).status_code == 201
    state = agent.get("/board/chats/state").get_json()
    assert sorted(c["name"] for c in state["mine"]) == ["Ann", "Ben", "Cat"]
    assert state["capacity"] == 3
    said = {line["text"]: line["session"] for line in state["lines"]}
    for name in ("Ann", "Ben", "Cat"):
        assert said[f"{name} here"] == said[f"Hello {name}"] == chats[name]
        texts = [line["text"] for line in citizens[name].history()["lines"]]
        assert f"Hello {name}" in texts
        assert [t for t in texts if t.startswith("Hello ")] == [f"Hello {name}"]

    wrong = agent.post(f"/board/chats/{chats['Dan']}/messages", headers=csrf,
                       json={"text": "not yours yet"})
    assert wrong.status_code == 409
    assert agent.post(f"/board/chats/{chats['Ann']}/end", headers=csrf).status_code == 200
    assert agent.post(f"/board/chats/{chats['Dan']}/take", headers=csrf).status_code == 200
    assert citizens["Dan"].history()["state"]["status"] == "live"
