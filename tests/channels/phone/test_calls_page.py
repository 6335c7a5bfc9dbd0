"""/board/calls on both databases: an agent sees the callers waiting in their own departments
only (a supervisor every department's), on the board's usual page with its menu."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from caseboard import auth
from caseboard.contacts import InboundContact, Sender
from caseboard.models import utcnow
from caseboard.queries import case_by_reference
from caseboard.services import Services
from channels.phone.models import PhoneCall

PASSWORD = "a-long-password"


def _waiting_caller(services: Services, number: str, department: str) -> str:
    """A caller in the department's queue, with the case behind the call."""
    sid = "CA" + number[-6:] * 5 + "ab"
    reference = services.intake.take(InboundContact(
        "phone", sid, Sender("", phone=number), "(call)", language="en",
        explicit_department=department)).reference
    with services.database.write() as session:
        case = case_by_reference(session, reference)
        assert case is not None and case.id is not None
        now = utcnow()
        session.add(PhoneCall(call_sid=sid, case_id=case.id, from_number=number,
                              status="queued", department_id=department, created_at=now,
                              queued_at=now, updated_at=now))
    return reference


def _sign_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.findall(r'name="csrf_token" value="([^"]+)"', page)[0]
    assert client.post("/login", data={"csrf_token": token, "username": username,
                                       "password": PASSWORD}).status_code == 303
    return client


def test_an_agent_sees_only_the_callers_of_their_departments(phone_app: Flask,
                                                             phone_services: Services) -> None:
    with phone_services.database.write() as session:
        auth.create_user(session, "alice", "agent", PASSWORD, display_name="Alice Agent",
                         departments=("housing", "triage"))
        auth.create_user(session, "bob", "supervisor", PASSWORD, display_name="Bob Boss",
                         departments=("housing",))
    housing = _waiting_caller(phone_services, "+447700900111", "housing")
    roads = _waiting_caller(phone_services, "+447700900222", "roads")
    alice = _sign_in(phone_app, "alice")
    page = alice.get("/board/calls").get_data(as_text=True)
    assert housing in page and "+447700900111" in page
    assert roads not in page and "+447700900222" not in page  # her case page would say 403
    assert alice.get(f"/board/case/{roads}").status_code == 403
    assert "Sign out" in page and 'href="/board/queue"' in page  # the board's own layout
    assert "Alice Agent (agent)" in page
    bob = _sign_in(phone_app, "bob").get("/board/calls").get_data(as_text=True)
    assert housing in bob and roads in bob  # a supervisor sees every department
    assert "Sign out" in bob and "All queues" in bob
