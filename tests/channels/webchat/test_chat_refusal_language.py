"""Everything the citizen's widget can show from the server (refusals, the 413 and 429
answers, confirmations) is in the chat's language: a Chinese chat gets Chinese, an English
chat English; before there is a chat, the language the widget asks for (?lang=)."""

from __future__ import annotations

import re
import string

import pytest
from flask.testing import FlaskClient
from sqlmodel import col, select
from werkzeug.test import TestResponse

from caseboard.models import Case, Message, utcnow
from caseboard.services import Services
from channels.webchat import phrases
from tests.channels.webchat.conftest import MOULD, Citizen

HAN = re.compile("[\u4e00-\u9fff]")


@pytest.fixture
def chat_env() -> dict[str, str]:
    return {"CC_CHAT_ALLOWED_ORIGINS": "https://www.city.example",
            "CC_CHAT_MESSAGES_PER_MINUTE": "3"}


def _message(answer: TestResponse, status: int) -> str:
    assert answer.status_code == status, answer.get_json()
    text: str = answer.get_json()["message"]
    return text


def _in_language(text: str, language: str, what: str = "") -> None:
    if language == "zh":
        assert HAN.search(text), f"{what}: not Chinese: {text!r}"
    else:
        assert not HAN.search(text) and re.search("[A-Za-z]{3}", text), \
            f"{what}: not English: {text!r}"


def _transcripts_sent(services: Services, reference: str, language: str, count: int) -> None:
    """The transcript went out `count` times already (as the dispatcher records it)."""
    subject = f"{phrases.of(language).transcript_subject} {reference}"
    with services.database.write() as session:
        case = session.execute(select(Case).where(col(Case.reference) == reference)).scalar_one()
        for _ in range(count):
            session.add(Message(case_id=case.id, direction="out", channel="email",
                                sender="system", subject=subject, text="...",
                                language=language, delivery_status="sent",
                                created_at=utcnow()))


def _handed_over(client: FlaskClient, language: str) -> Citizen:
    citizen = Citizen(client, language=language)
    assert citizen.post("/handover", text=MOULD, client_id="q1").status_code == 200
    return citizen


# The QA report's three messages, word for word.
EXPECTED = {
    "en": {"transcript": "The transcript is on its way.",
           "phone": "That does not look like a phone number: please check it.",
           "long": "The message is too long (2500 characters; at most 2000)."},
    "zh": {"transcript": "对话记录正在发送到您的邮箱。",
           "phone": "这看起来不是有效的电话号码，请检查。",
           "long": "消息太长（2500 个字符，最多 2000 个）。"},
}


@pytest.mark.parametrize("language", ["zh", "en"])
def test_transcript_bad_phone_and_too_long_are_in_the_chats_language(
        client: FlaskClient, language: str) -> None:
    citizen = _handed_over(client, language)
    expected = EXPECTED[language]
    sent = citizen.post("/transcript", email="ann@mail.example")
    assert _message(sent, 200) == expected["transcript"]
    assert _message(citizen.post("/contact", email="", phone="abc"), 400) == expected["phone"]
    assert _message(citizen.say("x" * 2500), 413) == expected["long"]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_refusal_of_the_chat_api_is_in_the_chats_language(
        client: FlaskClient, services: Services, language: str) -> None:
    fresh = Citizen(client, language=language)
    refusals = {
        "409 before a person": _message(fresh.say("hello"), 409),
        "409 nothing to send": _message(fresh.post("/transcript", email="a@b.example"), 409),
        "404 article": _message(fresh.post("/answered", question=MOULD, slug="no-such",
                                           language=language), 404),
        "400 not json": _message(client.post("/chat/api/messages", data="[1]",
                                             content_type="application/json",
                                             headers=fresh.headers), 400),
    }
    citizen = _handed_over(client, language)
    refusals |= {
        "400 empty": _message(citizen.say("   "), 400),
        "400 client id": _message(citizen.say("hi", client_id="not/valid"), 400),
        "400 bad email": _message(citizen.post("/contact", email="nope", phone=""), 400),
        "400 no contact": _message(citizen.post("/contact", email="", phone=""), 400),
        "400 transcript email": _message(citizen.post("/transcript", email="x"), 400),
        "400 score": _message(citizen.post("/survey", token="t", score=9), 400),
        "404 question": _message(citizen.post("/survey", token="t", score=3), 404),
        "413 body": _message(citizen.say("x" * (1024 * 1024 + 10)), 413),
    }
    for n in range(3):  # the question and two lines fill the minute's three
        citizen.say(f"line {n}")
    refusals["429 too many"] = _message(citizen.say("one more"), 429)
    _transcripts_sent(services, citizen.history()["state"]["reference"], language, 3)
    refusals["429 transcript"] = _message(citizen.post("/transcript", email="ann@mail.example"),
                                          429)
    assert citizen.post("/end").status_code == 200
    refusals["409 ended"] = _message(citizen.say("still there?"), 409)
    for what, text in refusals.items():
        _in_language(text, language, what)
    assert "3" in refusals["429 too many"] and "1048576" in refusals["413 body"]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_refusals_before_there_is_a_chat_follow_the_requests_language(
        client: FlaskClient, language: str) -> None:
    query = f"?lang={language}"
    not_json = client.post(f"/chat/api/sessions{query}", data="no",
                           content_type="application/json")
    _in_language(_message(not_json, 400), language)
    forged = client.post(f"/chat/api/messages{query}", json={"text": "hi"},
                         headers={"X-Chat-Token": "forged"})
    _in_language(_message(forged, 401), language)
    missing = client.get(f"/chat/api/history{query}")
    _in_language(_message(missing, 401), language)
    foreign = client.post(f"/chat/api/sessions{query}", json={"language": language},
                          headers={"Origin": "https://evil.example"})
    text = _message(foreign, 403)
    _in_language(text, language)
    assert "https://evil.example" in text


def test_the_chats_language_wins_over_the_requests(client: FlaskClient) -> None:
    """A Chinese chat stays Chinese even if a call asks for English (a page in another
    language reusing the stored session), and the other way round."""
    for chat_language, asked in (("zh", "en"), ("en", "zh")):
        citizen = _handed_over(client, chat_language)
        answer = client.post(f"/chat/api/messages?lang={asked}",
                             json={"text": "x" * 2500}, headers=citizen.headers)
        _in_language(_message(answer, 413), chat_language)


def test_every_phrase_has_both_languages_with_the_same_blanks() -> None:
    def blanks(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    english, chinese = phrases.of("en"), phrases.of("zh")
    for name in phrases.NAMES:
        en, zh = getattr(english, name), getattr(chinese, name)
        assert blanks(en) == blanks(zh), name
        assert HAN.search(zh) and not HAN.search(en), name
