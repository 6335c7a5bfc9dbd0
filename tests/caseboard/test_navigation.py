"""The board's menu: each user sees the pages of their role, channels' pages included."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from caseboard import auth
from caseboard.services import Services


def _menu(client: FlaskClient, username: str, services: Services) -> str:
    with services.database.write() as session:
        auth.create_user(session, username, "agent" if username == "alice" else "supervisor",
                         f"{username}-test-password", departments=("housing",))
    page = client.post("/login", data={"username": username,
                                       "password": f"{username}-test-password"},
                       follow_redirects=True).get_data(as_text=True)
    return page.split("<nav>")[1].split("</nav>")[0]


def test_agents_see_channel_pages_and_supervisors_also_the_dashboard(
        app: Flask, services: Services) -> None:
    app.config["WTF_CSRF_ENABLED"] = False
    agent_menu = _menu(app.test_client(), "alice", services)
    for link in ('href="/board/walk-in"', 'href="/board/calls"', 'href="/board/chats"',
                 'href="/board/letters"'):
        assert link in agent_menu
    assert "/supervisor" not in agent_menu
    supervisor_menu = _menu(app.test_client(), "bob", services)
    assert 'href="/board/chats"' in supervisor_menu
    assert '">Supervisor</a>' in supervisor_menu
