"""Shared pieces of the case page tests: people, a signed-in client, cases, form tokens."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import col, func, select

from caseboard import auth
from caseboard.contacts import InboundContact, IncomingAttachment, Sender
from caseboard.models import Case
from caseboard.services import Services

PASSWORD = "a-long-password"
MOULD = "Dear Sir or Madam, there is black mould in the bedroom of my flat."


def add_people(services: Services) -> None:
    with services.database.write() as session:
        auth.create_user(session, "alice", "agent", PASSWORD, display_name="Alice Agent",
                         departments=("housing", "triage"))
        auth.create_user(session, "dave", "agent", PASSWORD, display_name="Dave Roads",
                         departments=("roads",))
        auth.create_user(session, "bob", "supervisor", PASSWORD, display_name="Bob Boss",
                         departments=("housing",))


def form_value(page: str, name: str, nth: int = 0) -> str:
    found = re.findall(rf'name="{name}" value="([^"]*)"', page)
    assert len(found) > nth, f"no {name} in the page"
    return found[nth]


def sign_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    answer = client.post("/login", data={"csrf_token": form_value(page, "csrf_token"),
                                         "username": username, "password": PASSWORD})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return client


def new_case(services: Services, external_id: str = "<mould@x>", text: str = MOULD,
             email: str = "arthur@mail.example", phone: str = "", name: str = "Arthur Dent",
             subject: str = "Damp and mould", department: str | None = "housing",
             attachments: tuple[IncomingAttachment, ...] = ()) -> str:
    result = services.intake.take(InboundContact(
        "email", external_id, Sender(name, email=email, phone=phone), text, subject=subject,
        language="en", explicit_department=department, attachments=attachments))
    return result.reference


def count(services: Services, model: type, **where: object) -> int:
    with services.database.read() as session:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(col(getattr(model, key)) == value)
        return int(session.execute(query).scalar_one())


def case_row(services: Services, reference: str) -> Case:
    with services.database.read() as session:
        return session.execute(select(Case).where(col(Case.reference) == reference)).scalar_one()


@pytest.fixture(name="people")
def people_fixture(services: Services) -> None:
    add_people(services)
    services.kb.load_demo()


@pytest.fixture(name="alice")
def alice_fixture(app: Flask, people: None) -> FlaskClient:
    return sign_in(app, "alice")


@pytest.fixture(name="signed")
def signed_fixture(app: Flask, people: None) -> Callable[[str], FlaskClient]:
    return lambda username: sign_in(app, username)


FIXTURES = (alice_fixture, people_fixture, signed_fixture)  # import these into a test module
