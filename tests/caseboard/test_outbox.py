"""The outbox dispatcher on both databases: retries with back-off, permanent failures, no
double sends when two dispatchers race."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
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


def queued_sms_reply(services: Services, text: str) -> int:
    """An agent's SMS reply on a new case, queued in the outbox; returns its message id."""
    queue_acknowledgements(services, 1)
    with services.database.write() as session:
        case_id = session.execute(select(OutboxItem.case_id)).scalar_one()
        reply = Message(case_id=case_id, direction="out", channel="sms", text=text,
                        delivery_status="queued")
        session.add(reply)
        session.flush()
        assert reply.id is not None
        outbox.enqueue(session, case_id=case_id, channel="sms", recipient="+447700900123",
                       kind="reply", payload={"text": text}, message_id=reply.id)
        return reply.id


def test_reply_message_gets_its_delivery_status(services: Services) -> None:
    reply_id = queued_sms_reply(services, "On our way")
    dispatcher = Dispatcher(services.database, 3, {"sms": lambda m: "SM123"})
    assert dispatcher.send_one()
    with services.database.read() as session:
        stored = session.get(Message, reply_id)
    assert stored is not None
    assert (stored.delivery_status, stored.external_id) == ("sent", "SM123")


def test_a_delivery_callback_that_beats_the_send_record_is_kept(services: Services) -> None:
    """Twilio can report "delivered" before the dispatcher has written "sent"."""
    reply_id = queued_sms_reply(services, "Fixed today")

    def send_and_get_the_callback_first(message: OutgoingMessage) -> str:
        with services.database.write() as session:  # the status webhook, on another thread
            stored = session.get(Message, reply_id)
            assert stored is not None
            stored.delivery_status = "delivered"
        return "SM456"

    assert Dispatcher(services.database, 3, {"sms": send_and_get_the_callback_first}).send_one()
    with services.database.read() as session:
        stored = session.get(Message, reply_id)
    assert stored is not None
    assert (stored.delivery_status, stored.external_id) == ("delivered", "SM456")


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


def _reply(services: Services, channel: str = "sms") -> int:
    """A reply Message and its outbox item, written together as the case page does."""
    queue_acknowledgements(services, 1)
    with services.database.write() as session:
        case_id = session.execute(select(OutboxItem.case_id)).scalars().first()
        assert case_id is not None
        reply = Message(case_id=case_id, direction="out", channel=channel, text="On our way",
                        delivery_status="queued")
        session.add(reply)
        session.flush()
        outbox.enqueue(session, case_id=case_id, channel=channel, recipient="+447700900123",
                       kind="reply", payload={"text": "On our way"}, message_id=reply.id)
        assert reply.id is not None
        return reply.id


def _message(services: Services, message_id: int) -> Message:
    with services.database.read() as session:
        stored = session.get(Message, message_id)
    assert stored is not None
    return stored


def test_reply_status_follows_retries_then_a_permanent_failure(services: Services) -> None:
    reply_id = _reply(services)
    outcomes = iter([RetryableSendError("Twilio 503"), PermanentSendError("21211 invalid To")])

    def transport(message: OutgoingMessage) -> str:
        raise next(outcomes)

    dispatcher = Dispatcher(services.database, 5, {"sms": transport})
    now = dt.datetime.now(UTC)
    assert dispatcher.send_one(now)
    stored = _message(services, reply_id)
    assert (stored.delivery_status, stored.delivery_error) == ("queued", "retrying: Twilio 503")
    assert dispatcher.send_one(now + dt.timedelta(minutes=1))
    stored = _message(services, reply_id)
    assert (stored.delivery_status, stored.delivery_error) == ("failed", "21211 invalid To")
    assert not dispatcher.send_one(now + dt.timedelta(days=1))  # failed stays failed


def test_reply_fails_with_the_reason_when_retries_run_out(services: Services) -> None:
    reply_id = _reply(services)

    def down(message: OutgoingMessage) -> str:
        raise RetryableSendError("connection refused")

    dispatcher = Dispatcher(services.database, 2, {"sms": down})
    now = dt.datetime.now(UTC)
    assert dispatcher.send_one(now)
    assert dispatcher.send_one(now + dt.timedelta(hours=1))
    stored = _message(services, reply_id)
    assert (stored.delivery_status, stored.delivery_error) == ("failed", "connection refused")
    item = [i for i in items(services) if i.message_id == reply_id][0]
    assert (item.status, item.attempts) == ("failed", 2)


def test_a_sent_item_is_never_sent_again(services: Services) -> None:
    _reply(services)
    sent: list[int] = []

    def record(message: OutgoingMessage) -> str:
        sent.append(message.outbox_id)
        return "SM1"

    dispatcher = Dispatcher(services.database, 3, {"sms": record})
    now = dt.datetime.now(UTC)
    assert dispatcher.send_one(now)
    # long after the lease would have run out, the sent item is still not due again
    assert not dispatcher.send_one(now + dt.timedelta(days=2))
    assert len(sent) == 1


# SKIP LOCKED is PostgreSQL's; SQLite serialises writers (BEGIN IMMEDIATE), so no SQLite run.
@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_dispatchers_skip_a_row_another_one_holds(services: Services) -> None:
    """FOR UPDATE SKIP LOCKED: while one worker holds an item's row lock, another takes the
    next item instead of waiting (or sending the same one)."""
    assert not services.database.is_sqlite
    queue_acknowledgements(services, 2)
    first, second = items(services)
    sent: list[int] = []

    def record(message: OutgoingMessage) -> str:
        sent.append(message.outbox_id)
        return ""

    dispatcher = Dispatcher(services.database, 3, {"email": record})
    done = threading.Event()

    def claim() -> None:
        dispatcher.send_one()
        done.set()

    with services.database.write() as holder:
        holder.execute(select(OutboxItem).where(col(OutboxItem.id) == first.id)
                       .with_for_update())
        worker = threading.Thread(target=claim)
        worker.start()
        assert done.wait(10), "the dispatcher waited for the locked row"
        worker.join()
    assert sent == [second.id]
