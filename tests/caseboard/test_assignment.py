"""Assigning cases to agents on both databases: push and pull, skills, languages, capacity,
presence, the citizen's previous agent, and never two agents on one case."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlmodel import col, select

from caseboard import assignment, auth
from caseboard.assignment import AssignmentError, assign_waiting, claim_next, set_presence
from caseboard.contacts import InboundContact, Sender
from caseboard.models import AuditEvent, Case, User
from caseboard.services import Services
from routing.assignment import AgentState, WorkItem, pick_agent

UTC = dt.UTC


def agent(services: Services, name: str, departments: tuple[str, ...], *,
          languages: tuple[str, ...] = ("en",), skills: list[str] | None = None,
          capacity: dict[str, int] | None = None, available: bool = True) -> None:
    with services.database.write() as session:
        user = auth.create_user(session, name, "agent", "a-long-password",
                                departments=departments, languages=languages)
        user.skills = skills or []
        user.capacity = capacity or {}
        session.add(user)
    if available:
        with services.database.write() as session:
            set_presence(session, name, "available", name)


def housing_case(services: Services, index: int, text: str = "Black mould in my flat",
                 language: str = "en", email: str = "") -> str:
    return services.intake.take(InboundContact(
        "email", f"<h{index}@x>", Sender(email=email or f"t{index}@mail.example"), text,
        language=language)).reference


def holder(services: Services, reference: str) -> str | None:
    with services.database.read() as session:
        case = session.execute(select(Case).where(col(Case.reference) == reference)
                               ).scalar_one()
        if case.assigned_user_id is None:
            return None
        user = session.get(User, case.assigned_user_id)
        return user.username if user else None


def test_push_department_assigns_waiting_cases_up_to_capacity(services: Services) -> None:
    agent(services, "alice", ("housing",), capacity={"email": 2})
    references = [housing_case(services, i) for i in range(3)]
    done = assign_waiting(services.database, services.config)
    assert [a.username for a in done] == ["alice", "alice"]
    assert [holder(services, r) for r in references].count("alice") == 2
    assert assign_waiting(services.database, services.config) == []  # alice is full
    agent(services, "dora", ("housing",))
    assert [a.username for a in assign_waiting(services.database, services.config)] == ["dora"]
    assert all(holder(services, r) for r in references)


def test_nobody_is_assigned_when_away_or_unskilled_or_wrong_language(
        services: Services) -> None:
    agent(services, "away", ("housing",), available=False)
    agent(services, "rents", ("housing",), skills=["rent"])
    agent(services, "english", ("housing",), languages=("en",))
    chinese = housing_case(services, 1, "我家墙壁发霉很严重", language="zh")
    assert assign_waiting(services.database, services.config) == []
    assert holder(services, chinese) is None
    agent(services, "wang", ("housing",), languages=("en", "zh"))
    assert [a.username for a in assign_waiting(services.database, services.config)] == ["wang"]


def test_pull_departments_wait_for_a_claim(services: Services) -> None:
    agent(services, "rita", ("roads",))
    pothole = services.intake.take(InboundContact(
        "email", "<r1@x>", Sender(email="r@mail.example"), "Pothole on Mill Road")).reference
    urgent = services.intake.take(InboundContact(
        "email", "<r2@x>", Sender(email="s@mail.example"),
        "Exposed wires on a fallen street light, dangerous")).reference
    assert assign_waiting(services.database, services.config) == []  # roads pulls
    first = claim_next(services.database, services.config, "rita")
    assert first is not None and first.reference == urgent  # most urgent first
    second = claim_next(services.database, services.config, "rita")
    assert second is not None and second.reference == pothole
    assert claim_next(services.database, services.config, "rita") is None
    with pytest.raises(AssignmentError, match="unknown"):
        claim_next(services.database, services.config, "nobody")


def test_the_citizens_previous_agent_is_preferred(services: Services) -> None:
    agent(services, "alice", ("housing",))
    agent(services, "dora", ("housing",))
    first = housing_case(services, 1, email="same@mail.example")
    assert len(assign_waiting(services.database, services.config)) == 1
    served_by = holder(services, first)
    housing_case(services, 2, "Damp again in the bathroom", email="same@mail.example")
    done = assign_waiting(services.database, services.config)
    assert [a.username for a in done] == [served_by]
    assert "served this citizen before" in done[0].reasons[0]


def test_longest_idle_agent_goes_first() -> None:
    now = dt.datetime(2026, 3, 2, 9, tzinfo=UTC)

    def state(user_id: int, idle_minutes: int) -> AgentState:
        return AgentState(user_id, f"a{user_id}", frozenset({"roads"}), frozenset(),
                          frozenset({"en"}), "available", {"email": 8}, {},
                          now - dt.timedelta(minutes=idle_minutes))

    item = WorkItem("roads", "pothole", "en", "email")
    choice = pick_agent(item, [state(1, 5), state(2, 50), state(3, 20)])
    assert choice is not None and choice.agent.username == "a2"
    assert "idle longest" in choice.reasons[0]
    full = AgentState(4, "a4", frozenset({"roads"}), frozenset(), frozenset(), "available",
                      {"email": 1}, {"email": 1}, now - dt.timedelta(hours=3))
    assert pick_agent(item, [full]) is None


def test_two_agents_never_hold_the_same_case(services: Services) -> None:
    for name in ("p1", "p2", "p3", "p4"):
        agent(services, name, ("roads",))
    references = [services.intake.take(InboundContact(
        "email", f"<c{i}@x>", Sender(email=f"c{i}@mail.example"), "Pothole on the high street"
    )).reference for i in range(6)]
    claims: list[str] = []
    lock = threading.Lock()

    def claim_all(name: str) -> None:
        while True:
            try:
                claimed = claim_next(services.database, services.config, name)
            except AssignmentError:
                continue  # lost a race to another agent: try the next case
            if claimed is None:
                return
            with lock:
                claims.append(claimed.reference)

    threads = [threading.Thread(target=claim_all, args=(n,)) for n in ("p1", "p2", "p3", "p4")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claims) == sorted(references)  # each case claimed exactly once
    with services.database.read() as session:
        assigns = session.execute(select(AuditEvent).where(
            col(AuditEvent.action) == "assign")).scalars().all()
    assert len(assigns) == 6


def test_assigning_a_held_case_is_refused(services: Services) -> None:
    agent(services, "alice", ("housing",))
    agent(services, "dora", ("housing",))
    reference = housing_case(services, 1)
    assign_waiting(services.database, services.config)
    with services.database.write() as session:
        case = session.execute(select(Case).where(col(Case.reference) == reference)
                               ).scalar_one()
        other = next(a for a in assignment.agent_states(session, services.config)
                     if a.username != holder(services, reference))
        with pytest.raises(AssignmentError, match="already held"):
            assignment.assign(session, case, other, "bob")


def test_presence_changes_are_checked_and_audited(services: Services) -> None:
    agent(services, "alice", ("housing",), available=False)
    with services.database.write() as session:
        with pytest.raises(AssignmentError, match="presence must be"):
            set_presence(session, "alice", "sleeping", "alice")
        set_presence(session, "alice", "away", "alice")
    with services.database.read() as session:
        events = session.execute(select(AuditEvent).where(
            col(AuditEvent.action) == "presence")).scalars().all()
    assert [e.details["presence"] for e in events] == ["away"]
