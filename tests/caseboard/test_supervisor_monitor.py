"""The time-limit monitor with a fixed clock (reminder, then escalation, raised once, cleared
when the deadline moves) and the deadline-extension flow, on both databases."""

from __future__ import annotations

import datetime as dt

from flask.testing import FlaskClient
from sqlmodel import col, select

from caseboard.models import AuditEvent, Case
from caseboard.services import Services
from caseboard.supervisor_models import DeadlineExtension, SupervisorAlert
from caseboard.timelimit_monitor import TimeLimitMonitor
from tests.caseboard.test_sign_in import csrf_from, sign_in
from tests.caseboard.test_supervisor_dashboard import (
    act,
    dashboard,
    folder,
    give,
    new_case,
    staff,
)

__all__ = ["staff"]  # the fixture, shared with the dashboard tests

# A Monday in November (London is on UTC): 8 working hours for a first response from 09:00
# means due at 17:00 the same day; at risk from 80 % of that, 15:24.
T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def alerts(services: Services) -> list[tuple[str, int | None, bool]]:
    with services.database.read() as session:
        rows = session.execute(select(SupervisorAlert).order_by(col(SupervisorAlert.id)))
        return [(a.kind, a.to_user_id, a.resolved) for a in rows.scalars()]


def test_reminder_then_escalation_once_each(client: FlaskClient, staff: None,
                                            services: Services) -> None:
    case = new_case(services, "housing", received=T0)
    with services.database.read() as session:
        row = session.get(Case, case.case_id)
        assert row is not None and row.first_response_due == T0 + dt.timedelta(hours=8)
    give(services, case.case_id, "alice")
    folder(services).catch_up()
    monitor = TimeLimitMonitor(services.database)
    monitor.step(now=T0 + dt.timedelta(hours=5))
    assert alerts(services) == []
    monitor.step(now=T0 + dt.timedelta(hours=6, minutes=30))
    monitor.step(now=T0 + dt.timedelta(hours=6, minutes=31))
    with services.database.read() as session:
        alice_id = session.execute(select(Case.assigned_user_id)
                                   .where(col(Case.id) == case.case_id)).scalar_one()
    assert alerts(services) == [("reminder", alice_id, False)]
    monitor.step(now=T0 + dt.timedelta(hours=8, minutes=30))
    monitor.step(now=T0 + dt.timedelta(hours=9))
    assert alerts(services) == [("reminder", alice_id, False), ("escalation", None, False)]
    assert sign_in(client, "bob") == 303
    shown = dashboard(client)["alerts"]
    assert [(a["kind"], a["reference"], a["to"]) for a in shown] == [
        ("escalation", case.reference, "supervisors"), ("reminder", case.reference, "alice")]
    page = client.get("/supervisor").get_data(as_text=True)
    assert "has broken its time limit" in page
    with services.database.read() as session:
        actions = session.execute(select(AuditEvent.action).where(
            col(AuditEvent.case_id) == case.case_id)).scalars().all()
    assert actions.count("timelimit_reminder") == 1 and actions.count("timelimit_escalation") == 1
    # The first response is given: that clock stops, its alerts are cleared.
    for action in ("accept", "start", "answer"):
        act(services, case.case_id, action)
    folder(services).catch_up()
    monitor.step(now=T0 + dt.timedelta(hours=9, minutes=5))
    assert [resolved for _, _, resolved in alerts(services)] == [True, True]
    assert dashboard(client)["alerts"] == []


def _extension_form(client: FlaskClient, reference: str, hours: str, reason: str) -> int:
    token = csrf_from(client, f"/board/extension/{reference}")
    answer = client.post(f"/board/extension/{reference}",
                         data={"csrf_token": token, "hours": hours, "reason": reason})
    return answer.status_code


def test_extension_requested_by_agent_and_decided_by_supervisor(
        app: object, staff: None, services: Services) -> None:
    from flask import Flask
    assert isinstance(app, Flask)
    case = new_case(services, "housing", received=T0)
    agent, supervisor, other = app.test_client(), app.test_client(), app.test_client()
    assert sign_in(agent, "alice") == 303 and sign_in(supervisor, "bob") == 303
    assert sign_in(other, "dave") == 303
    assert other.get(f"/board/extension/{case.reference}").status_code == 403
    assert _extension_form(agent, case.reference, "0", "no") == 400
    assert _extension_form(agent, case.reference, "8", "waiting for the contractor") == 200
    assert _extension_form(agent, case.reference, "8", "again") == 400  # one pending at a time
    pending = dashboard(supervisor)["extensions"]
    assert [(e["reference"], e["requested_by"], e["hours"]) for e in pending] == [
        (case.reference, "alice", 8.0)]
    with services.database.read() as session:
        before = session.get(Case, case.case_id)
        assert before is not None and before.resolution_due is not None
        old_due = before.resolution_due
    token = csrf_from(supervisor, "/supervisor")
    answer = supervisor.post(f"/supervisor/extensions/{pending[0]['id']}",
                             data={"csrf_token": token, "decision": "approve"})
    assert answer.status_code == 303
    with services.database.read() as session:
        after = session.get(Case, case.case_id)
        assert after is not None
        assert after.resolution_due == services.calendar.add_working_time(old_due, 8 * 3600)
        events = session.execute(select(AuditEvent.action, AuditEvent.actor).where(
            col(AuditEvent.case_id) == case.case_id)).all()
    assert ("extension_requested", "alice") in events and ("deadline_extended", "bob") in events
    # A second request, refused: the deadline stays.
    assert _extension_form(agent, case.reference, "16", "still waiting") == 200
    second = dashboard(supervisor)["extensions"][0]["id"]
    supervisor.post(f"/supervisor/extensions/{second}",
                    data={"csrf_token": token, "decision": "refuse"})
    with services.database.read() as session:
        unchanged = session.get(Case, case.case_id)
        assert unchanged is not None and unchanged.resolution_due == after.resolution_due
        statuses = session.execute(select(DeadlineExtension.status)
                                   .order_by(col(DeadlineExtension.id))).scalars().all()
    assert statuses == ["approved", "refused"]
    assert dashboard(supervisor)["extensions"] == []
