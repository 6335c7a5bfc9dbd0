"""On PostgreSQL two transactions can commit chat line ids out of order: a line numbered below
the last one a browser saw may commit after it. A reconnecting stream still brings it, and
not the lines the browser says it has."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from caseboard.models import table_of, utcnow
from caseboard.services import Services
from channels.webchat.models import ChatLine
from tests.channels.webchat.conftest import MOULD, Citizen
from tests.conftest import PG_ADMIN_URL, _empty_postgres, require_or_skip

pytestmark = pytest.mark.postgres


@pytest.fixture
def db_url(postgres_database: str | None) -> str:
    """PostgreSQL only: SQLite has one writer at a time, its ids always commit in order."""
    require_or_skip(postgres_database is not None,
                    f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    assert postgres_database is not None
    _empty_postgres(postgres_database)
    return postgres_database


def _stream_until(client: FlaskClient, url: str, text: str, headers: dict[str, str]) -> str:
    answer = client.get(url, headers=headers, buffered=False)
    received, deadline = "", time.monotonic() + 20  # a keep-alive comes every 15 s
    for chunk in answer.response:
        received += chunk.decode() if isinstance(chunk, bytes) else chunk
        if text in received or time.monotonic() > deadline:
            break
    answer.close()
    return received


def test_a_line_committed_after_a_higher_numbered_one_reaches_a_reconnecting_stream(
        app: Flask, client: FlaskClient, services: Services) -> None:
    citizen = Citizen(client)
    citizen.post("/handover", text=MOULD, client_id="q1")
    chat_id = app.extensions["webchat"].session_of(citizen.token)
    lines = table_of(ChatLine)
    slow = services.database.engine.connect()  # a writer that takes its id, then dawdles
    transaction = slow.begin()
    late_id = slow.execute(sa.insert(lines).values(
        session_id=chat_id, client_id="late", author="agent", author_name="Alice Agent",
        text="the line that committed late", address="", created_at=utcnow())
        .returning(lines.c.id)).scalar_one()
    try:
        assert citizen.say("quick line").status_code == 201  # a higher id, committed first
        seen = citizen.history()["lines"]  # what the browser has when its connection drops
        quick = next(line["id"] for line in seen if line["text"] == "quick line")
        assert quick > late_id and "the line that committed late" not in str(seen)
    finally:
        transaction.commit()
        slow.close()
    have = ",".join(str(line["id"]) for line in seen)
    received = _stream_until(client, f"/chat/api/events?token={citizen.token}&have={have}",
                             "the line that committed late", {"Last-Event-ID": str(quick)})
    assert "the line that committed late" in received
    assert "quick line" not in received and MOULD not in received  # the browser has those


def test_a_malformed_have_list_is_refused(client: FlaskClient) -> None:
    citizen = Citizen(client)
    answer = client.get(f"/chat/api/events?token={citizen.token}&have=1,two")
    assert answer.status_code == 400 and "line ids" in answer.get_json()["message"]


def test_a_resumed_stream_is_sent_only_what_is_new(app: Flask, client: FlaskClient,
                                                   services: Services) -> None:
    """Neither the overlap nor the process's poller (which starts with the first stream)
    sends the browser again the lines it has."""
    citizen = Citizen(client)
    citizen.post("/handover", text=MOULD, client_id="q1")
    citizen.say("already here")
    seen = citizen.history()["lines"]
    have = ",".join(str(line["id"]) for line in seen)
    poll = float(services.config["chat.poll_seconds"])
    later = threading.Timer(3 * poll, citizen.say, args=("brand new",))
    later.start()
    received = _stream_until(client, f"/chat/api/events?token={citizen.token}&have={have}",
                             "brand new", {"Last-Event-ID": str(seen[-1]["id"])})
    later.join()
    assert "brand new" in received
    assert received.count("event: line") == 1
