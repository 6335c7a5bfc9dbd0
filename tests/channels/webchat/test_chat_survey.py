"""The satisfaction question at the end of a chat: asked in the chat the citizen is still
looking at, in its language, answered with a click that records the score (the first counts,
a low one reopens the case); a chat that ended long ago is asked another way or not at all."""

from __future__ import annotations

import datetime as dt
import threading
import time

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import col, select

from caseboard.models import AuditEvent, Case, OutboxItem, utcnow
from caseboard.satisfaction import SurveySender
from caseboard.services import Services
from caseboard.supervisor_models import SupervisorAlert, Survey
from channels.webchat.models import ChatLine, ChatSession
from channels.webchat.survey import ASK_WITHIN, SHOW_WITHIN
from tests.channels.webchat.conftest import MOULD, Citizen, sign_in


def _ask(services: Services) -> None:
    """What `serve` does in the background: fold resolved cases into surveys, send them."""
    SurveySender(services.database, services.config).step()
    while services.dispatcher.send_one():
        pass


def _ended_live_chat(app: Flask, client: FlaskClient, language: str = "en") -> tuple[Citizen,
                                                                                     str]:
    citizen = Citizen(client, language=language)
    assert citizen.post("/handover", text=MOULD, client_id="q1").status_code == 200
    agent, csrf = sign_in(app)
    session_id = agent.get("/board/chats/state").get_json()["waiting"][0]["id"]
    assert agent.post(f"/board/chats/{session_id}/take", headers=csrf).status_code == 200
    assert agent.post(f"/board/chats/{session_id}/end", headers=csrf).status_code == 200
    return citizen, session_id


def _survey_line(citizen: Citizen) -> dict[str, str]:
    [line] = [x for x in citizen.history()["lines"] if x["author"] == "survey"]
    return dict(line)


def _survey(services: Services, reference: str) -> Survey:
    with services.database.read() as session:
        return session.execute(select(Survey).join(Case, col(Case.id) == col(Survey.case_id))
                               .where(col(Case.reference) == reference)).scalar_one()


def test_the_agent_ending_the_chat_asks_the_question_in_it_and_a_click_scores(
        app: Flask, client: FlaskClient, services: Services) -> None:
    citizen, session_id = _ended_live_chat(app, client)
    state = citizen.history()["state"]
    assert state["status"] == "ended" and state["awaiting_survey"] is True
    _ask(services)
    with services.database.read() as session:
        [item] = session.execute(select(OutboxItem).where(
            col(OutboxItem.kind) == "survey")).scalars().all()
    assert (item.channel, item.recipient, item.status) == ("webchat", session_id, "sent")
    line = _survey_line(citizen)
    assert line["text"].startswith("How satisfied are you") and state["reference"] in line["text"]
    assert citizen.history()["state"]["awaiting_survey"] is False  # the widget may stop now

    token = line["client_id"].removeprefix("survey-")
    answer = citizen.post("/survey", token=token, score=4)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["score"] == 4
    assert "4 out of 5" in answer.get_json()["line"]["text"]
    again = citizen.post("/survey", token=token, score=1)  # the first answer counts
    assert again.status_code == 200 and again.get_json()["score"] == 4
    survey = _survey(services, state["reference"])
    assert (survey.score, survey.channel) == (4, "webchat")
    thanks = [x for x in citizen.history()["lines"] if x["client_id"].startswith("scored-")]
    assert len(thanks) == 1
    with services.database.read() as session:
        case = session.execute(select(Case).where(
            col(Case.reference) == state["reference"])).scalar_one()
    assert case.status == "resolved"  # 4 is not a low score


def test_a_chinese_self_service_chat_is_asked_in_chinese_and_a_low_score_reopens(
        client: FlaskClient, services: Services) -> None:
    citizen = Citizen(client, language="zh")
    question = "我家的垃圾桶没有被清空"
    [article, *_] = citizen.post("/suggest", text=question).get_json()["articles"]
    done = citizen.post("/answered", question=question, slug=article["slug"], language="zh")
    reference = done.get_json()["reference"]
    _ask(services)
    line = _survey_line(citizen)
    assert line["text"].startswith("您对我们处理") and reference in line["text"]
    answer = citizen.post("/survey", token=line["client_id"].removeprefix("survey-"), score=1)
    assert answer.status_code == 200 and "感谢您的评价" in answer.get_json()["line"]["text"]
    with services.database.read() as session:
        case = session.execute(select(Case).where(col(Case.reference) == reference)).scalar_one()
        alerts = session.execute(select(SupervisorAlert).where(
            col(SupervisorAlert.case_id) == case.id)).scalars().all()
    assert case.status != "resolved"  # reopened for a supervisor, as for any channel
    assert [a.kind for a in alerts] == ["low_score"]


def test_the_citizens_stream_stays_open_for_the_question_then_ends(
        app: Flask, client: FlaskClient, services: Services) -> None:
    citizen, _session_id = _ended_live_chat(app, client)
    answer = client.get(f"/chat/api/events?token={citizen.token}", buffered=False)
    asker = threading.Timer(0.5, _ask, args=(services,))
    asker.start()
    received, started = "", time.monotonic()
    for chunk in answer.response:  # the stream ends by itself once the question is there
        received += chunk.decode() if isinstance(chunk, bytes) else chunk
        assert time.monotonic() - started < 20, "the stream did not end after the question"
    answer.close()
    asker.join()
    assert "How satisfied are you" in received
    assert received.index("The chat has ended.") < received.index("How satisfied are you")


def test_a_chat_that_ended_long_ago_is_not_asked_in_the_chat(
        app: Flask, client: FlaskClient, services: Services) -> None:
    citizen, session_id = _ended_live_chat(app, client)
    with services.database.write() as session:
        chat = session.get(ChatSession, session_id)
        assert chat is not None and chat.ended_at is not None
        chat.ended_at = utcnow() - ASK_WITHIN - dt.timedelta(minutes=1)
        session.add(chat)
    assert citizen.history()["state"]["awaiting_survey"] is False
    _ask(services)  # no email or phone known: nobody is asked, and the case says so
    with services.database.read() as session:
        assert session.execute(select(OutboxItem).where(
            col(OutboxItem.kind) == "survey")).scalars().all() == []
        assert session.execute(select(AuditEvent).where(
            col(AuditEvent.action) == "survey_not_asked")).scalars().all() != []


def test_a_question_queued_too_late_for_the_chat_is_refused_not_shown(
        app: Flask, client: FlaskClient, services: Services) -> None:
    citizen, session_id = _ended_live_chat(app, client)
    _ask(services)  # asked; now as if its item had waited far longer in the outbox
    with services.database.write() as session:
        chat = session.get(ChatSession, session_id)
        assert chat is not None
        chat.ended_at = utcnow() - SHOW_WITHIN - dt.timedelta(seconds=1)
        session.add(chat)
        item = session.execute(select(OutboxItem).where(
            col(OutboxItem.kind) == "survey")).scalar_one()
        item.status, item.next_attempt_at = "pending", utcnow()
        session.add(item)
        for line in session.execute(select(ChatLine).where(
                col(ChatLine.author) == "survey")).scalars():
            session.delete(line)
    while services.dispatcher.send_one():
        pass
    with services.database.read() as session:
        item = session.execute(select(OutboxItem).where(
            col(OutboxItem.kind) == "survey")).scalar_one()
    assert item.status == "failed" and "the chat has ended" in item.last_error
    assert [x for x in citizen.history()["lines"] if x["author"] == "survey"] == []


def test_a_forged_token_or_a_wrong_score_records_nothing(
        app: Flask, client: FlaskClient, services: Services) -> None:
    citizen, _session_id = _ended_live_chat(app, client)
    _ask(services)
    token = _survey_line(citizen)["client_id"].removeprefix("survey-")
    other = Citizen(client, name="Bob")
    other.post("/handover", text=MOULD + " too", client_id="q1")
    refusals = [citizen.post("/survey", token=token + "x", score=4),
                citizen.post("/survey", token=token, score=7),
                citizen.post("/survey", token=token, score="4"),
                citizen.post("/survey", token=token, score=True),
                other.post("/survey", token=token, score=5)]  # not their chat's question
    assert [r.status_code for r in refusals] == [404, 400, 400, 400, 404]
    assert all(r.get_json()["message"] for r in refusals)
    assert _survey(services, citizen.history()["state"]["reference"]).score is None
    assert not [x for x in citizen.history()["lines"] if x["client_id"].startswith("scored-")]
