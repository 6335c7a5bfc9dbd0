"""The dashboard's at-risk and breach numbers are counters: the time-limit monitor counts a
case when its clock crosses into at risk or breach, the counter folder uncounts it when the
case is answered, resolved or its deadline extended. Fixed clocks, both databases."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient

from caseboard import timelimit_monitor
from caseboard.dashboard_counters import CounterFolder
from caseboard.models import Case
from caseboard.services import Services
from caseboard.timelimit_monitor import TimeLimitMonitor
from tests.caseboard.test_sign_in import sign_in
from tests.caseboard.test_supervisor_dashboard import (
    act,
    dashboard,
    new_case,
    recount,
    set_deadlines,
    staff,
    stored,
)

__all__ = ["staff"]

# A Monday (London is on UTC in November; open 08:00-18:00): a normal case's first response is
# due 8 working hours later, at 17:00; it is at risk from 80 % of that, 15:24.
T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def folder_at(services: Services, clock: Callable[[], dt.datetime]) -> CounterFolder:
    return CounterFolder(services.database, services.calendar,
                         services.config["time_limits.at_risk_fraction"], clock=clock)


def clocks(client: FlaskClient) -> tuple[int, int, int, int]:
    """housing's at risk and in breach, and the same for the email channel."""
    data: dict[str, Any] = dashboard(client)
    housing = data["departments"].get("housing", {"at_risk": 0, "breached": 0})
    email = data["channels"].get("email", {"at_risk": 0, "breached": 0})
    return housing["at_risk"], housing["breached"], email["at_risk"], email["breached"]


def test_a_case_is_counted_when_its_clock_crosses_and_uncounted_when_answered(
        client: FlaskClient, staff: None, services: Services) -> None:
    case = new_case(services, "housing", received=T0)
    now = [T0 + HOUR]
    folder = folder_at(services, lambda: now[0])
    monitor = TimeLimitMonitor(services.database)
    folder.catch_up()
    assert sign_in(client, "bob") == 303
    assert clocks(client) == (0, 0, 0, 0)
    monitor.count_step(now=T0 + 5 * HOUR)
    assert clocks(client) == (0, 0, 0, 0)
    for minutes in (6 * 60 + 30, 6 * 60 + 31):  # past 15:24: at risk, counted once
        monitor.count_step(now=T0 + dt.timedelta(minutes=minutes))
        assert clocks(client) == (1, 0, 1, 0)
    page = client.get("/supervisor").get_data(as_text=True)
    row = page.split('<tr data-department="housing">')[1].split("</tr>")[0]
    assert '<td class="at-risk">1</td>' in row and '<td class="breached">0</td>' in row
    monitor.count_step(now=T0 + 8 * HOUR + 30 * dt.timedelta(minutes=1))  # past 17:00
    assert clocks(client) == (0, 1, 0, 1)
    with services.database.read() as session:
        assert stored(session) == recount(session, services, T0 + 8.5 * HOUR)
    # The first response is given: that clock stops; the resolution clock is far from risk.
    for action in ("accept", "start", "answer"):
        act(services, case.case_id, action)
    now[0] = T0 + 9 * HOUR
    folder.catch_up()
    assert clocks(client) == (0, 0, 0, 0)
    with services.database.read() as session:
        assert stored(session) == recount(session, services, now[0])


def test_an_extension_uncounts_a_breach_and_a_resolution_uncounts_the_risk(
        client: FlaskClient, staff: None, services: Services) -> None:
    case = new_case(services, "housing", received=T0)
    for action in ("accept", "start", "answer"):  # only the resolution clock runs on
        act(services, case.case_id, action)
    with services.database.read() as session:
        row = session.get(Case, case.case_id)
        assert row is not None and row.first_response_due is not None
        first_due = row.first_response_due
    set_deadlines(services, case.case_id, first_due, T0 + 2 * HOUR)  # resolution due 11:00
    now = [T0 + HOUR]
    folder = folder_at(services, lambda: now[0])
    monitor = TimeLimitMonitor(services.database)
    folder.catch_up()
    assert sign_in(client, "bob") == 303
    assert clocks(client) == (0, 0, 0, 0)
    monitor.count_step(now=T0 + dt.timedelta(minutes=110))  # 10:50, past 80 % of 2 hours
    assert clocks(client) == (1, 0, 1, 0)
    monitor.count_step(now=T0 + 3 * HOUR)
    assert clocks(client) == (0, 1, 0, 1)
    with services.database.write() as session:
        row = session.get(Case, case.case_id)
        assert row is not None
        extension = timelimit_monitor.request_extension(session, row, "alice", 8, "contractor")
        assert extension.id is not None
        timelimit_monitor.decide_extension(session, extension.id, "bob", True,
                                           services.calendar)
    folder.catch_up()  # due on Tuesday at 09:00 now: at noon neither at risk nor broken
    assert clocks(client) == (0, 0, 0, 0)
    evening = T0 + 8.5 * HOUR  # past 80 % of the 10 working hours from 09:00 Monday
    monitor.count_step(now=evening)
    assert clocks(client) == (1, 0, 1, 0)
    with services.database.read() as session:
        assert stored(session) == recount(session, services, evening)
    act(services, case.case_id, "resolve")
    now[0] = evening
    folder.catch_up()
    assert clocks(client) == (0, 0, 0, 0)
    monitor.count_step(now=evening + 24 * HOUR)  # a resolved case is never counted again
    assert clocks(client) == (0, 0, 0, 0)


def test_folder_and_monitor_running_together_count_each_case_once(
        staff: None, services: Services) -> None:
    """The folder refolds cases (as of a time before their clocks crossed) while two monitors
    count crossings as of now: afterwards every case is counted once, as a recount says."""
    now = dt.datetime.now(dt.UTC)
    ids = []
    for n in range(40):
        case = new_case(services, "housing", "email" if n % 2 else "sms")
        created = now - dt.timedelta(days=20)
        due = now - dt.timedelta(days=1) if n % 3 else now + dt.timedelta(hours=1)
        set_deadlines(services, case.case_id, due, due, created=created)
        ids.append(case.case_id)
    early = folder_at(services, lambda: now - dt.timedelta(days=30))
    early.catch_up()
    for case_id in ids[:10]:
        act(services, case_id, "accept")
        act(services, case_id, "start")
    for case_id in ids[:5]:
        act(services, case_id, "resolve")
    errors: list[Exception] = []
    monitors = [TimeLimitMonitor(services.database) for _ in range(2)]

    def run(work: Callable[[], object]) -> None:
        try:
            work()
        except Exception as error:  # reported by the assertion below
            errors.append(error)

    def count_all(monitor: TimeLimitMonitor) -> None:
        while monitor.count_step(now=now):
            pass

    jobs: list[Callable[[], object]] = [early.catch_up, lambda: count_all(monitors[0]),
                                        lambda: count_all(monitors[1])]
    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    monitors[0].count_step(now=now)  # whatever a locked row made a pass skip
    with services.database.read() as session:
        live, _loads = stored(session)
        assert live == recount(session, services, now)[0]
    breached = sum(v for (metric, _d, _c), v in live.items() if metric == "breached")
    at_risk = sum(v for (metric, _d, _c), v in live.items() if metric == "at_risk")
    open_ids = ids[5:]
    assert breached == sum(1 for n, _ in enumerate(ids) if n >= 5 and n % 3)
    assert at_risk == len(open_ids) - breached
