"""The case workflow on both databases: legal paths, refusals, returns, pauses, audit."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import col, select

from caseboard import workflow
from caseboard.clocks import clock_alerts
from caseboard.contacts import InboundContact, Sender
from caseboard.models import AuditEvent, Case
from caseboard.services import Services
from caseboard.timelimits import ClockState
from caseboard.workflow import WorkflowError

UTC = dt.UTC


def new_case(services: Services, text: str = "Pothole on Mill Road",
             received_at: dt.datetime | None = None) -> int:
    result = services.intake.take(InboundContact(
        "email", f"<{text}-{received_at}@x>", Sender(email="w@mail.example"), text,
        received_at=received_at))
    return result.case_id


def act(services: Services, case_id: int, action: str, now: dt.datetime | None = None,
        **kw: str) -> Case:
    with services.database.write() as session:
        case = session.get(Case, case_id)
        assert case is not None
        return workflow.apply(session, case, action, "alice", calendar=services.calendar,
                              channel="board", now=now, **kw)


def audit_actions(services: Services, case_id: int) -> list[tuple[str, str]]:
    with services.database.read() as session:
        return [(e.actor, e.action) for e in session.execute(
            select(AuditEvent).where(col(AuditEvent.case_id) == case_id)
            .order_by(col(AuditEvent.id))
        ).scalars()]


def test_full_path_from_dispatch_to_close_is_audited(services: Services) -> None:
    case_id = new_case(services)  # auto-dispatched to roads
    for action in ("accept", "start", "answer", "resolve", "close"):
        case = act(services, case_id, action)
    assert case.status == "closed" and case.closed_at is not None
    assert case.first_response_at is not None and case.resolved_at is not None
    trail = [a for actor, a in audit_actions(services, case_id) if actor == "alice"]
    assert trail == ["accept", "start", "answer", "resolve", "close"]


@pytest.mark.parametrize("steps, action, message", [
    ([], "resolve", "cannot resolve a case that is dispatched"),
    ([], "close", "cannot close"),
    (["accept"], "answer", "cannot answer a case that is accepted"),
    (["accept", "start", "answer", "resolve", "close"], "reopen", "allowed: none"),
    ([], "fly", "unknown action"),
])
def test_illegal_transitions_are_refused_and_change_nothing(
        services: Services, steps: list[str], action: str, message: str) -> None:
    case_id = new_case(services)
    for step in steps:
        act(services, case_id, step)
    before = audit_actions(services, case_id)
    with services.database.read() as session:
        status = session.get(Case, case_id).status  # type: ignore[union-attr]
    with pytest.raises(WorkflowError, match=message):
        act(services, case_id, action)
    with services.database.read() as session:
        assert session.get(Case, case_id).status == status  # type: ignore[union-attr]
    assert audit_actions(services, case_id) == before


def test_return_to_triage_keeps_the_citizens_clock(services: Services) -> None:
    case_id = new_case(services)
    with services.database.read() as session:
        due = session.get(Case, case_id).resolution_due  # type: ignore[union-attr]
    with pytest.raises(WorkflowError, match="needs a reason"):
        act(services, case_id, "return")
    with pytest.raises(WorkflowError, match="reason code"):
        act(services, case_id, "return", reason="private road", reason_code="bored")
    case = act(services, case_id, "return", reason="this is a private road, not ours",
               reason_code="not_our_service")
    assert (case.status, case.department_id, case.return_count) == ("new", "triage", 1)
    assert case.resolution_due == due
    with services.database.read() as session:
        event = session.execute(select(AuditEvent).where(
            col(AuditEvent.action) == "return")).scalar_one()
    assert event.details["reason"] == "this is a private road, not ours"
    assert event.details["reason_code"] == "not_our_service"
    assert event.details["from_department"] == "roads"
    redispatched = act(services, case_id, "dispatch", department="housing")
    assert (redispatched.status, redispatched.department_id) == ("dispatched", "housing")
    assert redispatched.resolution_due == due
    assert last_dispatch(services, case_id)["ruling"] == "return upheld"


def last_dispatch(services: Services, case_id: int) -> dict[str, object]:
    with services.database.read() as session:
        return session.execute(
            select(AuditEvent.details).where(col(AuditEvent.case_id) == case_id,
                                             col(AuditEvent.action) == "dispatch")
            .order_by(col(AuditEvent.id).desc()).limit(1)).scalar_one()


def test_dispatcher_can_refuse_a_return_with_a_reason(services: Services) -> None:
    case_id = new_case(services)  # roads
    act(services, case_id, "return", reason="private road", reason_code="wrong_location")
    with pytest.raises(WorkflowError, match="refusing roads's return needs a reason"):
        act(services, case_id, "dispatch", department="roads")
    back = act(services, case_id, "dispatch", department="roads",
               reason="adopted highway since 2019, it is yours")
    assert (back.status, back.department_id, back.return_count) == ("dispatched", "roads", 1)
    ruling = last_dispatch(services, case_id)
    assert (ruling["ruling"], ruling["returned_by"]) == ("return refused", "roads")


def test_dispatch_and_transfer_check_the_department(services: Services) -> None:
    case_id = new_case(services, "Hello, I have a question")  # unsure: stays in triage
    with pytest.raises(WorkflowError, match="unknown department"):
        act(services, case_id, "dispatch", department="nowhere")
    with pytest.raises(WorkflowError, match="return"):
        act(services, case_id, "dispatch", department="triage")
    act(services, case_id, "dispatch", department="waste")
    with pytest.raises(WorkflowError, match="already with waste"):
        act(services, case_id, "transfer", department="waste", reason="x")
    moved = act(services, case_id, "transfer", department="parks", reason="it is in a park")
    assert (moved.status, moved.department_id) == ("dispatched", "parks")


def test_waiting_for_the_citizen_pauses_the_clock(services: Services) -> None:
    # Monday 2 March 2026, 09:00 London (= UTC in winter).
    opened = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    case_id = new_case(services, "Pothole on the ring road", received_at=opened)
    with services.database.read() as session:
        due = session.get(Case, case_id).resolution_due  # type: ignore[union-attr]
    assert due is not None
    act(services, case_id, "accept", now=opened + dt.timedelta(hours=1))
    act(services, case_id, "start", now=opened + dt.timedelta(hours=1))
    act(services, case_id, "wait_for_citizen", now=opened + dt.timedelta(hours=2))
    # Paused from Monday 11:00 to Tuesday 11:00: 10 working hours (Mon 11-18, Tue 8-11).
    resumed = act(services, case_id, "resume", now=opened + dt.timedelta(days=1, hours=2))
    assert resumed.paused_since is None
    assert resumed.resolution_due is not None
    assert services.calendar.working_seconds_between(due, resumed.resolution_due) == 10 * 3600


def test_paused_case_is_not_reported_in_breach(services: Services) -> None:
    opened = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    waiting = new_case(services, "Pothole on Elm Road", received_at=opened)
    running = new_case(services, "Pothole on Oak Road", received_at=opened)
    for case_id in (waiting, running):
        act(services, case_id, "accept", now=opened)
        act(services, case_id, "start", now=opened)
    act(services, waiting, "wait_for_citizen", now=opened + dt.timedelta(minutes=30))
    much_later = opened + dt.timedelta(days=60)
    with services.database.read() as session:
        alerts = clock_alerts(session, services.calendar, much_later, 0.8)
        references = {session.get(Case, c).reference: c  # type: ignore[union-attr]
                      for c in (waiting, running)}
    by_case = {(a.reference, a.clock): a.state for a in alerts}
    running_ref = next(r for r, c in references.items() if c == running)
    waiting_ref = next(r for r, c in references.items() if c == waiting)
    assert by_case[(running_ref, "resolution")] is ClockState.BREACHED
    assert by_case[(running_ref, "first_response")] is ClockState.BREACHED
    assert (waiting_ref, "resolution") not in by_case


def test_at_risk_cases_are_listed_before_they_breach(services: Services) -> None:
    opened = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    case_id = new_case(services, "Pothole near the school", received_at=opened)  # normal: 8h
    with services.database.read() as session:
        reference = session.get(Case, case_id).reference  # type: ignore[union-attr]
        early = clock_alerts(session, services.calendar, opened + dt.timedelta(hours=2), 0.8)
        risky = clock_alerts(session, services.calendar, opened + dt.timedelta(hours=7), 0.8)
        late = clock_alerts(session, services.calendar, opened + dt.timedelta(hours=9, minutes=1),
                            0.8, department="roads")
        other = clock_alerts(session, services.calendar, opened + dt.timedelta(hours=10),
                             0.8, department="waste")
    assert early == []
    assert [(a.reference, a.clock, a.state) for a in risky] == [
        (reference, "first_response", ClockState.AT_RISK)]
    assert (reference, "first_response", ClockState.BREACHED) in [
        (a.reference, a.clock, a.state) for a in late]
    assert other == []
