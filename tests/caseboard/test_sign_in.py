"""Signing in to the board on both databases: passwords, lock-out, CSRF, roles, sessions."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask.testing import FlaskClient
from sqlmodel import col, select

from caseboard import auth
from caseboard.models import AuditEvent, User, utcnow
from caseboard.services import Services
from caseboard.web_auth import UnknownNames

PASSWORD = "a-long-password"


@pytest.fixture
def people(services: Services) -> None:
    with services.database.write() as session:
        auth.create_user(session, "alice", "agent", PASSWORD, display_name="Alice Agent",
                         departments=("housing",))
        auth.create_user(session, "bob", "supervisor", PASSWORD, display_name="Bob Boss",
                         departments=("housing",))


def csrf_from(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD,
            next_page: str = "") -> int:
    token = csrf_from(client, "/login")
    answer = client.post("/login", data={"csrf_token": token, "username": username,
                                         "password": password, "next": next_page})
    return answer.status_code


def test_pages_send_strangers_to_sign_in_and_back(client: FlaskClient, people: None) -> None:
    answer = client.get("/board/agents")
    assert answer.status_code == 302 and "/login?next=/board/agents" in answer.location
    token = csrf_from(client, "/login?next=/board/agents")
    signed = client.post("/login", data={"csrf_token": token, "username": "bob",
                                         "password": PASSWORD, "next": "/board/agents"})
    assert signed.status_code == 303 and signed.location.endswith("/board/agents")
    page = client.get("/board/agents").get_data(as_text=True)
    assert "alice" in page and "bob" in page


def test_wrong_password_and_unknown_user_get_the_same_answer(client: FlaskClient,
                                                              people: None) -> None:
    wrong = client.post("/login", data={"csrf_token": csrf_from(client, "/login"),
                                        "username": "alice", "password": "nope"})
    unknown = client.post("/login", data={"csrf_token": csrf_from(client, "/login"),
                                          "username": "mallory", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong user name or password." in wrong.get_data(as_text=True)
    assert "Wrong user name or password." in unknown.get_data(as_text=True)
    assert client.get("/board/me").status_code == 302  # still signed out


def test_repeated_failures_lock_the_account(client: FlaskClient, people: None,
                                            services: Services) -> None:
    for _ in range(5):
        assert sign_in(client, "alice", "guess") == 401
    locked = client.post("/login", data={"csrf_token": csrf_from(client, "/login"),
                                         "username": "alice", "password": PASSWORD})
    assert locked.status_code == 401
    assert "Too many failed attempts" in locked.get_data(as_text=True)
    with services.database.read() as session:
        user = session.execute(select(User).where(col(User.username) == "alice")).scalar_one()
        events = session.execute(select(AuditEvent.action)).scalars().all()
    assert user.locked_until is not None and "account_locked" in events


def test_forms_without_a_valid_csrf_token_are_refused(client: FlaskClient, people: None,
                                                      services: Services) -> None:
    forged = client.post("/login", data={"csrf_token": "forged", "username": "alice",
                                         "password": PASSWORD})
    assert forged.status_code == 400
    assert sign_in(client, "alice") == 303
    refused = client.post("/board/me/presence", data={"presence": "available"})
    assert refused.status_code == 400
    with services.database.read() as session:
        user = session.execute(select(User).where(col(User.username) == "alice")).scalar_one()
    assert user.presence == "offline"  # nothing changed


def test_agent_sets_presence_and_cannot_open_supervisor_pages(client: FlaskClient,
                                                              people: None,
                                                              services: Services) -> None:
    assert sign_in(client, "alice") == 303
    token = csrf_from(client, "/board/me")
    answer = client.post("/board/me/presence", data={"csrf_token": token,
                                                     "presence": "available"})
    assert answer.status_code == 303
    assert '<strong id="presence">available</strong>' in client.get("/board/me").get_data(
        as_text=True)
    bad = client.post("/board/me/presence", data={"csrf_token": token, "presence": "asleep"})
    assert bad.status_code == 400
    assert client.get("/board/agents").status_code == 403


def test_sign_out_ends_the_session(client: FlaskClient, people: None) -> None:
    assert sign_in(client, "alice") == 303
    token = csrf_from(client, "/board/me")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/board/me").status_code == 302


def test_a_password_change_signs_out_other_sessions(client: FlaskClient, people: None,
                                                    services: Services) -> None:
    assert sign_in(client, "alice") == 303
    with services.database.write() as session:
        user = session.execute(select(User).where(col(User.username) == "alice")).scalar_one()
        user.password_hash = auth.hash_password("another-long-password")
        session.add(user)
    assert client.get("/board/me").status_code == 302


def test_sign_in_never_redirects_to_another_site(client: FlaskClient, people: None) -> None:
    token = csrf_from(client, "/login")
    answer = client.post("/login", data={"csrf_token": token, "username": "alice",
                                         "password": PASSWORD, "next": "//evil.example/x"})
    assert answer.status_code == 303 and answer.location.endswith("/board/me")


def test_session_cookie_is_httponly_and_samesite(client: FlaskClient, people: None) -> None:
    token = csrf_from(client, "/login")
    answer = client.post("/login", data={"csrf_token": token, "username": "alice",
                                         "password": PASSWORD})
    cookie = answer.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_display_names_are_escaped(client: FlaskClient, services: Services) -> None:
    with services.database.write() as session:
        auth.create_user(session, "eve", "supervisor", PASSWORD,
                         display_name="<script>alert(1)</script>")
    assert sign_in(client, "eve") == 303
    page = client.get("/board/me").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def _failure_text(client: FlaskClient, username: str) -> str:
    answer = client.post("/login", data={"csrf_token": csrf_from(client, "/login"),
                                         "username": username, "password": "guess"})
    assert answer.status_code == 401
    found = re.search(r'class="error"[^>]*>([^<]*)<', answer.get_data(as_text=True))
    assert found, answer.get_data(as_text=True)
    return found.group(1)


def test_unknown_names_are_locked_out_like_real_accounts(client: FlaskClient, people: None,
                                                         services: Services) -> None:
    real = [_failure_text(client, "alice") for _ in range(7)]
    unknown = [_failure_text(client, "zed-nobody") for _ in range(7)]
    assert real == unknown  # the answers never tell whether the name exists
    assert real[:5] == ["Wrong user name or password."] * 5
    assert all(text.startswith("Too many failed attempts: try again after ")
               for text in real[5:])
    with services.database.read() as session:
        names = session.execute(select(User.username)).scalars().all()
    assert sorted(names) == ["alice", "bob"]  # no user rows for invented names


def test_deactivated_accounts_are_locked_out_like_others(client: FlaskClient, people: None,
                                                         services: Services) -> None:
    with services.database.write() as session:
        user = session.execute(select(User).where(col(User.username) == "bob")).scalar_one()
        user.active = False
        session.add(user)
    answers = [_failure_text(client, "bob") for _ in range(6)]
    assert answers[-1].startswith("Too many failed attempts")


def test_unknown_names_are_remembered_in_bounded_memory() -> None:
    names = UnknownNames(limit=3)
    now = utcnow()
    for _ in range(5):
        names.fail("zed", now)
    assert names.locked_until("zed", now) == now + dt.timedelta(minutes=15)
    assert names.locked_until("zed", now + dt.timedelta(minutes=16)) is None
    for other in ("a", "b", "c"):
        names.fail(other, now)
    assert len(names) == 3
    assert names.locked_until("zed", now) is None  # the oldest name was forgotten
