"""An agent's own reminders page: the time-limit monitor's reminders and escalations of their
cases, newest first, marked as read by them; nobody sees or marks another agent's. Fixed
clocks, both databases."""

from __future__ import annotations

import datetime as dt
import re

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import col, select

from caseboard.services import Services
from caseboard.supervisor_models import AlertRead, SupervisorAlert
from caseboard.timelimit_monitor import TimeLimitMonitor
from tests.caseboard.test_sign_in import csrf_from, sign_in
from tests.caseboard.test_supervisor_dashboard import dashboard, folder, give, new_case, staff

__all__ = ["staff"]

# A Monday, open 08:00-18:00 (London is on UTC): a case received at 09:00 is at risk from 15:24
# and breaks its first-response limit at 17:00; one received at 10:00 is at risk from 16:24.
T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def alice_reminded(services: Services) -> tuple[str, str]:
    """Two of alice's cases: the first at risk, then broken; the second at risk."""
    first = new_case(services, "housing", received=T0)
    second = new_case(services, "housing", received=T0 + HOUR)
    for case in (first, second):
        give(services, case.case_id, "alice")
    folder(services).catch_up()
    monitor = TimeLimitMonitor(services.database)
    monitor.step(now=T0 + 6.5 * HOUR)
    monitor.step(now=T0 + 8.5 * HOUR)
    return first.reference, second.reference


def rows(page: str) -> list[tuple[str, str, str]]:
    """(what, case, state) per row of the reminders table, top to bottom."""
    found = re.findall(r'<td class="kind">([^<]+)</td>\s*<td><a [^>]+>([^<]+)</a></td>'
                       r'\s*<td>[^<]*</td>\s*<td class="state">([^<]+)</td>', page)
    return [(kind, reference, state) for kind, reference, state in found]


def test_an_agent_sees_their_reminders_newest_first_and_marks_them_read(
        client: FlaskClient, staff: None, services: Services) -> None:
    first, second = alice_reminded(services)
    assert sign_in(client, "alice") == 303
    page = client.get("/board/reminders").get_data(as_text=True)
    assert 'href="/board/reminders">Reminders</a>' in page  # in the board's menu
    assert '<span id="unread">(3 unread)</span>' in page
    assert rows(page) == [
        ("At risk", second, "open, unread"),
        ("Time limit broken (supervisors told)", first, "open, unread"),
        ("At risk", first, "open, unread")]
    with services.database.read() as session:
        oldest = session.execute(select(SupervisorAlert.id).where(
            col(SupervisorAlert.kind) == "reminder").order_by(col(SupervisorAlert.id))
        ).scalars().first()
    token = csrf_from(client, "/board/reminders")
    answer = client.post(f"/board/reminders/{oldest}/read", data={"csrf_token": token})
    assert answer.status_code == 303
    page = client.get("/board/reminders").get_data(as_text=True)
    assert '<span id="unread">(2 unread)</span>' in page
    assert rows(page)[2] == ("At risk", first, "open, read")
    client.post("/board/reminders/read-all", data={"csrf_token": token})
    page = client.get("/board/reminders").get_data(as_text=True)
    assert 'id="unread"' not in page
    assert [state for _, _, state in rows(page)] == ["open, read"] * 3
    # Reading is the agent's own: the supervisors' alerts stay open.
    supervisor = client.application.test_client()
    assert sign_in(supervisor, "bob") == 303
    assert len(dashboard(supervisor)["alerts"]) == 3


def test_one_agent_cannot_see_or_mark_another_agents_reminders(
        app: Flask, staff: None, services: Services) -> None:
    alice_reminded(services)
    dave = app.test_client()
    assert sign_in(dave, "dave") == 303
    page = dave.get("/board/reminders").get_data(as_text=True)
    assert 'id="no-reminders"' in page and "CC-" not in page
    assert dave.get("/board/reminders?user=alice").get_data(as_text=True).count("CC-") == 0
    with services.database.read() as session:
        alice_alerts = session.execute(select(SupervisorAlert.id)).scalars().all()
    token = csrf_from(dave, "/board/reminders")
    for alert_id in alice_alerts:
        refused = dave.post(f"/board/reminders/{alert_id}/read", data={"csrf_token": token})
        assert refused.status_code == 404
    dave.post("/board/reminders/read-all", data={"csrf_token": token})
    with services.database.read() as session:
        assert session.execute(select(AlertRead)).all() == []
    alice = app.test_client()
    assert sign_in(alice, "alice") == 303
    assert '<span id="unread">(3 unread)</span>' in alice.get("/board/reminders").get_data(
        as_text=True)


def test_strangers_are_sent_to_sign_in(client: FlaskClient) -> None:
    answer = client.get("/board/reminders")
    assert answer.status_code == 302 and "/login" in answer.location
