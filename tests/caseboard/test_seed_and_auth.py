"""First start, the demo administration, users and tokens, on both databases."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlmodel import col, select

from caseboard import auth, seed
from caseboard.models import ApiToken, Case, Department, ServiceType, User, UserDepartment
from caseboard.services import Services, build_services, prepare_database, seed_demo
from tests.conftest import make_config


def test_empty_start_has_departments_but_no_users_or_cases(services: Services) -> None:
    with services.database.read() as session:
        departments = session.execute(select(Department.id)).scalars().all()
        assert len(departments) == 12 and "triage" in departments
        assert session.execute(select(ServiceType)).first() is not None
        assert session.execute(select(User)).first() is None
        assert session.execute(select(Case)).first() is None


def test_first_start_with_demo_seeds_users_and_cases_once(tmp_path: Path, db_url: str) -> None:
    config = make_config(tmp_path, db_url, CC_DEMO="1")
    built = build_services(config)
    try:
        assert prepare_database(built) is True
        assert prepare_database(built) is False  # a second start seeds nothing
        assert seed_demo(built) == []  # and seed-demo adds nothing twice
        with built.database.read() as session:
            users = {u.username: u for u in session.execute(select(User)).scalars()}
            alice_departments = session.execute(select(UserDepartment.department_id).where(
                col(UserDepartment.user_id) == users["alice"].id)).scalars().all()
            cases = session.execute(select(Case)).scalars().all()
        assert {(n, u.role) for n, u in users.items()} == {
            ("alice", "agent"), ("bob", "supervisor"), ("carol", "admin")}
        assert sorted(alice_departments) == ["housing", "triage"]
        assert auth.verify_password(users["alice"].password_hash, "alice-demo-password")
        assert users["alice"].password_hash.startswith("$argon2")
        assert len(cases) == 6
        by_channel = {c.channel: c for c in cases}
        assert by_channel["sms"].department_id == "roads"
        assert by_channel["phone"].priority == "urgent"
    finally:
        built.database.dispose()


def test_removed_department_is_deactivated_not_deleted(services: Services) -> None:
    config = services.config
    fewer = dataclasses.replace(config, departments=tuple(
        d for d in config.departments if d.id != "parks"))
    with services.database.write() as session:
        seed.sync_departments(session, fewer)
    with services.database.read() as session:
        parks = session.get(Department, "parks")
        trees = session.get(ServiceType, "trees")
    assert parks is not None and parks.active is False
    assert trees is not None and trees.active is False


def test_tokens_are_stored_only_as_hashes(services: Services) -> None:
    with services.database.write() as session:
        token = auth.create_token(session, "kiosk", "intake")
    with services.database.read() as session:
        stored = session.execute(select(ApiToken)).scalar_one()
        holder = auth.check_token(session, token)
        assert auth.check_token(session, token + "x") is None
    assert token not in stored.token_hash and len(stored.token_hash) == 64
    assert holder == auth.TokenIdentity("kiosk", "intake")


@pytest.mark.parametrize("name, role, password, departments, message", [
    ("dave", "wizard", "long-enough-pw", (), "unknown role"),
    ("dave", "agent", "short", (), "at least"),
    ("dave smith", "agent", "long-enough-pw", (), "invalid user name"),
    ("dave", "agent", "long-enough-pw", ("atlantis",), "unknown department"),
])
def test_bad_users_are_refused(services: Services, name: str, role: str, password: str,
                               departments: tuple[str, ...], message: str) -> None:
    with pytest.raises(auth.AuthError, match=message), services.database.write() as session:
        auth.create_user(session, name, role, password, departments=departments)
    with services.database.read() as session:
        assert session.execute(select(User)).first() is None
