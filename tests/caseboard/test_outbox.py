"""The outbox dispatcher on both databases: retries with back-off, permanent failures, no
double sends when two dispatchers race."""

from __future__ import annotations

import datetime as dt
import threading

from sqlmodel import col, select

from caseboard import outbox
from caseboard.contacts import InboundContact, Sender
from caseboard.models import Message, OutboxItem
from caseboard.outbox import Dispatcher, OutgoingMessage, PermanentSendError, RetryableSendError
from caseboard.services import Services

UTC = dt.UTC


def queue_acknowledgements(services: Services, count: int) -> None:
    for index in range(count):
        services.intake.take(InboundContact("email", f"<o{index}@x>",
                                            Sender(email=f"o{index}@mail.example"),
                                            "Pothole on Mill Road"))


def items(services: Services) -> list[OutboxItem]:
    with services.database.read() as session:
        return list(session.execute(select(OutboxItem).order_by(col(OutboxItem.id))).scalars())


def test_sends_due_items_and_reports_when_idle(services: Services) -> None:
    queue_acknowledgements(services, 2)
    sent: list[OutgoingMessage] = []

    def record(message: OutgoingMessage) -> str:
        sent.append(message)
        return "id"

    dispatcher = Dispatcher(services.database, 5, {"email": record})
    assert dispatcher.send_one() and dispatcher.send_one()
    assert not dispatcher.send_one()
    assert [m.recipient for m in sent] == ["o0@mail.example", "o1@mail.example"]
    assert sent[0].payload["reference"].startswith("CC-")
    assert [i.status for i in items(services)] == ["sent", "sent"]


def test_outage_is_retried_with_back_off_then_sent(services: Services) -> None:
    queue_acknowledgements(services, 1)
    attempts: list[int] = []

    def flaky(message: OutgoingMessage) -> str:
        attempts.append(message.outbox_id)
        if len(attempts) < 3:
            raise RetryableSendError("relay refused the connection")
        return "<sent@x>"

    dispatcher = Dispatcher(services.database, 5, {"email": flaky})
    now = dt.datetime.now(UTC)
    assert dispatcher.send_one(now)
    item = items(services)[0]
    assert (item.status, item.attempts) == ("pending", 1)
    assert "relay refused" in item.last_error
    assert not dispatcher.send_one(now + dt.timedelta(seconds=1))  # backing off
    assert dispatcher.send_one(now + dt.timedelta(seconds=10))
    assert dispatcher.send_one(now + dt.timedelta(minutes=5))
    item = items(services)[0]
    assert (item.status, item.attempts, item.last_error) == ("sent", 3, "")
    assert len(attempts) == 3


def test_permanent_failure_and_exhausted_retries_fail_the_item(services: Services) -> None:
    queue_acknowledgements(services, 2)

    def reject(message: OutgoingMessage) -> str:
        if message.recipient.startswith("o0"):
            raise PermanentSendError("550 no such mailbox")
        raise RetryableSendError("timeout")

    dispatcher = Dispatcher(services.database, 2, {"email": reject})
    now = dt.datetime.now(UTC)
    for minutes in (0, 0, 60, 120):
        dispatcher.send_one(now + dt.timedelta(minutes=minutes))
    first, second = items(services)
    assert (first.status, first.last_error) == ("failed", "550 no such mailbox")
    assert (second.status, second.attempts, second.last_error) == ("failed", 2, "timeout")


def test_reply_message_gets_its_delivery_status(services: Services) -> None:
    queue_acknowledgements(services, 1)
    with services.database.write() as session:
        case_id = session.execute(select(OutboxItem.case_id)).scalar_one()
        reply = Message(case_id=case_id, direction="out", channel="sms", text="On our way",
                        delivery_status="queued")
        session.add(reply)
        session.flush()
        outbox.enqueue(session, case_id=case_id, channel="sms", recipient="+447700900123",
                       kind="reply", payload={"text": "On our way"}, message_id=reply.id)
    dispatcher = Dispatcher(services.database, 3, {"sms": lambda m: "SM123"})
    assert dispatcher.send_one()
    with services.database.read() as session:
        stored = session.get(Message, reply.id)
    assert stored is not None
    assert (stored.delivery_status, stored.external_id) == ("sent", "SM123")


def test_two_dispatchers_never_send_an_item_twice(services: Services) -> None:
    queue_acknowledgements(services, 30)
    sent: list[int] = []
    lock = threading.Lock()

    def record(message: OutgoingMessage) -> str:
        with lock:
            sent.append(message.outbox_id)
        return ""

    def drain() -> None:
        dispatcher = Dispatcher(services.database, 3, {"email": record})
        while dispatcher.send_one():
            pass

    threads = [threading.Thread(target=drain) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(sent) == sorted(set(sent)) and len(sent) == 30
    assert {i.status for i in items(services)} == {"sent"}


def test_items_for_a_channel_without_transport_wait(services: Services) -> None:
    queue_acknowledgements(services, 1)
    dispatcher = Dispatcher(services.database, 3, {"sms": lambda m: ""})
    assert not dispatcher.send_one()
    assert items(services)[0].status == "pending"
