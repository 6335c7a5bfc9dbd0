"""Satisfaction surveys: queued once through the outbox after a resolution, answered through
the signed public link (GET asks, POST with CSRF records), a low score reopens the case."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import col, select

from caseboard.contacts import InboundContact, Sender
from caseboard.models import AuditEvent, Case, Message, OutboxItem, utcnow
from caseboard.outbox import Dispatcher, OutgoingMessage, PermanentSendError
from caseboard.satisfaction import SurveySender, record_score, scores_by
from caseboard.services import Services
from caseboard.supervisor_models import SupervisorAlert, Survey
from channels.webchat.models import ChatSession, ChatStatus
from tests.caseboard.test_sign_in import sign_in
from tests.caseboard.test_supervisor_dashboard import act, give, new_case, staff

__all__ = ["staff"]


def resolved_case(services: Services, channel: str = "email") -> int:
    case = new_case(services, "housing", channel)
    give(services, case.case_id, "alice")
    for action in ("accept", "start", "resolve"):
        act(services, case.case_id, action)
    return case.case_id


def survey_items(services: Services) -> list[OutboxItem]:
    with services.database.read() as session:
        return list(session.execute(select(OutboxItem).where(col(OutboxItem.kind) == "survey")
                                    .order_by(col(OutboxItem.id))).scalars())


def survey_path(item: OutboxItem) -> str:
    match = re.search(r"(/satisfaction/[^?\s]+)", item.payload["url"])
    assert match, item.payload
    return match.group(1)


def csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_survey_queued_once_on_the_cases_channel(app: Flask, staff: None,
                                                 services: Services) -> None:
    case_id = resolved_case(services, "sms")
    sender = SurveySender(services.database, services.config)
    sender.step()
    sender.step()  # nothing new: no second survey
    items = survey_items(services)
    assert len(items) == 1
    item = items[0]
    assert item.case_id == case_id and item.channel == "sms"
    assert item.recipient.startswith("+4477008")
    assert item.payload["url"].startswith("http://127.0.0.1:8080/satisfaction/")
    assert item.payload["url"] in item.payload["text"]
    assert set(item.payload["score_urls"]) == {"1", "2", "3", "4", "5"}


def test_one_click_link_records_a_score_and_keeps_the_first(
        app: Flask, client: FlaskClient, staff: None, services: Services) -> None:
    case_id = resolved_case(services)
    SurveySender(services.database, services.config).step()
    path = survey_path(survey_items(services)[0])
    page = client.get(path + "?score=5")
    assert page.status_code == 200
    with services.database.read() as session:
        assert session.execute(select(Survey.score)).scalar_one() is None  # GET records nothing
    assert client.post(path, data={"score": "5"}).status_code == 400  # no CSRF token
    token = csrf(page.get_data(as_text=True))
    thanks = client.post(path, data={"csrf_token": token, "score": "5"})
    assert thanks.status_code == 200 and "5 of 5" in thanks.get_data(as_text=True)
    client.post(path, data={"csrf_token": token, "score": "1"})  # a second answer is ignored
    with services.database.read() as session:
        assert session.execute(select(Survey.score)).scalar_one() == 5
        case = session.get(Case, case_id)
        assert case is not None and case.status == "resolved"
    assert client.get(path[:-3] + "abc").status_code == 404  # a tampered token
    assert client.get("/satisfaction/not-a-token").status_code == 404


def test_low_score_reopens_for_a_supervisor_and_scores_are_reported(
        app: Flask, client: FlaskClient, staff: None, services: Services) -> None:
    case_id = resolved_case(services)
    SurveySender(services.database, services.config).step()
    path = survey_path(survey_items(services)[0])
    token = csrf(client.get(path).get_data(as_text=True))
    assert client.post(path, data={"csrf_token": token, "score": "2"}).status_code == 200
    with services.database.read() as session:
        case = session.get(Case, case_id)
        assert case is not None and case.status == "in_progress"
        kinds = session.execute(select(SupervisorAlert.kind)).scalars().all()
        actions = session.execute(select(AuditEvent.action).where(
            col(AuditEvent.case_id) == case_id)).scalars().all()
        assert scores_by(session, "department") == [
            {"key": "housing", "average": 2.0, "count": 1}]
        assert scores_by(session, "agent") == [{"key": "alice", "average": 2.0, "count": 1}]
        assert scores_by(session, "channel")[0]["key"] == "email"
    assert kinds == ["low_score"]
    assert "satisfaction_scored" in actions and "reopen" in actions
    supervisor = app.test_client()
    assert sign_in(supervisor, "bob") == 303
    page = supervisor.get("/supervisor/satisfaction").get_data(as_text=True)
    assert "<td>housing</td><td>2.0</td><td>1</td>" in page
    assert "<td>alice</td><td>2.0</td><td>1</td>" in page


def test_a_phone_case_is_asked_by_a_call_with_a_subject_for_email(
        app: Flask, staff: None, services: Services) -> None:
    resolved_case(services, "phone")
    resolved_case(services, "email")
    SurveySender(services.database, services.config).step()
    items = survey_items(services)
    assert [i.channel for i in items] == ["phone", "email"]
    assert items[1].payload["subject"].startswith("How did we do with CC-")


def _chat_case(services: Services, chat: str, status: str, **identities: str) -> int:
    """A chat case whose chat session is in `status` when the case is resolved."""
    case = services.intake.take(InboundContact(
        "webchat", f"{chat}:1", Sender(chat_session=chat, **identities),
        text="Can someone help with my council tax?", explicit_department="housing"))
    ended = utcnow() - dt.timedelta(hours=1) if status == ChatStatus.ENDED else None
    with services.database.write() as session:  # an ended chat ended an hour ago: gone
        session.add(ChatSession(id=chat, status=status, case_id=case.case_id,
                                department_id="housing", created_at=utcnow(),
                                ended_at=ended, ended_reason="ended_by_agent" if ended else ""))
    give(services, case.case_id, "alice")
    for action in ("accept", "start", "resolve"):
        act(services, case.case_id, action)
    return case.case_id


def test_a_chat_that_ended_with_its_case_is_asked_by_email_or_sms_instead(
        app: Flask, staff: None, services: Services) -> None:
    by_email = _chat_case(services, "chat-ended-email", ChatStatus.ENDED,
                          email="chatter@mail.example")
    by_sms = _chat_case(services, "chat-ended-sms", ChatStatus.ENDED, phone="+447700900555")
    SurveySender(services.database, services.config).step()
    items = {i.case_id: i for i in survey_items(services)}
    assert (items[by_email].channel, items[by_email].recipient) \
        == ("email", "chatter@mail.example")
    assert (items[by_sms].channel, items[by_sms].recipient) == ("sms", "+447700900555")
    with services.database.read() as session:  # scored as a chat case all the same
        channels = session.execute(select(Survey.channel)).scalars().all()
    assert channels == ["webchat", "webchat"]


def test_a_chat_still_live_is_asked_in_the_chat(app: Flask, staff: None,
                                               services: Services) -> None:
    case_id = _chat_case(services, "chat-live", ChatStatus.LIVE, email="live@mail.example")
    SurveySender(services.database, services.config).step()
    [item] = survey_items(services)
    assert (item.case_id, item.channel, item.recipient) == (case_id, "webchat", "chat-live")


def test_an_ended_chat_with_no_other_way_to_ask_is_recorded_not_queued(
        app: Flask, staff: None, services: Services) -> None:
    case_id = _chat_case(services, "chat-ended-alone", ChatStatus.ENDED)
    SurveySender(services.database, services.config).step()
    assert survey_items(services) == []
    with services.database.read() as session:
        noted = session.execute(select(AuditEvent).where(
            col(AuditEvent.case_id) == case_id,
            col(AuditEvent.action) == "survey_not_asked")).scalars().all()
        surveys = session.execute(select(Survey)).scalars().all()
    assert len(noted) == 1 and "no channel" in noted[0].details["reason"]
    assert surveys == []


def _answered(services: Services, channel: str, article: str | None, score: int) -> None:
    """A case answered (with a help article, or none) and resolved, its survey scored."""
    case_id = resolved_case(services, channel)
    if article is not None:
        with services.database.write() as session:
            session.add(Message(case_id=case_id, direction="out", channel=channel,
                                text="Here is how it works.", article_slug=article,
                                created_at=utcnow()))
    sender = SurveySender(services.database, services.config)
    sender.step()
    with services.database.write() as session:
        survey = session.execute(select(Survey).where(col(Survey.case_id) == case_id)
                                 ).scalar_one()
        assert survey.id is not None
        record_score(session, survey.id, score, services.calendar, low_score=1)


def test_scores_per_article_and_the_satisfaction_chart(
        app: Flask, staff: None, services: Services) -> None:
    for channel, article, score in (("email", "bin-collection", 5), ("sms", "bin-collection", 4),
                                    ("email", "council-tax", 2), ("sms", None, 3),
                                    ("sms", None, 1)):
        _answered(services, channel, article, score)
    with services.database.read() as session:
        assert scores_by(session, "article") == [
            {"key": "(none)", "average": 2.0, "count": 2},
            {"key": "bin-collection", "average": 4.5, "count": 2},
            {"key": "council-tax", "average": 2.0, "count": 1}]
        assert scores_by(session, "channel") == [
            {"key": "email", "average": 3.5, "count": 2},
            {"key": "sms", "average": 2.67, "count": 3}]
    supervisor = app.test_client()
    assert sign_in(supervisor, "bob") == 303
    page = supervisor.get("/supervisor/satisfaction").get_data(as_text=True)
    table = page.split('id="by-article"')[1].split("</table>")[0]
    assert "<td>bin-collection</td><td>4.5</td><td>2</td>" in table
    assert "<td>council-tax</td><td>2.0</td><td>1</td>" in table
    chart = supervisor.get("/supervisor/charts").get_data(as_text=True)
    bars = chart.split("Average satisfaction by channel (1-5)")[1].split("</svg>")[0]
    heights = {label: height for height, label in re.findall(
        r'height="([\d.]+)" fill="[^"]+"><title>(\w+): ', bars)}
    # Bars are drawn on a 1-5 scale 160 px tall: 3.5 → 112 px, 2.67 → 85.4 px.
    assert heights == {"email": "112.0", "sms": "85.4"}
    assert "<title>email: 3.5</title>" in bars and "<title>sms: 2.67</title>" in bars


def drain(dispatcher: Dispatcher, now: dt.datetime | None = None) -> None:
    while dispatcher.send_one(now):
        pass


def _refuse(message: OutgoingMessage) -> str:
    raise PermanentSendError(f"{message.recipient} cannot be reached")


def _trail(services: Services, case_id: int) -> list[tuple[str, str, dict[str, Any]]]:
    with services.database.read() as session:
        return [(e.action, e.channel, e.details) for e in session.execute(
            select(AuditEvent).where(col(AuditEvent.case_id) == case_id,
                                     col(AuditEvent.action).startswith("survey_"))
            .order_by(col(AuditEvent.id))).scalars()]


def test_a_refused_question_is_asked_the_next_way_then_recorded_as_not_asked(
        app: Flask, staff: None, services: Services) -> None:
    case = services.intake.take(InboundContact(
        "email", "refused-1", Sender(email="gone@mail.example", phone="+447700900777"),
        text="Repair please", subject="Repair", explicit_department="housing"))
    give(services, case.case_id, "alice")
    for action in ("accept", "start", "resolve"):
        act(services, case.case_id, action)
    sender = SurveySender(services.database, services.config)
    dispatcher = Dispatcher(services.database, 3, {"email": _refuse, "sms": _refuse})
    now = services.calendar.next_opening(utcnow())  # an SMS is only sent in opening hours
    sender.step(now)
    drain(dispatcher, now)  # the email bounces for good (and the acknowledgement before it)
    sender.step(now)
    first, second = survey_items(services)
    assert (first.channel, first.status, second.channel, second.recipient) \
        == ("email", "failed", "sms", "+447700900777")
    assert second.payload["token"] == first.payload["token"]  # the same survey, the same link
    drain(dispatcher, now)  # the SMS is refused too: nothing is left to try
    sender.step(now)
    sender.step(now)
    assert len(survey_items(services)) == 2
    with services.database.read() as session:
        survey = session.execute(select(Survey)).scalar_one()
    assert (survey.asked_on, survey.outbox_id) == ("email sms", None)
    trail = _trail(services, case.case_id)
    assert [(action, channel) for action, channel, _ in trail] == [
        ("survey_queued", "email"), ("survey_queued", "sms"), ("survey_not_asked", "sms")]
    assert trail[1][2]["instead_of"] == "email"
    assert "gone@mail.example cannot be reached" in trail[1][2]["because"]


def test_a_question_that_was_sent_is_left_alone(app: Flask, staff: None,
                                                 services: Services) -> None:
    resolved_case(services, "email")
    sender = SurveySender(services.database, services.config)
    sender.step()
    drain(Dispatcher(services.database, 3, {"email": lambda message: "sent-1"}))
    sender.step()
    [item] = survey_items(services)
    with services.database.read() as session:
        survey = session.execute(select(Survey)).scalar_one()
    assert (item.status, survey.outbox_id, survey.asked_on) == ("sent", None, "email")


def test_a_chat_that_ends_before_its_question_is_shown_falls_back_to_email(
        app: Flask, staff: None, services: Services) -> None:
    case_id = _chat_case(services, "chat-ends-later", ChatStatus.LIVE, email="late@mail.example")
    sender = SurveySender(services.database, services.config)
    sender.step()  # the chat is live: asked there
    with services.database.write() as session:  # ... but the citizen leaves, long ago
        chat = session.get(ChatSession, "chat-ends-later")
        assert chat is not None
        chat.status, chat.ended_at = ChatStatus.ENDED, utcnow() - dt.timedelta(hours=1)
        session.add(chat)
    transport = app.extensions["webchat"].transport  # the real chat transport refuses
    drain(Dispatcher(services.database, 3, {"webchat": transport}))
    sender.step()
    first, second = survey_items(services)
    assert (first.case_id, first.channel, first.status) == (case_id, "webchat", "failed")
    assert "ended" in first.last_error
    assert (second.channel, second.recipient, second.status) \
        == ("email", "late@mail.example", "pending")


# Friday 11 December 2026, 20:30 in London: closed since 17:00, open again Monday 08:00.
FRIDAY_NIGHT = dt.datetime(2026, 12, 11, 20, 30, tzinfo=dt.UTC)
MONDAY_MORNING = dt.datetime(2026, 12, 14, 8, 0, tzinfo=dt.UTC)


def test_after_hours_an_sms_question_waits_for_the_next_opening_and_email_does_not(
        app: Flask, staff: None, services: Services) -> None:
    by_sms = resolved_case(services, "sms")
    by_email = resolved_case(services, "email")
    SurveySender(services.database, services.config).step(FRIDAY_NIGHT)
    sent: list[tuple[str, int]] = []

    def transport(message: OutgoingMessage) -> str:
        if message.kind == "survey":
            sent.append((message.channel, message.case_id))
        return f"sent-{message.outbox_id}"

    dispatcher = Dispatcher(services.database, 3, {"email": transport, "sms": transport})
    drain(dispatcher, FRIDAY_NIGHT + dt.timedelta(minutes=1))
    assert sent == [("email", by_email)]  # a mail waits in the mailbox: sent at once
    drain(dispatcher, MONDAY_MORNING - dt.timedelta(seconds=1))
    assert sent == [("email", by_email)]  # no text message all weekend
    drain(dispatcher, MONDAY_MORNING)
    assert sent == [("email", by_email), ("sms", by_sms)]
    trail = _trail(services, by_sms)
    assert trail[0][:2] == ("survey_queued", "sms")
    assert trail[0][2]["not_before"] == MONDAY_MORNING.isoformat()
    assert "not_before" not in _trail(services, by_email)[0][2]
