"""The supervisor dashboard updates itself in a real browser when a new case arrives."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from caseboard.contacts import InboundContact, Sender
from caseboard.dashboard_counters import CounterFolder
from caseboard.models import utcnow
from caseboard.workers import Worker
from channels.webchat.models import ChatSession, ChatStatus
from tests.browser.conftest import LiveServer, assert_no_script_ran


@pytest.fixture
def counters(live_server: LiveServer) -> Iterator[None]:
    """The dashboard-counters worker, as `serve` runs it, polling fast."""
    services = live_server.services
    folder = CounterFolder(services.database, services.calendar,
                           services.config["time_limits.at_risk_fraction"])
    folder.catch_up()  # the demo cases, before the page is first drawn
    stop = threading.Event()
    worker = Worker("test-counters", folder.step, 0.2, stop)
    worker.start()
    yield
    stop.set()
    worker.join(timeout=10)


def _open_cases(page: Any, department: str) -> int:
    text = page.evaluate(
        "(d) => { const c = document.querySelector(`tr[data-department='${d}'] td.open`);"
        " return c ? c.textContent : '0'; }", department)
    return int(text)


def test_dashboard_shows_a_new_case_without_reload(
        live_server: LiveServer, counters: None,
        signed_in_page: Callable[[str], Any]) -> None:
    page = signed_in_page("bob")
    page.goto("/supervisor")
    page.wait_for_selector("#departments")
    before = _open_cases(page, "parks")
    page.evaluate("() => { window.__not_reloaded = true; }")
    with live_server.services.database.write() as session:  # the citizen now waits in a chat
        now = utcnow()
        session.add(ChatSession(id="live-chat-1", status=ChatStatus.QUEUED,
                                department_id="parks", created_at=now, queued_at=now))
    live_server.services.intake.take(InboundContact(
        "webchat", "supervisor-live-1", Sender(chat_session="live-chat-1"),
        text="The swings in the park are broken", explicit_department="parks"))
    page.wait_for_function(
        "(n) => { const c = document.querySelector(\"tr[data-department='parks'] td.open\");"
        " return c && parseInt(c.textContent, 10) === n; }", arg=before + 1, timeout=15_000)
    assert page.evaluate("() => window.__not_reloaded === true")  # updated in place
    assert int(page.inner_text("#chats-waiting")) >= 1
    assert_no_script_ran(page)
