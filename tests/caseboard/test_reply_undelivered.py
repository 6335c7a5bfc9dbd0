"""A reply the outbox gives up on (the relay refuses it for good, or it runs out of retries)
is no answer: the case goes back to work where an agent finds it, the first response it
counted is uncounted, and the supervisors are told. An acknowledgement failing changes no
case. Through the real email transport and a real SMTP relay, on both databases."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator

import pytest
from aiosmtpd.controller import Controller
from flask.testing import FlaskClient
from sqlmodel import col, select

from caseboard import assignment
from caseboard.models import AuditEvent, Message, OutboxItem, utcnow
from caseboard.outbox import Dispatcher, OutgoingMessage
from caseboard.services import Services
from channels.email.inbound import handle_message
from channels.email.outbound import EmailTransport
from tests.caseboard.board_case_support import (
    alice_fixture,  # noqa: F401
    case_row,
    people_fixture,  # noqa: F401
    signed_fixture,  # noqa: F401
)
from tests.caseboard.test_reply_language import act, api_contact, send
from tests.channels.email.test_inbound import dsn, send_all
from tests.channels.email.test_outbound import Relay
from tests.conftest import free_port

pytestmark = pytest.mark.ports

Client = FlaskClient
Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def relay() -> Iterator[tuple[Relay, int]]:
    handler = Relay([])
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()
        controller.loop.close()


def email_dispatcher(services: Services, port: int, attempts: int = 5,
                     **transports: Callable[[OutgoingMessage], str]) -> Dispatcher:
    config = services.config.with_values(relay__host="127.0.0.1", relay__port=port,
                                         relay__starttls=False)
    return Dispatcher(services.database, attempts,
                      {"email": EmailTransport(config, services.database), **transports},
                      calendar=services.calendar)


def drain(dispatcher: Dispatcher, hours: int = 0) -> None:
    now = utcnow() + dt.timedelta(hours=hours)
    while dispatcher.send_one(now):
        pass


def answered_case(services: Services, client: Client, alice: Client, token_for: Headers,
                  text: str = "Our plumber will call on Monday.") -> str:
    """QA's steps: an API contact with an email sender, accepted, started and answered."""
    reference = api_contact(client, token_for, "en", "Arthur Dent",
                            "Water is coming through my ceiling.", subject="Leak")
    act(alice, reference, "accept")
    act(alice, reference, "start")
    send(alice, reference, "email", text)
    case = case_row(services, reference)
    assert case.status == "answered" and case.first_response_at is not None
    return reference


def first_response_in_csv(bob: Client, reference: str) -> str:
    answer = bob.get("/supervisor/reports/cases.csv")
    assert answer.status_code == 200
    rows = [row for row in csv.DictReader(io.StringIO(answer.get_data(as_text=True)))
            if row["reference"] == reference]
    assert len(rows) == 1
    return rows[0]["first_response_outcome"]


def actions(services: Services, reference: str) -> list[tuple[str, dict[str, object]]]:
    case_id = case_row(services, reference).id
    with services.database.read() as session:
        return [(e.action, e.details) for e in session.execute(
            select(AuditEvent).where(col(AuditEvent.case_id) == case_id)
            .order_by(col(AuditEvent.id))).scalars()]


def test_a_reply_the_relay_refuses_puts_the_case_back_to_work(
        services: Services, alice: Client, client: Client, token_for: Headers,
        signed: Callable[[str], Client], relay: tuple[Relay, int]) -> None:
    handler, port = relay
    reference = answered_case(services, client, alice, token_for)
    bob = signed("bob")
    assert first_response_in_csv(bob, reference) == "met"
    handler.script = ["250 2.0.0 ok", "550 5.1.1 mailbox unavailable"]  # the ack, the reply
    drain(email_dispatcher(services, port))
    case = case_row(services, reference)
    assert case.status == "in_progress" and case.first_response_at is None
    page = alice.get(f"/board/case/{reference}").get_data(as_text=True)
    assert "550 5.1.1 mailbox unavailable" in page
    assert "First response: due" in page and "<strong>met</strong>" not in page.split(
        "Resolution:")[0]
    assert first_response_in_csv(bob, reference) == "open"
    reopened = [d for a, d in actions(services, reference) if a == "reopen"]
    assert len(reopened) == 1 and "550 5.1.1" in str(reopened[0]["reason"])
    live = bob.get("/supervisor/live").get_data(as_text=True)
    assert "reply_failed" in live and f"{reference}: the reply by Alice Agent" in live
    # Nobody holds the case (accept does not assign it): it is waiting again for an agent.
    with services.database.write() as session:
        assignment.set_presence(session, "alice", "available", "alice")
    claimed = assignment.claim_next(services.database, services.config, "alice")
    assert claimed is not None and claimed.reference == reference


def test_a_reply_out_of_retries_does_too(services: Services, alice: Client,
                                         client: Client, token_for: Headers,
                                         signed: Callable[[str], Client]) -> None:
    reference = answered_case(services, client, alice, token_for)
    dispatcher = email_dispatcher(services, free_port(), attempts=2)  # nobody listens
    drain(dispatcher)
    assert case_row(services, reference).status == "answered"  # retrying: still on its way
    drain(dispatcher, hours=2)
    with services.database.read() as session:
        items = {i.kind: i for i in session.execute(select(OutboxItem)).scalars()}
    assert items["reply"].status == "failed" and items["acknowledgement"].status == "failed"
    case = case_row(services, reference)
    assert case.status == "in_progress" and case.first_response_at is None
    assert first_response_in_csv(signed("bob"), reference) == "open"
    undelivered = [d for a, d in actions(services, reference) if a == "reply_undelivered"]
    assert len(undelivered) == 1 and "unreachable" in str(undelivered[0]["reason"])


def test_an_acknowledgement_refused_changes_no_case(
        services: Services, alice: Client, client: Client, token_for: Headers,
        signed: Callable[[str], Client], relay: tuple[Relay, int]) -> None:
    handler, port = relay
    reference = answered_case(services, client, alice, token_for)
    handler.script = ["550 5.1.1 no such user"]  # the acknowledgement; the reply goes through
    drain(email_dispatcher(services, port))
    with services.database.read() as session:
        items = {i.kind: i.status for i in session.execute(select(OutboxItem)).scalars()}
    assert items == {"acknowledgement": "failed", "reply": "sent"}
    case = case_row(services, reference)
    assert case.status == "answered" and case.first_response_at is not None
    assert first_response_in_csv(signed("bob"), reference) == "met"
    assert "reply_failed" not in signed("bob").get("/supervisor/live").get_data(as_text=True)


def test_a_later_reply_that_arrived_becomes_the_first_response(
        services: Services, alice: Client, client: Client, token_for: Headers,
        signed: Callable[[str], Client], relay: tuple[Relay, int]) -> None:
    handler, port = relay
    reference = api_contact(client, token_for, "en", "Arthur Dent",
                            "Water is coming through my ceiling.", subject="Leak")
    act(alice, reference, "accept")
    act(alice, reference, "start")
    send(alice, reference, "email", "Our plumber will call on Monday.")
    first = case_row(services, reference).first_response_at
    send(alice, reference, "sms", "Plumber Monday 9-12.")
    with services.database.read() as session:
        sms = session.execute(select(Message).where(col(Message.channel) == "sms")).scalar_one()
    handler.script = ["250 2.0.0 ok", "451 4.3.0 try later"]  # the mail waits, the SMS goes
    dispatcher = email_dispatcher(services, port, sms=lambda message: "SM1")
    drain(dispatcher)
    handler.script = ["550 5.1.1 mailbox unavailable"]
    drain(dispatcher, hours=1)
    case = case_row(services, reference)
    # The SMS reached the citizen: it is the first response now, and the case stays answered.
    assert case.first_response_at == sms.created_at and first is not None
    assert case.first_response_at > first and case.status == "answered"
    assert "reply_undelivered" in [a for a, _ in actions(services, reference)]
    assert "reply_failed" not in signed("bob").get("/supervisor/live").get_data(as_text=True)


def test_a_question_that_never_arrived_stops_waiting_for_the_citizen(
        services: Services, alice: Client, client: Client, token_for: Headers,
        relay: tuple[Relay, int]) -> None:
    handler, port = relay
    reference = answered_case(services, client, alice, token_for,
                              text="Which floor is your flat on?")
    act(alice, reference, "wait_for_citizen")
    assert case_row(services, reference).paused_since is not None
    handler.script = ["250 2.0.0 ok", "554 5.7.1 rejected"]
    drain(email_dispatcher(services, port))
    case = case_row(services, reference)
    assert case.status == "in_progress" and case.paused_since is None
    resumed = [d for a, d in actions(services, reference) if a == "resume"]
    assert len(resumed) == 1 and "554 5.7.1 rejected" in str(resumed[0]["reason"])


def test_a_reply_that_bounces_after_the_relay_took_it_does_too(
        services: Services, alice: Client, client: Client, token_for: Headers,
        signed: Callable[[str], Client]) -> None:
    reference = answered_case(services, client, alice, token_for)
    send_all(services)  # the demo's .eml files: the relay took both
    with services.database.read() as session:
        reply = session.execute(select(Message).where(
            col(Message.direction) == "out", col(Message.author_user_id).is_not(None))
        ).scalar_one()
    assert reply.delivery_status == "sent" and reply.thread_id
    assert case_row(services, reference).status == "answered"
    outcome = handle_message(services, dsn(reply.thread_id, "en-citizen@mail.example"), "",
                             ["contact@city.example"])
    assert (outcome.kind, outcome.reference) == ("bounce", reference)
    case = case_row(services, reference)
    assert case.status == "in_progress" and case.first_response_at is None
    assert f"{reference}: the reply by Alice Agent" in signed("bob").get(
        "/supervisor/live").get_data(as_text=True)
    # Told twice (the relay's report arrives again): still one alert, one reopen.
    handle_message(services, dsn(reply.thread_id, "en-citizen@mail.example"), "",
                   ["contact@city.example"])
    assert [a for a, _ in actions(services, reference)].count("reopen") == 1
