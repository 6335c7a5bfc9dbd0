"""Who reads which cases through the API, on both databases: a token acts for a user and sees
what that user sees on the board; tokens without a user, and tokens in databases migrated
from before tokens had users."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import col, select

from caseboard import auth
from caseboard.db import Database, alembic_config, migrate
from caseboard.models import Case, User
from caseboard.services import Services, build_services, prepare_database
from tests.caseboard.board_case_support import add_people, new_case, sign_in
from tests.conftest import PG_ADMIN_URL, make_config


def bearer(services: Services, role: str, user: str | None = None) -> dict[str, str]:
    with services.database.write() as session:
        token = auth.create_token(session, f"{role}-{user}", role, user=user)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def cases(services: Services) -> dict[str, str]:
    """A housing case, a roads case, and a waste case assigned to dave (a roads agent)."""
    add_people(services)
    made = {"housing": new_case(services),
            "roads": new_case(services, "<pothole@x>", "A deep pothole on Elm Road",
                              email="ford@mail.example", subject="Pothole",
                              department="roads"),
            "waste": new_case(services, "<bins@x>", "My bins were not emptied",
                              email="zaphod@mail.example", subject="Bins",
                              department="waste")}
    with services.database.write() as session:
        dave = session.execute(select(User).where(col(User.username) == "dave")).scalar_one()
        waste = session.execute(select(Case).where(col(Case.reference) == made["waste"])
                                ).scalar_one()
        waste.assigned_user_id = dave.id
        session.add(waste)
    return made


def listed(client: FlaskClient, headers: dict[str, str], query: str = "") -> set[str]:
    response = client.get(f"/api/v1/cases{query}", headers=headers)
    assert response.status_code == 200, response.json
    assert response.json["total"] == len(response.json["cases"])
    return {c["reference"] for c in response.json["cases"]}


def test_an_agent_token_reads_what_its_user_sees_on_the_board(
        app: Flask, client: FlaskClient, services: Services, cases: dict[str, str]) -> None:
    dave = bearer(services, "agent", "dave")
    assert listed(client, dave) == {cases["roads"], cases["waste"]}  # his department, his case
    assert listed(client, dave, "?department=roads") == {cases["roads"]}
    other = client.get("/api/v1/cases?department=housing", headers=dave)
    assert other.status_code == 403 and "housing" in other.json["message"]
    board = sign_in(app, "dave")
    for department, reference in cases.items():
        api = client.get(f"/api/v1/cases/{reference}", headers=dave)
        page = board.get(f"/board/case/{reference}")
        assert api.status_code == page.status_code == (403 if department == "housing" else 200)
    refused = client.get(f"/api/v1/cases/{cases['housing']}", headers=dave)
    assert refused.json is not None and set(refused.json) == {"error", "message"}
    assert "Arthur" not in refused.get_data(as_text=True)
    assert "housing department" in refused.json["message"]
    alice = bearer(services, "agent", "alice")
    assert listed(client, alice) == {cases["housing"]}
    assert client.get(f"/api/v1/cases/{cases['roads']}", headers=alice).status_code == 403


def test_supervisors_and_admins_read_every_case(client: FlaskClient, services: Services,
                                                cases: dict[str, str]) -> None:
    everything = set(cases.values())
    assert listed(client, bearer(services, "supervisor", "bob")) == everything
    assert listed(client, bearer(services, "agent", "bob")) == everything  # bob's board
    assert listed(client, bearer(services, "supervisor")) == everything  # acting for no user
    assert listed(client, bearer(services, "admin")) == everything


def test_an_agent_token_without_a_user_reads_no_case(client: FlaskClient,
                                                     services: Services,
                                                     cases: dict[str, str]) -> None:
    nobody = bearer(services, "agent")
    listing = client.get("/api/v1/cases", headers=nobody)
    assert listing.status_code == 403 and "--user" in listing.json["message"]
    one = client.get(f"/api/v1/cases/{cases['roads']}", headers=nobody)
    assert one.status_code == 403 and "Elm Road" not in one.get_data(as_text=True)
    # It still does what it did before: submit contacts, list departments.
    posted = client.post("/api/v1/contacts", headers=nobody, json={
        "channel": "api", "sender": {"phone": "07700 900002"}, "text": "bins not emptied"})
    assert posted.status_code == 201
    assert client.get("/api/v1/departments", headers=nobody).status_code == 200


def test_intake_tokens_read_nothing(client: FlaskClient, services: Services,
                                    cases: dict[str, str]) -> None:
    intake = bearer(services, "intake")
    assert client.get("/api/v1/cases", headers=intake).status_code == 403
    assert client.get(f"/api/v1/cases/{cases['roads']}", headers=intake).status_code == 403


def test_a_token_follows_its_user(client: FlaskClient, services: Services,
                                  cases: dict[str, str]) -> None:
    bob = bearer(services, "supervisor", "bob")
    with services.database.write() as session:
        row = session.execute(select(User).where(col(User.username) == "bob")).scalar_one()
        row.role = "agent"  # demoted: his token reads as the agent he now is
        session.add(row)
    assert listed(client, bob) == {cases["housing"]}
    with services.database.write() as session:
        row = session.execute(select(User).where(col(User.username) == "bob")).scalar_one()
        row.active = False
        session.add(row)
    gone = client.get("/api/v1/cases", headers=bob)
    assert gone.status_code == 401


@pytest.mark.parametrize("role, user, message", [
    ("supervisor", "alice", "alice is an agent: a token acting for them may have role agent"),
    ("admin", "bob", "role agent or supervisor"),
    ("agent", "nobody", "no active user 'nobody'"),
    ("intake", "alice", "intake tokens read nothing, so they act for no user"),
])
def test_tokens_never_outrank_their_user(services: Services, role: str, user: str,
                                         message: str) -> None:
    add_people(services)
    with services.database.write() as session, pytest.raises(auth.AuthError, match=message):
        auth.create_token(session, "t", role, user=user)


# ------------------------------------------------------------------ tokens made before 0018


@pytest.fixture
def fresh_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database nothing has migrated yet (the shared PostgreSQL test database is)."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"cc_test_old_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield admin.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_tokens_from_before_users_keep_working_safely(fresh_url: str, tmp_path: Path) -> None:
    old = Database(fresh_url)
    with old.engine.begin() as connection:
        config = alembic_config(fresh_url)
        config.attributes["connection"] = connection
        command.upgrade(config, "0017")
    made = {}
    with old.engine.begin() as connection:
        for role in ("agent", "supervisor", "intake"):
            made[role] = auth.TOKEN_PREFIX + uuid.uuid4().hex
            connection.execute(sa.text(
                "INSERT INTO api_token (name, role, token_hash, created_at) "
                "VALUES (:name, :role, :hash, :now)"),
                {"name": f"old-{role}", "role": role, "hash": auth._digest(made[role]),
                 "now": dt.datetime.now(dt.UTC)})
    migrate(old)
    old.dispose()
    services = build_services(make_config(tmp_path, fresh_url))
    prepare_database(services)
    from app import create_app

    client = create_app(services.config, services).test_client()
    try:
        headers = {role: {"Authorization": f"Bearer {token}"} for role, token in made.items()}
        for role in made:
            posted = client.post("/api/v1/contacts", headers=headers[role], json={
                "channel": "api", "external_id": role, "sender": {"phone": "07700 900002"},
                "text": "The street light outside number 9 is out"})
            assert posted.status_code == 201, (role, posted.json)
        assert client.get("/api/v1/cases", headers=headers["supervisor"]).json["total"] == 3
        assert client.get("/api/v1/cases", headers=headers["agent"]).status_code == 403
        assert client.get("/api/v1/cases", headers=headers["intake"]).status_code == 403
    finally:
        services.database.dispose()
