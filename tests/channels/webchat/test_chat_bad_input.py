"""Bad input to the chat API: refused with a clear message, and nothing stored for it."""

from __future__ import annotations

import time
from pathlib import Path

from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlmodel import func, select

from app import create_app
from caseboard.models import Case, Message
from caseboard.services import Services, build_services, prepare_database
from channels.webchat import tokens
from channels.webchat.models import ChatLine, ChatSession
from tests.channels.webchat.conftest import MOULD, Citizen, config_with_hours


def _count(services: Services, model: type) -> int:
    with services.database.read() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _handed_over(client: FlaskClient) -> Citizen:
    citizen = Citizen(client)
    assert citizen.post("/handover", text=MOULD, client_id="q1").status_code == 200
    return citizen


def test_a_one_megabyte_message_is_refused_and_not_stored(client: FlaskClient,
                                                          services: Services) -> None:
    citizen = _handed_over(client)
    lines, messages = _count(services, ChatLine), _count(services, Message)
    huge = citizen.say("x" * 1024 * 1024)
    assert huge.status_code == 413 and "too long" in huge.get_json()["message"]
    long = citizen.say("y" * 2001)
    assert long.status_code == 413 and "at most 2000" in long.get_json()["message"]
    assert (_count(services, ChatLine), _count(services, Message)) == (lines, messages)


def test_a_hundred_messages_in_a_second_stop_at_the_limit(client: FlaskClient,
                                                          services: Services) -> None:
    citizen = _handed_over(client)  # the question counts as the first line of the minute
    messages = _count(services, Message)
    codes = [citizen.say(f"message {n}").status_code for n in range(100)]
    assert codes.count(201) == 19 and codes.count(429) == 81
    refused = citizen.say("one more")
    assert "at most 20 a minute" in refused.get_json()["message"]
    texts = [line["text"] for line in citizen.history()["lines"] if line["author"] == "citizen"]
    assert texts == [MOULD] + [f"message {n}" for n in range(19)]
    assert _count(services, Message) == messages + 19  # the refused ones are not on the case


def test_the_limit_per_address_covers_all_its_sessions(tmp_path: Path, db_url: str) -> None:
    config = config_with_hours(tmp_path, db_url, "00:00-23:59",
                               CC_CHAT_MESSAGES_PER_MINUTE_PER_ADDRESS="5")
    built = build_services(config)
    prepare_database(built)
    try:
        client = create_app(config, built).test_client()
        first, second = _handed_over(client), _handed_over(client)
        assert [first.say(f"a{n}").status_code for n in range(3)] == [201, 201, 201]
        lines = _count(built, ChatLine)
        refused = second.say("b0")  # 2 questions + 3 lines: the address's 5 a minute
        assert refused.status_code == 429 and "your network" in refused.get_json()["message"]
        assert _count(built, ChatLine) == lines
    finally:
        built.database.dispose()


def test_forged_and_expired_tokens_are_refused(client: FlaskClient, services: Services) -> None:
    citizen = _handed_over(client)
    before = _count(services, ChatLine), _count(services, Message), _count(services, Case)
    forged = citizen.token[:-3] + ("abc" if not citizen.token.endswith("abc") else "xyz")
    answer = client.post("/chat/api/messages", json={"text": "hi"},
                         headers={"X-Chat-Token": forged})
    assert answer.status_code == 401 and "not valid" in answer.get_json()["message"]
    fresh = Citizen(client)  # a chat not handed over yet: a forged token cannot do it
    answer = client.post("/chat/api/handover", json={"text": MOULD},
                         headers={"X-Chat-Token": fresh.token[:-2] + "zz"})
    assert answer.status_code == 401 and "not valid" in answer.get_json()["message"]
    assert fresh.history()["state"]["status"] == "self_service"
    other_secret = tokens.issue("another-installation", citizen.history()["lines"][0]
                                ["client_id"])
    assert client.get("/chat/api/history",
                      headers={"X-Chat-Token": other_secret}).status_code == 401

    class Yesterday(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 86400

    secret = client.application.config["SECRET_KEY"]
    session_id = client.application.extensions["webchat"].session_of(citizen.token)
    old = URLSafeTimedSerializer(secret, salt=tokens.SALT, signer=Yesterday).dumps(session_id)
    answer = client.post("/chat/api/messages", json={"text": "hi"}, headers={"X-Chat-Token": old})
    assert answer.status_code == 401 and "expired" in answer.get_json()["message"]
    assert client.get("/chat/api/history").status_code == 401  # no token at all
    assert client.get(f"/chat/api/events?token={old}").status_code == 401
    assert (_count(services, ChatLine), _count(services, Message),
            _count(services, Case)) == before


def test_other_sites_are_refused_and_listed_sites_allowed(client: FlaskClient,
                                                          services: Services) -> None:
    evil = {"Origin": "https://evil.example"}
    answer = client.post("/chat/api/sessions", json={"name": "x"}, headers=evil)
    assert answer.status_code == 403
    assert "may not be used from https://evil.example" in answer.get_json()["message"]
    assert "Access-Control-Allow-Origin" not in answer.headers
    assert client.options("/chat/api/sessions", headers=evil).status_code == 403
    assert _count(services, ChatSession) == 0
    listed = {"Origin": "https://www.city.example"}
    preflight = client.options("/chat/api/messages", headers={
        **listed, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-chat-token"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://www.city.example"
    assert "X-Chat-Token" in preflight.headers["Access-Control-Allow-Headers"]
    citizen = Citizen(client, headers=listed)
    answer = client.post("/chat/api/handover", json={"text": MOULD},
                         headers={**citizen.headers, **evil})
    assert answer.status_code == 403
    assert citizen.history()["state"]["status"] == "self_service"  # nothing happened
    assert _count(services, Message) == 0
    assert citizen.post("/handover", text=MOULD, client_id="q1").status_code == 200
    lines, messages = _count(services, ChatLine), _count(services, Message)
    answer = client.post("/chat/api/messages", json={"text": "hi", "client_id": "m1"},
                         headers={**citizen.headers, **evil})
    assert answer.status_code == 403 and "may not be used" in answer.get_json()["message"]
    for path in ("/chat/api/history", f"/chat/api/events?token={citizen.token}"):
        assert client.get(path, headers={**citizen.headers, **evil}).status_code == 403
    assert (_count(services, ChatLine), _count(services, Message)) == (lines, messages)


def test_pages_and_embed_script_are_served(client: FlaskClient) -> None:
    page = client.get("/chat?lang=zh").get_data(as_text=True)
    assert 'lang="zh-Hans"' in page and 'data-lang="zh"' in page and "chat.js" in page
    assert 'name="viewport"' in page
    script = client.get("/chat/embed.js")
    assert script.status_code == 200 and "textContent" in script.get_data(as_text=True)
    assert "innerHTML" not in script.get_data(as_text=True)
    script.close()
    assert client.get("/board/chats").status_code == 302  # agents sign in first
