"""The dashboard numbers the first dashboard test does not pin down, on both databases:
callers on hold and chats queued now (from the channels' own tables, not open phone or chat
cases), the oldest waiting case per channel, an agent's time in their state and their load
on every kind of work, and admins let in."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlmodel import col, select

from caseboard import auth
from caseboard.models import Case, User, utcnow
from caseboard.services import Services
from channels.phone.models import PhoneCall
from channels.webchat.models import ChatSession, ChatStatus
from tests.caseboard.test_sign_in import PASSWORD, sign_in
from tests.caseboard.test_supervisor_dashboard import dashboard, folder, give, new_case, staff

__all__ = ["staff"]


def _now() -> dt.datetime:
    return utcnow().replace(microsecond=0)


def _call(services: Services, status: str, department: str | None,
          queued: dt.datetime | None) -> None:
    """A call row as the phone channel leaves it, on its own (open, unassigned) phone case."""
    case = new_case(services, department or "housing", "phone")
    now = _now()
    with services.database.write() as session:
        session.add(PhoneCall(call_sid=f"CA{case.case_id:032d}", case_id=case.case_id,
                              from_number="+447700900001", status=status,
                              department_id=department, created_at=queued or now,
                              queued_at=queued, updated_at=now,
                              ended_at=None if status == "queued" else now))


def _chat(services: Services, status: str, department: str,
          queued: dt.datetime | None) -> None:
    case = new_case(services, department, "webchat")
    now = _now()
    with services.database.write() as session:
        session.add(ChatSession(id=f"chat-{case.case_id}-{status}", status=status,
                                case_id=case.case_id, department_id=department,
                                created_at=queued or now, queued_at=queued,
                                ended_at=now if status == ChatStatus.ENDED else None))


def test_calls_and_chats_waiting_now_are_the_ones_queued_on_the_line(
        client: FlaskClient, staff: None, services: Services) -> None:
    now = _now()
    first_call, other_call = now - dt.timedelta(minutes=7), now - dt.timedelta(minutes=2)
    _call(services, "queued", "housing", first_call)
    _call(services, "queued", "housing", other_call)
    _call(services, "queued", "roads", now - dt.timedelta(minutes=1))
    for status in ("completed", "voicemail", "callback", "connecting", "connected", "menu"):
        _call(services, status, "housing", now - dt.timedelta(minutes=30))  # not on hold
    first_chat = now - dt.timedelta(minutes=4)
    _chat(services, ChatStatus.QUEUED, "roads", first_chat)
    for status in (ChatStatus.ENDED, ChatStatus.MESSAGE, ChatStatus.LIVE,
                   ChatStatus.SELF_SERVICE):
        _chat(services, status, "roads", now - dt.timedelta(minutes=40))
    folder(services).catch_up()
    assert sign_in(client, "bob") == 303
    data = dashboard(client)
    assert (data["calls_waiting"], data["chats_waiting"]) == (3, 1)
    assert data["oldest_call"] == first_call.isoformat()
    assert data["oldest_chat"] == first_chat.isoformat()
    assert data["waiting_now"]["phone"] == {
        "housing": {"count": 2, "oldest": first_call.isoformat()},
        "roads": {"count": 1, "oldest": (now - dt.timedelta(minutes=1)).isoformat()}}
    assert data["waiting_now"]["webchat"] == {
        "roads": {"count": 1, "oldest": first_chat.isoformat()}}
    # The cases themselves all still wait for an agent: that is a different number.
    assert data["channels"]["phone"]["waiting"] == 9
    assert data["channels"]["webchat"]["waiting"] == 5
    page = client.get("/supervisor/live").get_data(as_text=True)
    assert '<strong id="calls-waiting">3</strong>' in page
    assert '<strong id="chats-waiting">1</strong>' in page
    assert '<span id="oldest-call">7m</span>' in page
    row = page.split('<tr data-channel="phone" data-department="housing">')[1].split("</tr>")[0]
    assert '<td class="count">2</td>' in row and '<td class="oldest">7m</td>' in row


def test_nobody_on_the_line_shows_zero(client: FlaskClient, staff: None,
                                       services: Services) -> None:
    _call(services, "completed", "housing", _now() - dt.timedelta(minutes=3))
    _chat(services, ChatStatus.MESSAGE, "housing", _now() - dt.timedelta(minutes=3))
    assert sign_in(client, "bob") == 303
    data = dashboard(client)
    assert (data["calls_waiting"], data["chats_waiting"]) == (0, 0)
    assert data["oldest_call"] is None and data["oldest_chat"] is None
    page = client.get("/supervisor/live").get_data(as_text=True)
    assert '<strong id="calls-waiting">0</strong>' in page
    assert 'id="waiting-now"' not in page and 'id="oldest-call"' not in page


def _created(services: Services, case_id: int) -> str:
    with services.database.read() as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case.created_at.isoformat()


def test_oldest_waiting_per_channel(client: FlaskClient, staff: None,
                                    services: Services) -> None:
    days = dt.timedelta(days=1)
    oldest_email = new_case(services, "housing", "email", age=3 * days)
    new_case(services, "roads", "email", age=1 * days)  # younger, other department
    held_email = new_case(services, "housing", "email", age=9 * days)  # held: not waiting
    phone = new_case(services, "housing", "phone", age=2 * days)
    letter = new_case(services, "roads", "letter", age=5 * days)
    give(services, held_email.case_id, "alice")
    folder(services).catch_up()
    assert sign_in(client, "bob") == 303
    channels: dict[str, Any] = dashboard(client)["channels"]
    assert channels["email"]["oldest_waiting"] == _created(services, oldest_email.case_id)
    assert channels["phone"]["oldest_waiting"] == _created(services, phone.case_id)
    assert channels["letter"]["oldest_waiting"] == _created(services, letter.case_id)
    assert (channels["email"]["open"], channels["email"]["waiting"]) == (3, 2)
    page = client.get("/supervisor/live").get_data(as_text=True)
    row = page.split('<tr data-channel="letter">')[1].split("</tr>")[0]
    assert '<td class="oldest">5d 0h</td>' in row


def test_time_in_state_and_load_on_every_kind_of_work(client: FlaskClient, staff: None,
                                                      services: Services) -> None:
    for channel in ("phone", "webchat", "letter", "letter", "email"):
        give(services, new_case(services, "housing", channel).case_id, "alice")
    since = _now() - dt.timedelta(hours=1, minutes=2, seconds=5)
    with services.database.write() as session:  # a known moment alice became available
        alice = session.execute(select(User).where(col(User.username) == "alice")).scalar_one()
        alice.presence_since = since
        session.add(alice)
    folder(services).catch_up()
    assert sign_in(client, "bob") == 303
    before = utcnow()
    shown = next(a for a in dashboard(client)["agents"] if a["username"] == "alice")
    after = utcnow()
    assert shown["since"] == since.isoformat()
    assert int((before - since).total_seconds()) <= shown["seconds_in_state"] \
        <= int((after - since).total_seconds())
    assert shown["seconds_in_state"] >= 3725
    assert shown["load"] == {"phone": 1, "chat": 1, "letter": 2, "email": 1}
    page = client.get("/supervisor/live").get_data(as_text=True)
    row = page.split('<tr data-agent="alice">')[1].split("</tr>")[0]
    assert "<td>1h 2m</td>" in row
    assert "chat 1/3, email 1/8, letter 2/10, phone 1/1" in row


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("supervisor", 200),
                                              ("agent", 403)])
def test_supervisors_and_admins_open_the_pages_agents_do_not(
        client: FlaskClient, services: Services, role: str, status: int) -> None:
    with services.database.write() as session:
        auth.create_user(session, "carol", role, PASSWORD, departments=("housing",))
    assert sign_in(client, "carol") == 303
    for path in ("/supervisor", "/supervisor/live", "/supervisor/dashboard.json",
                 "/supervisor/reports", "/supervisor/reports/cases.csv",
                 "/supervisor/satisfaction", "/supervisor/charts"):
        assert client.get(path).status_code == status, (role, path)
