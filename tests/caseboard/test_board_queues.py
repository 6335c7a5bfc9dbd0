"""Queue pages on both databases: who sees which queue, order, filters, search, claim next."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
from flask.testing import FlaskClient
from sqlmodel import col, select

from caseboard import auth
from caseboard.contacts import InboundContact, IntakeResult, Sender
from caseboard.models import AuditEvent, Case, utcnow
from caseboard.services import Services
from tests.caseboard.test_sign_in import PASSWORD, csrf_from, sign_in

_ids = itertools.count(1)


@pytest.fixture
def people(services: Services) -> None:
    with services.database.write() as session:
        auth.create_user(session, "alice", "agent", PASSWORD, display_name="Alice Agent",
                         departments=("housing", "triage"), languages=("en", "zh"))
        auth.create_user(session, "dave", "agent", PASSWORD, display_name="Dave Roads",
                         departments=("roads",))
        auth.create_user(session, "bob", "supervisor", PASSWORD, display_name="Bob Boss",
                         departments=("housing",))


def contact(services: Services, text: str, department: str = "housing", subject: str = "",
            channel: str = "email", language: str = "en", age_hours: float = 0,
            service: str | None = None) -> IntakeResult:
    number = next(_ids)
    sender = (Sender(name=f"Citizen {number}", email=f"c{number}@mail.example")
              if channel == "email" else Sender(phone=f"+4477009{number:05d}"))
    return services.intake.take(InboundContact(
        channel, f"queue-test-{number}", sender, text=text, subject=subject,
        language=language, explicit_department=department, explicit_service=service,
        received_at=utcnow() - dt.timedelta(hours=age_hours)))


def references(page: str) -> list[str]:
    return re.findall(r'<tr data-reference="([^"]+)"', page)


def test_an_agent_sees_own_departments_and_gets_403_elsewhere(
        client: FlaskClient, people: None, services: Services) -> None:
    mould = contact(services, "Black mould in the bedroom", subject="Mould")
    pothole = contact(services, "Pothole on Mill Road", department="roads", subject="Pothole")
    assert sign_in(client, "alice") == 303
    page = client.get("/board/queue?department=housing").get_data(as_text=True)
    assert references(page) == [mould.reference]
    assert f'href="/board/case/{mould.reference}"' in page
    refused = client.get("/board/queue?department=roads")
    assert refused.status_code == 403 and pothole.reference not in refused.get_data(as_text=True)
    assert client.get("/board/queue/roads").status_code == 403
    assert client.get("/board/all").status_code == 403
    assert client.get("/board/triage").status_code == 200  # alice belongs to triage
    # A search cannot reach around the department check either.
    searched = client.get("/board/queue?department=housing&q=pothole").get_data(as_text=True)
    assert references(searched) == []


def test_triage_is_for_its_members_and_supervisors(client: FlaskClient, people: None,
                                                   services: Services) -> None:
    assert sign_in(client, "dave") == 303
    assert client.get("/board/triage").status_code == 403
    assert "Triage</a>" not in client.get("/board/queue").get_data(as_text=True)
    supervisor = client.application.test_client()
    assert sign_in(supervisor, "bob") == 303
    assert supervisor.get("/board/triage").status_code == 200
    assert supervisor.get("/board/queue?department=roads").status_code == 200
    assert supervisor.get("/board/queue?department=nowhere").status_code == 404


def test_strangers_are_sent_to_sign_in(client: FlaskClient, people: None) -> None:
    for path in ("/board", "/board/queue", "/board/triage", "/board/all", "/board/events"):
        answer = client.get(path)
        assert answer.status_code == 302 and "/login" in answer.location, path


def test_queue_is_ordered_by_urgency_then_age(client: FlaskClient, people: None,
                                              services: Services) -> None:
    old_normal = contact(services, "A question about my tenancy", age_hours=30)
    new_normal = contact(services, "Another question about my tenancy", age_hours=1)
    urgent = contact(services, "Ceiling collapsed, flooding, emergency", age_hours=0.5)
    with services.database.write() as session:
        case = session.get(Case, urgent.case_id)
        assert case is not None and case.first_response_due is not None
        case.first_response_due = utcnow() - dt.timedelta(days=10)  # long overdue
        session.add(case)
    assert sign_in(client, "alice") == 303
    page = client.get("/board/queue?department=housing").get_data(as_text=True)
    assert references(page) == [urgent.reference, old_normal.reference, new_normal.reference]
    assert "overdue 10 d" in page


def test_filters_narrow_the_queue(client: FlaskClient, people: None,
                                  services: Services) -> None:
    email = contact(services, "Rent statement please", language="en")
    sms = contact(services, "My heating is broken", channel="sms", language="en")
    chinese = contact(services, "我家的暖气坏了", channel="sms", language="zh")
    assert sign_in(client, "alice") == 303
    base = "/board/queue?department=housing"
    assert set(references(client.get(f"{base}&channel=sms").get_data(as_text=True))) == {
        sms.reference, chinese.reference}
    assert references(client.get(f"{base}&language=zh").get_data(as_text=True)) == [
        chinese.reference]
    assert references(client.get(f"{base}&priority=low").get_data(as_text=True)) == []
    assert email.reference in client.get(f"{base}&status=dispatched").get_data(as_text=True)
    assert references(client.get(f"{base}&status=closed").get_data(as_text=True)) == []


def test_search_finds_words_in_subjects_and_messages_english_and_chinese(
        client: FlaskClient, people: None, services: Services) -> None:
    lamp = contact(services, "我家楼下的路灯坏了好几天了，晚上很黑", language="zh")
    mould = contact(services, "There is black mould in the bedroom", subject="Damp flat")
    follow = contact(services, f"About {mould.reference}: the landlord ignores the "
                     "condensation")
    assert follow.case_id == mould.case_id  # a follow-up joins the case...
    assert sign_in(client, "alice") == 303
    base = "/board/queue?department=housing&q="

    def found(query: str) -> list[str]:
        return references(client.get(base + query).get_data(as_text=True))

    assert found("路灯") == [lamp.reference]
    assert found("路灯坏了") == [lamp.reference]
    assert found("damp") == [mould.reference]  # the subject
    assert found("Black MOULD") == [mould.reference]  # every word, any case
    assert found("condensation") == [mould.reference]  # ...and its text is searchable
    assert found("black lamp") == []
    assert found(mould.reference) == [mould.reference]
    # A search also finds finished cases, which the plain queue hides.
    with services.database.write() as session:
        case = session.get(Case, lamp.case_id)
        assert case is not None
        case.status = "closed"
        session.add(case)
    assert lamp.reference not in client.get("/board/queue?department=housing").get_data(
        as_text=True)
    assert found("路灯") == [lamp.reference]


def test_search_text_is_shown_escaped(client: FlaskClient, people: None,
                                      services: Services) -> None:
    contact(services, "mould <script>alert(1)</script>", subject="<img src=x onerror=alert(1)>")
    assert sign_in(client, "alice") == 303
    page = client.get('/board/queue?department=housing&q=<b>mould').get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<b>mould" not in page


def test_claim_next_takes_the_most_urgent_case_and_audits(
        client: FlaskClient, people: None, services: Services) -> None:
    later = contact(services, "Question about a repair", age_hours=2)
    first = contact(services, "Another question about a repair", age_hours=3)
    with services.database.write() as session:
        case = session.get(Case, later.case_id)
        assert case is not None
        case.priority = "urgent"
        session.add(case)
    assert sign_in(client, "alice") == 303
    token = csrf_from(client, "/board")
    refused = client.post("/board/claim-next", data={})
    assert refused.status_code == 400  # no CSRF token: refused, nothing claimed
    offline = client.post("/board/claim-next", data={"csrf_token": token},
                          follow_redirects=True)
    assert "You are offline: set your presence to available" in offline.get_data(as_text=True)
    client.post("/board/me/presence", data={"csrf_token": token, "presence": "available"})
    answer = client.post("/board/claim-next", data={"csrf_token": token})
    assert answer.status_code == 303
    assert answer.location.endswith(f"/board/case/{later.reference}")
    answer = client.post("/board/claim-next", data={"csrf_token": token})
    assert answer.location.endswith(f"/board/case/{first.reference}")
    mine = client.get("/board").get_data(as_text=True)
    assert set(references(mine)) == {later.reference, first.reference}
    with services.database.read() as session:
        actions = session.execute(select(AuditEvent.action).where(
            col(AuditEvent.case_id) == later.case_id)).scalars().all()
    assert "assign" in actions
    nothing = client.post("/board/claim-next", data={"csrf_token": token},
                          follow_redirects=True)
    assert "Nothing is waiting that you can take" in nothing.get_data(as_text=True)


def test_the_page_carries_the_claim_shortcut_and_live_stream(
        client: FlaskClient, people: None) -> None:
    assert sign_in(client, "alice") == 303
    page = client.get("/board/queue").get_data(as_text=True)
    assert 'id="claim-next"' in page and "/board/static/queue.js" in page
    assert 'data-events="/board/events?since=' in page
    script = client.get("/board/static/queue.js")
    body = script.data
    script.close()
    assert script.status_code == 200 and b"EventSource" in body
    assert b'event.key === "n"' in body


def test_rows_fragment_for_live_refresh(client: FlaskClient, people: None,
                                        services: Services) -> None:
    assert sign_in(client, "alice") == 303
    before = client.get("/board/queue?department=housing&fragment=1").get_data(as_text=True)
    assert before.startswith('<tbody id="queue-rows">') and "No cases here." in before
    case = contact(services, "Broken window in the stairwell")
    after = client.get("/board/queue?department=housing&fragment=1").get_data(as_text=True)
    assert references(after) == [case.reference]


def test_upgrading_makes_earlier_cases_searchable(services: Services) -> None:
    """Cases taken before migration 0005 existed are indexed by the migration itself."""
    from alembic import command

    from caseboard.db import alembic_config
    from caseboard.queue_queries import QueueFilter, Scope, list_queue

    earlier = contact(services, "Graffiti on the bus shelter", department="housing")
    config = alembic_config(services.database.url)
    with services.database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    with services.database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with services.database.read() as session:
        page = list_queue(session, Scope(), QueueFilter(text="graffiti shelter"))
    assert [row.reference for row in page.rows] == [earlier.reference]


def test_a_search_on_a_very_common_word_looks_only_at_the_newest_cases(
        client: FlaskClient, people: None, services: Services,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from caseboard import queue_queries

    monkeypatch.setattr(queue_queries, "SCAN_CAP", 3)
    monkeypatch.setattr(queue_queries, "COUNT_PROBE", 2)
    made = [contact(services, f"Graffiti number {i} on the wall") for i in range(5)]
    assert sign_in(client, "alice") == 303
    page = client.get("/board/queue?department=housing&q=graffiti").get_data(as_text=True)
    assert references(page) == [c.reference for c in reversed(made[2:])]
    assert "Only the newest 3 cases with “graffiti” were searched" in page
