"""The live stream of the queue pages (/board/events) on both databases."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

from flask.testing import FlaskClient

from caseboard import board_events
from caseboard.models import Case, utcnow
from caseboard.queue_queries import Scope
from caseboard.services import Services
from tests.caseboard.test_board_queues import contact, people  # noqa: F401  (fixture)
from tests.caseboard.test_sign_in import sign_in


def first_change(chunks: Iterator[Any], limit: int = 4) -> dict[str, list[str]] | None:
    """The data of the first `changed` event among the next few chunks, or None."""
    for _, chunk in zip(range(limit), chunks, strict=False):
        text = bytes(chunk).decode()
        if text.startswith("event: changed"):
            data: dict[str, list[str]] = json.loads(text.split("data: ", 1)[1])
            return data
    return None


def test_the_stream_reports_a_new_contact_in_a_visible_department(
        client: FlaskClient, people: None, services: Services) -> None:  # noqa: F811
    since = (utcnow() - dt.timedelta(seconds=30)).isoformat()
    mould = contact(services, "Black mould in the bedroom")
    pothole = contact(services, "Pothole on Mill Road", department="roads")
    assert sign_in(client, "alice") == 303
    answer = client.get("/board/events", query_string={"since": since}, buffered=False)
    assert answer.mimetype == "text/event-stream"
    chunks: Iterator[Any] = iter(answer.response)
    assert next(chunks).decode().startswith("retry: 1000")
    change = first_change(chunks)
    answer.close()
    assert change is not None and change["references"] == [mould.reference]
    assert pothole.reference not in change["references"]  # roads is not alice's


def test_a_resumed_stream_skips_what_came_before_its_cursor(
        services: Services) -> None:
    old = contact(services, "Question about my rent")
    with services.database.write() as session:
        case = session.get(Case, old.case_id)
        assert case is not None
        case.updated_at = utcnow() - dt.timedelta(minutes=5)
        session.add(case)
    cursor = utcnow() - dt.timedelta(minutes=1)  # what a reconnecting browser sends back
    arrivals: list[str] = []

    def new_contact_while_waiting(_seconds: float) -> None:
        if not arrivals:
            arrivals.append(contact(services, "Broken window in the stairwell").reference)

    stream = board_events.stream(services.database, Scope(departments=frozenset({"housing"})),
                                 cursor, seconds=5, poll=0, sleep=new_contact_while_waiting)
    assert next(stream).startswith("retry:")
    assert next(stream) == ": idle\n\n"  # the old change is before the cursor
    changed = next(stream)
    assert changed.startswith("event: changed\nid: ")
    assert json.loads(changed.split("data: ", 1)[1]) == {"references": arrivals}
    new_cursor = board_events.parse_cursor(changed.split("id: ", 1)[1].split("\n", 1)[0])
    assert new_cursor is not None and new_cursor > cursor
    stream.close()


def test_bad_cursors_are_ignored(client: FlaskClient, people: None) -> None:  # noqa: F811
    assert board_events.parse_cursor("not a time") is None
    assert sign_in(client, "alice") == 303
    answer = client.get("/board/events", headers={"Last-Event-ID": "garbage"},
                        buffered=False)
    assert answer.status_code == 200
    answer.close()
