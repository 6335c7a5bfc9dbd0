"""The supervisor dashboard on both databases: every number against hand-built cases, the
counters folded exactly once from the audit trail, and agents kept out."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections import Counter
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlmodel import Session, col, select

from caseboard import assignment, audit, auth, workflow
from caseboard.audit_feed import cursor_position
from caseboard.clocks import clock_alerts
from caseboard.contacts import InboundContact, IntakeResult, Sender
from caseboard.dashboard_counters import CURSOR, CounterFolder
from caseboard.models import AuditEvent, Case, User, UserDepartment, utcnow
from caseboard.services import Services
from caseboard.supervisor_models import AgentLoad, LiveCounter
from caseboard.timelimits import ClockState
from tests.caseboard.test_sign_in import PASSWORD, sign_in

_ids = itertools.count(1)


@pytest.fixture
def staff(services: Services) -> None:
    with services.database.write() as session:
        auth.create_user(session, "alice", "agent", PASSWORD, departments=("housing",))
        auth.create_user(session, "dave", "agent", PASSWORD, departments=("roads",))
        auth.create_user(session, "bob", "supervisor", PASSWORD, departments=("housing",))


def new_case(services: Services, department: str, channel: str = "email",
             age: dt.timedelta = dt.timedelta(0), received: dt.datetime | None = None
             ) -> IntakeResult:
    number = next(_ids)
    sender = {"email": Sender(email=f"s{number}@mail.example"),
              "webchat": Sender(chat_session=f"chat-{number}")}.get(
        channel, Sender(phone=f"+4477008{number:05d}"))
    return services.intake.take(InboundContact(
        channel, f"sup-{number}", sender, text=f"Request number {number}",
        subject=f"Request {number}", explicit_department=department,
        received_at=received or utcnow() - age))


def set_deadlines(services: Services, case_id: int, first: dt.datetime,
                  resolution: dt.datetime, created: dt.datetime | None = None) -> None:
    """Hand-built clocks; the audit event tells the counters the case changed."""
    with services.database.write() as session:
        case = session.get(Case, case_id)
        assert case is not None
        case.first_response_due, case.resolution_due = first, resolution
        if created is not None:
            case.created_at = created
        session.add(case)
        audit.record(session, case_id, "test", "deadlines_set")


def give(services: Services, case_id: int, username: str) -> None:
    with services.database.write() as session:
        assignment.set_presence(session, username, "available", username)
    with services.database.write() as session:
        case = session.get(Case, case_id)
        assert case is not None
        agent = next(a for a in assignment.agent_states(session, services.config)
                     if a.username == username)
        assignment.assign(session, case, agent, "test")


def act(services: Services, case_id: int, action: str, **kwargs: Any) -> None:
    with services.database.write() as session:
        case = session.get(Case, case_id)
        assert case is not None
        workflow.apply(session, case, action, "test", calendar=services.calendar, **kwargs)


def folder(services: Services) -> CounterFolder:
    return CounterFolder(services.database, services.calendar,
                         services.config["time_limits.at_risk_fraction"])


def dashboard(client: FlaskClient) -> dict[str, Any]:
    answer = client.get("/supervisor/dashboard.json")
    assert answer.status_code == 200
    data: dict[str, Any] = answer.get_json()
    return data


def recount(session: Session, services: Services, now: dt.datetime | None = None
            ) -> tuple[Counter[tuple[str, str, str]], Counter[tuple[int, str]]]:
    """The oracle: counters as a full recount over all cases would give them, with the at-risk
    and breached cases as clocks.py judges them."""
    live: Counter[tuple[str, str, str]] = Counter()
    loads: Counter[tuple[int, str]] = Counter()
    from routing.assignment import capacity_group
    states: dict[str, set[ClockState]] = {}
    for alert in clock_alerts(session, services.calendar, now or utcnow(),
                              services.config["time_limits.at_risk_fraction"]):
        states.setdefault(alert.reference, set()).add(alert.state)
    for case in session.execute(select(Case)).scalars():
        if case.status in ("resolved", "closed"):
            continue
        live[("open", case.department_id, case.channel)] += 1
        clocks = states.get(case.reference, set())
        if clocks:
            worst = "breached" if ClockState.BREACHED in clocks else "at_risk"
            live[(worst, case.department_id, case.channel)] += 1
        if case.assigned_user_id is None and case.status in assignment.WAITING_STATUSES:
            live[("waiting", case.department_id, case.channel)] += 1
        if case.assigned_user_id is not None and case.status in assignment.HELD_STATUSES:
            loads[(case.assigned_user_id, capacity_group(case.channel))] += 1
    return live, loads


def stored(session: Session) -> tuple[Counter[tuple[str, str, str]], Counter[tuple[int, str]]]:
    live = Counter({(r.metric, r.department_id, r.channel): r.value
                    for r in session.execute(select(LiveCounter)).scalars() if r.value})
    loads = Counter({(r.user_id, r.work): r.value
                     for r in session.execute(select(AgentLoad)).scalars() if r.value})
    return live, loads


def build_board(services: Services) -> dict[str, IntakeResult]:
    """housing/email: old (breached), at-risk, fresh held by alice, resolved; housing/phone:
    one waiting call; roads/webchat: one waiting chat; roads/sms returned to triage today."""
    now = utcnow()
    cases = {name: new_case(services, dep, channel) for name, dep, channel in (
        ("old", "housing", "email"), ("risky", "housing", "email"),
        ("held", "housing", "email"), ("done", "housing", "email"),
        ("call", "housing", "phone"), ("chat", "roads", "webchat"),
        ("returned", "roads", "sms"))}
    set_deadlines(services, cases["old"].case_id, now - dt.timedelta(days=2),
                  now - dt.timedelta(days=1), created=now - dt.timedelta(days=20))
    set_deadlines(services, cases["risky"].case_id, now + dt.timedelta(days=1),
                  now + dt.timedelta(days=1), created=now - dt.timedelta(days=15))
    far = now + dt.timedelta(days=300)
    for name in ("held", "done", "call", "chat", "returned"):
        set_deadlines(services, cases[name].case_id, far, far)
    give(services, cases["held"].case_id, "alice")
    act(services, cases["done"].case_id, "accept")
    act(services, cases["done"].case_id, "start")
    act(services, cases["done"].case_id, "resolve")
    act(services, cases["returned"].case_id, "return", reason="not ours",
        reason_code="not_our_service")
    return cases


def test_agents_cannot_open_supervisor_pages(client: FlaskClient, staff: None) -> None:
    assert client.get("/supervisor").status_code == 302  # strangers go to sign in
    assert sign_in(client, "alice") == 303
    for path in ("/supervisor", "/supervisor/live", "/supervisor/dashboard.json",
                 "/supervisor/reports", "/supervisor/reports/cases.csv",
                 "/supervisor/satisfaction", "/supervisor/charts"):
        assert client.get(path).status_code == 403, path
    page = client.get("/board/me").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    refused = client.post("/supervisor/agents/dave", data={"csrf_token": token,
                                                           "presence": "away"})
    assert refused.status_code == 403


def test_every_number_on_the_dashboard(client: FlaskClient, staff: None,
                                       services: Services) -> None:
    cases = build_board(services)
    assert sign_in(client, "bob") == 303
    folder(services).catch_up()
    data = dashboard(client)
    housing, roads, triage = (data["departments"][d] for d in ("housing", "roads", "triage"))
    assert (housing["open"], housing["waiting"], housing["at_risk"], housing["breached"]) \
        == (4, 3, 1, 1)
    with services.database.read() as session:
        old = session.get(Case, cases["old"].case_id)
        assert old is not None
        assert housing["oldest_waiting"] == old.created_at.isoformat()
        # The same clocks clocks.py sees: one breached and one at-risk case in housing.
        alerts = clock_alerts(session, services.calendar, utcnow(), 0.8, "housing")
    assert {a.reference for a in alerts if a.state == ClockState.BREACHED} \
        == {cases["old"].reference}
    assert {a.reference for a in alerts if a.state == ClockState.AT_RISK} \
        == {cases["risky"].reference}
    assert roads["open"] == 1 and roads["waiting"] == 1 and roads["breached"] == 0
    assert triage["open"] == 1 and triage["waiting"] == 1
    assert data["rows"]["housing/email"]["waiting"] == 2
    assert data["rows"]["housing/phone"]["waiting"] == 1
    email = data["channels"]["email"]
    assert (email["open"], email["waiting"], email["at_risk"], email["breached"]) == (3, 2, 1, 1)
    # No call is queued and no chat waits: these are cases (tests in test_supervisor_numbers).
    assert (data["calls_waiting"], data["chats_waiting"]) == (0, 0)
    assert data["returns_today"] == {"roads": 1}
    alice = next(a for a in data["agents"] if a["username"] == "alice")
    assert alice["presence"] == "available" and alice["load"]["email"] == 1
    assert alice["departments"] == ["housing"] and alice["seconds_in_state"] >= 0
    assert data["events_behind"] == 0
    page = client.get("/supervisor").get_data(as_text=True)
    row = page.split('<tr data-department="housing">')[1].split("</tr>")[0]
    assert '<td class="waiting">3</td>' in row and '<td class="breached">1</td>' in row
    assert '<td class="returns">0</td>' in row
    assert '<strong id="calls-waiting">0</strong>' in page


def test_counters_follow_changes_and_match_a_full_recount(client: FlaskClient, staff: None,
                                                          services: Services) -> None:
    cases = build_board(services)
    counters = folder(services)
    counters.catch_up()
    assert sign_in(client, "bob") == 303
    assert dashboard(client)["departments"]["housing"]["waiting"] == 3
    give(services, cases["old"].case_id, "alice")
    for action in ("accept", "start", "resolve"):
        act(services, cases["held"].case_id, action)
    assert dashboard(client)["departments"]["housing"]["waiting"] == 3  # not folded yet
    counters.catch_up()
    data = dashboard(client)
    assert data["departments"]["housing"]["waiting"] == 2
    assert data["departments"]["housing"]["open"] == 3
    assert next(a for a in data["agents"] if a["username"] == "alice")["load"]["email"] == 1
    with services.database.read() as session:
        assert stored(session) == recount(session, services)


def test_folding_twice_or_from_two_workers_counts_each_event_once(
        staff: None, services: Services) -> None:
    build_board(services)
    for _ in range(30):
        new_case(services, "housing")
    first, second = folder(services), folder(services)
    workers = [threading.Thread(target=f.catch_up) for f in (first, second, first)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    first.catch_up()
    second.catch_up()  # nothing new: folding again changes nothing
    with services.database.read() as session:
        assert stored(session) == recount(session, services)
        last = session.execute(select(AuditEvent.id).order_by(col(AuditEvent.id).desc())
                               .limit(1)).scalar_one()
        assert cursor_position(session, CURSOR) == last
    data_day = utcnow().astimezone(services.config.timezone).date()
    with services.database.read() as session:
        from caseboard.supervisor_queries import returns_on
        assert returns_on(session, data_day) == {"roads": 1}  # not 2 or 3


def test_a_fold_that_fails_half_way_leaves_no_trace(staff: None, services: Services) -> None:
    build_board(services)

    class Crashing(CounterFolder):
        def fold(self, session: Session, events: list[AuditEvent]) -> None:
            super().fold(session, events)
            raise RuntimeError("power cut")

    crashing = Crashing(services.database, services.calendar, 0.8)
    with pytest.raises(RuntimeError):
        crashing.step()
    with services.database.read() as session:
        assert cursor_position(session, CURSOR) == 0
        assert stored(session) == (Counter(), Counter())
    folder(services).catch_up()
    with services.database.read() as session:
        assert stored(session) == recount(session, services)


def test_rebuild_counts_existing_cases_and_folding_goes_on_from_there(
        staff: None, services: Services) -> None:
    cases = build_board(services)
    counters = folder(services)
    counters.rebuild()  # cases that existed before the counters did
    with services.database.read() as session:
        assert stored(session) == recount(session, services)
    give(services, cases["risky"].case_id, "alice")
    counters.catch_up()
    with services.database.read() as session:
        assert stored(session) == recount(session, services)


def test_supervisor_actions_change_things_and_are_audited(
        client: FlaskClient, staff: None, services: Services) -> None:
    cases = build_board(services)
    with services.database.write() as session:
        auth.create_user(session, "erin", "agent", PASSWORD, departments=("housing",))
        assignment.set_presence(session, "erin", "available", "erin")
    assert sign_in(client, "bob") == 303
    page = client.get("/supervisor").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    moved = client.post("/supervisor/cases/reassign", data={
        "csrf_token": token, "reference": cases["held"].reference, "to": "erin"})
    assert moved.status_code == 303
    client.post("/supervisor/agents/erin/reassign-all", data={"csrf_token": token, "to": ""})
    client.post("/supervisor/agents/alice", data={
        "csrf_token": token, "set_departments": "1", "departments": ["housing", "roads"],
        "capacity_email": "2", "presence": "away"})
    with services.database.read() as session:
        held = session.get(Case, cases["held"].case_id)
        assert held is not None and held.assigned_user_id is None  # erin's cases back to queue
        alice = session.execute(select(User).where(col(User.username) == "alice")
                                ).scalar_one()
        assert alice.presence == "away" and alice.capacity["email"] == 2
        departments = session.execute(select(UserDepartment.department_id).where(
            col(UserDepartment.user_id) == alice.id)).scalars().all()
        assert sorted(departments) == ["housing", "roads"]
        trail = session.execute(select(AuditEvent.actor, AuditEvent.action)
                                .order_by(col(AuditEvent.id))).all()
    bob_did = [action for actor, action in trail if actor == "bob"]
    assert bob_did.count("release") == 2 and "assign" in bob_did
    assert "agent_changed" in bob_did and "presence" in bob_did
    folder(services).catch_up()
    data = dashboard(client)
    shown = next(a for a in data["agents"] if a["username"] == "alice")
    assert shown["presence"] == "away" and shown["capacity"]["email"] == 2
    assert data["departments"]["housing"]["waiting"] == 4  # the held case waits again
