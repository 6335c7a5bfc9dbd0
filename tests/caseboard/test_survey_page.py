"""The citizen's survey page speaks the case's language, under the administration's name."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import select

from caseboard import auth
from caseboard.contacts import InboundContact, Sender
from caseboard.models import Case
from caseboard.satisfaction import SurveySender
from caseboard.services import Services
from caseboard.supervisor_models import Survey
from tests.caseboard.test_sign_in import PASSWORD
from tests.caseboard.test_supervisor_dashboard import act, give
from tests.caseboard.test_supervisor_satisfaction import csrf, survey_items, survey_path


@pytest.fixture
def staff(services: Services) -> None:
    with services.database.write() as session:
        auth.create_user(session, "alice", "agent", PASSWORD, departments=("housing",),
                         languages=("en", "zh"))


def _asked(services: Services, language: str, text: str) -> tuple[str, str]:
    """Resolve a case in `language`; the survey link it gets and its reference."""
    taken = services.intake.take(InboundContact(
        "email", f"survey-{language}", Sender(email=f"{language}@mail.example"), text=text,
        subject=text[:20], explicit_department="housing", language=language))
    give(services, taken.case_id, "alice")
    for action in ("accept", "start", "resolve"):
        act(services, taken.case_id, action)
    SurveySender(services.database, services.config).step()
    with services.database.read() as session:
        case = session.get(Case, taken.case_id)
        assert case is not None
        reference = case.reference
    item = next(i for i in survey_items(services) if i.case_id == taken.case_id)
    assert item.payload["language"] == language
    return survey_path(item), reference


def test_a_chinese_case_gets_its_survey_and_thanks_in_chinese(
        app: Flask, client: FlaskClient, staff: None, services: Services) -> None:
    path, reference = _asked(services, "zh", "我家的暖气坏了，已经三天了")
    page = client.get(path)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'lang="zh-Hans"' in text
    assert f"您对我们处理 {reference} 的满意度如何？" in text
    assert "1（很不满意）到 5（非常满意）" in text
    assert "How satisfied" not in text and "How did we do" not in text
    # The citizen sees the administration's name, not the staff board's header.
    assert "City of Example" in text and "Contact centre" not in text
    wrong = client.post(path, data={"csrf_token": csrf(text), "score": "9"})
    assert wrong.status_code == 400 and "请选择 1 到 5 之间的分数。" in wrong.get_data(as_text=True)
    thanks = client.post(path, data={"csrf_token": csrf(text), "score": "4"})
    thanked = thanks.get_data(as_text=True)
    assert thanks.status_code == 200
    assert f"谢谢！我们已记录您对 {reference} 的评价：4分（满分5分）。" in thanked
    assert "Thank you" not in thanked and "Contact centre" not in thanked
    again = client.get(path).get_data(as_text=True)
    assert f"您已对 {reference} 作出评价：4分" in again
    with services.database.read() as session:
        assert session.execute(select(Survey.score)).scalar_one() == 4


def test_an_english_case_gets_its_survey_in_english_and_can_switch(
        app: Flask, client: FlaskClient, staff: None, services: Services) -> None:
    path, reference = _asked(services, "en", "My heating has been broken for three days")
    text = client.get(path).get_data(as_text=True)
    assert '<html lang="en">' in text
    assert f"How satisfied are you with how we handled {reference}?" in text
    assert "City of Example" in text and "Contact centre" not in text
    assert 'href="?lang=zh"' in text  # the other language, as on /help
    chinese = client.get(path + "?lang=zh").get_data(as_text=True)
    assert f"您对我们处理 {reference} 的满意度如何？" in chinese
    thanks = client.post(path, data={"csrf_token": csrf(text), "score": "5"})
    assert f"Thank you: we recorded your answer (5 of 5) for {reference}." in \
        thanks.get_data(as_text=True)


def test_a_broken_link_says_so_in_both_languages(app: Flask, client: FlaskClient) -> None:
    page = client.get("/satisfaction/not-a-token")
    text = page.get_data(as_text=True)
    assert page.status_code == 404
    assert "This link is not valid." in text and "此链接无效" in text
    assert "City of Example" in text
