"""A supervisor moves a whole queue (optionally one service, optionally with the cases agents
hold) to another department or to one agent: previewed with a count, done in one action,
audited per case; bad targets are refused and change nothing. Both databases."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlmodel import col, select

from caseboard import auth
from caseboard.contacts import InboundContact, Sender
from caseboard.models import AuditEvent, Case, User
from caseboard.services import Services
from tests.caseboard.test_sign_in import PASSWORD, csrf_from, sign_in
from tests.caseboard.test_supervisor_dashboard import act, dashboard, folder, give, staff

__all__ = ["staff"]

_ids = itertools.count(1)


@pytest.fixture
def erin(services: Services) -> None:
    """A second housing agent, and an inactive one."""
    with services.database.write() as session:
        auth.create_user(session, "erin", "agent", PASSWORD, departments=("housing",))
        auth.create_user(session, "gone", "agent", PASSWORD, departments=("housing",))
        gone = session.execute(select(User).where(col(User.username) == "gone")).scalar_one()
        gone.active = False
        session.add(gone)


def housing_case(services: Services, service: str, channel: str = "email") -> int:
    number = next(_ids)
    sender = Sender(email=f"q{number}@mail.example") if channel == "email" \
        else Sender(phone=f"+4477009{number:05d}")
    result = services.intake.take(InboundContact(
        channel, f"queue-{number}", sender, text=f"Housing request {number}",
        subject=f"Housing {number}", explicit_department="housing", explicit_service=service))
    return result.case_id


def snapshot(services: Services) -> tuple[list[tuple[Any, ...]], int]:
    """Every case's department, status and holder, and the length of the audit trail."""
    with services.database.read() as session:
        cases = session.execute(select(Case.id, Case.department_id, Case.status,
                                       Case.assigned_user_id).order_by(col(Case.id))).all()
        events = session.execute(select(AuditEvent.id)).all()
    return [tuple(row) for row in cases], len(events)


def form(client: FlaskClient, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf_from(client, "/supervisor"), **fields}


def test_a_queue_of_one_service_moves_to_another_department(
        client: FlaskClient, staff: None, services: Services) -> None:
    repairs = [housing_case(services, "housing-repair") for _ in range(3)]
    rent = housing_case(services, "rent")
    held = housing_case(services, "housing-repair")
    give(services, held, "alice")
    act(services, repairs[2], "accept")  # accepted but held by nobody: still waiting
    assert sign_in(client, "bob") == 303
    page = client.get("/supervisor/queues/move?department=housing&service=housing-repair"
                      "&to_department=roads&reason=roadworks")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<strong id="move-count">3</strong> cases' in text and "department roads" in text
    with services.database.read() as session:
        references = [session.get(Case, i).reference for i in repairs]  # type: ignore[union-attr]
    assert all(f"<li>{reference}</li>" in text for reference in references)
    answer = client.post("/supervisor/queues/move", data=form(
        client, department="housing", service="housing-repair", to_department="roads",
        reason="roadworks team takes these", expected="3"), follow_redirects=True)
    assert "3 cases of housing (service housing-repair) moved to roads." \
        in answer.get_data(as_text=True)
    with services.database.read() as session:
        moved = [session.get(Case, i) for i in repairs]
        assert [(c.department_id, c.status, c.assigned_user_id) for c in moved if c] \
            == [("roads", "dispatched", None)] * 3
        kept = [session.get(Case, i) for i in (rent, held)]
        assert [c.department_id for c in kept if c] == ["housing", "housing"]
        trail = session.execute(select(AuditEvent.case_id, AuditEvent.action, AuditEvent.actor,
                                       AuditEvent.details)
                                .where(col(AuditEvent.case_id).in_(repairs),
                                       col(AuditEvent.actor) == "bob")).all()
    assert sorted(case_id for case_id, *_ in trail) == sorted(repairs)  # one event per case
    for _case_id, action, _actor, details in trail:
        assert action == "transfer" and details["to_department"] == "roads"
        assert "roadworks team takes these" in details["reason"]
        assert "queue housing (service housing-repair) moved by bob" in details["reason"]
    folder(services).catch_up()
    data = dashboard(client)
    assert data["departments"]["roads"]["waiting"] == 3
    assert data["departments"]["housing"]["waiting"] == 1  # rent; the held case is not waiting


def test_a_whole_queue_with_held_cases_goes_to_one_agent(
        client: FlaskClient, staff: None, erin: None, services: Services) -> None:
    waiting = [housing_case(services, "rent", channel) for channel in ("email", "sms")]
    held = housing_case(services, "damp-mould")
    give(services, held, "alice")
    assert sign_in(client, "bob") == 303
    shown = client.get("/supervisor/queues/move?department=housing&to_agent=erin"
                       "&include_held=1").get_data(as_text=True)
    assert '<strong id="move-count">3</strong> cases' in shown
    assert "1 of them now held by agents" in shown
    answer = client.post("/supervisor/queues/move", data=form(
        client, department="housing", to_agent="erin", include_held="1", expected="3"),
        follow_redirects=True)
    assert "3 cases of housing moved to erin." in answer.get_data(as_text=True)
    with services.database.read() as session:
        erin_id = session.execute(select(User.id).where(col(User.username) == "erin")
                                  ).scalar_one()
        holders = {i: session.get(Case, i).assigned_user_id  # type: ignore[union-attr]
                   for i in (*waiting, held)}
        actions = session.execute(select(AuditEvent.case_id, AuditEvent.action)
                                  .where(col(AuditEvent.actor) == "bob")
                                  .order_by(col(AuditEvent.id))).all()
    assert set(holders.values()) == {erin_id}
    assert [a for c, a in actions if c == held] == ["release", "assign"]
    assert [a for c, a in actions if c in waiting] == ["assign", "assign"]
    # Again: erin already holds them all, so nothing is left to move.
    again = client.post("/supervisor/queues/move", data=form(
        client, department="housing", to_agent="erin", include_held="1"),
        follow_redirects=True)
    assert "No cases of housing to move: nothing changed." in again.get_data(as_text=True)
    folder(services).catch_up()
    shown = next(a for a in dashboard(client)["agents"] if a["username"] == "erin")
    assert shown["load"]["email"] == 3  # emails and SMS are one kind of work
    alice = next(a for a in dashboard(client)["agents"] if a["username"] == "alice")
    assert alice["load"]["email"] == 0


@pytest.mark.parametrize("fields, message", [
    ({"department": "housing", "to_department": "nowhere", "reason": "x"},
     "unknown department &#39;nowhere&#39;"),
    ({"department": "atlantis", "to_department": "roads", "reason": "x"},
     "unknown department &#39;atlantis&#39;"),
    ({"department": "housing", "to_department": "housing", "reason": "x"},
     "already with housing"),
    ({"department": "housing", "to_department": "triage", "reason": "x"}, "one by one"),
    ({"department": "housing", "to_department": "roads"}, "needs a reason"),
    ({"department": "housing", "to_agent": "dave"}, "dave is not in housing"),
    ({"department": "housing", "to_agent": "gone"}, "gone is not active"),
    ({"department": "housing", "to_agent": "nobody"}, "unknown user &#39;nobody&#39;"),
    ({"department": "housing", "to_agent": "erin", "to_department": "roads", "reason": "x"},
     "either another department or an agent"),
    ({"department": "housing"}, "either another department or an agent"),
    ({"department": "housing", "service": "pothole", "to_agent": "erin"},
     "housing has no service &#39;pothole&#39;"),
])
def test_bad_targets_are_refused_and_nothing_changes(
        client: FlaskClient, staff: None, erin: None, services: Services,
        fields: dict[str, str], message: str) -> None:
    for service in ("rent", "rent", "damp-mould"):
        housing_case(services, service)
    give(services, housing_case(services, "rent"), "alice")
    assert sign_in(client, "bob") == 303
    before = snapshot(services)
    preview = client.get("/supervisor/queues/move", query_string=fields)
    assert preview.status_code == 400 and message in preview.get_data(as_text=True)
    refused = client.post("/supervisor/queues/move", data=form(client, **fields))
    assert refused.status_code == 400
    assert "Nothing moved: " in refused.get_data(as_text=True)
    assert message in refused.get_data(as_text=True)
    assert snapshot(services) == before


def test_agents_cannot_move_queues(client: FlaskClient, staff: None,
                                   services: Services) -> None:
    housing_case(services, "rent")
    assert sign_in(client, "alice") == 303
    before = snapshot(services)
    assert client.get("/supervisor/queues/move?department=housing&to_agent=alice"
                      ).status_code == 403
    token = csrf_from(client, "/board/me")
    refused = client.post("/supervisor/queues/move", data={
        "csrf_token": token, "department": "housing", "to_agent": "alice"})
    assert refused.status_code == 403
    assert snapshot(services) == before
