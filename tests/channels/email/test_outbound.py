"""Replies out through a second real SMTP server acting as the relay."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from caseboard.models import utcnow
from caseboard.outbox import Dispatcher
from caseboard.services import Services
from channels.email.inbound import handle_message
from channels.email.outbound import EmailTransport
from tests.channels.email.conftest import case_of, make_mail, messages_of, outbox_items
from tests.conftest import free_port

pytestmark = pytest.mark.ports


class Relay:
    """Answers the scripted codes at end of DATA, then 250; keeps what it accepted."""

    def __init__(self, script: list[str]) -> None:
        self.script = script
        self.accepted: list[EmailMessage] = []
        self.recipients: list[str] = []  # the envelope's, of the mails accepted

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.script:
            return self.script.pop(0)
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.accepted.append(parsed)
        self.recipients.extend(envelope.rcpt_tos)
        return "250 2.0.0 queued"


@pytest.fixture
def relay() -> Iterator[tuple[Relay, int]]:
    yield from _relay(smtputf8=False)


@pytest.fixture
def utf8_relay() -> Iterator[tuple[Relay, int]]:
    yield from _relay(smtputf8=True)


def _relay(smtputf8: bool) -> Iterator[tuple[Relay, int]]:
    handler = Relay([])
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port,
                            enable_SMTPUTF8=smtputf8)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()
        controller.loop.close()


def dispatcher(services: Services, port: int) -> Dispatcher:
    config = services.config.with_values(relay__host="127.0.0.1", relay__port=port,
                                         relay__starttls=False)
    return Dispatcher(services.database, 5, {"email": EmailTransport(config,
                                                                     services.database)})


def test_451_then_250_delivers_exactly_once(services: Services,
                                            relay: tuple[Relay, int]) -> None:
    handler, port = relay
    handler.script = ["451 4.3.0 try later"]
    mail = make_mail("我家门口的路灯坏了一个星期了，晚上很黑。", subject="路灯坏了",
                     sender="王先生 <wang@mail.example>", message_id="<zh1@mail.example>")
    outcome = handle_message(services, mail.as_bytes(), "wang@mail.example",
                             ["contact@city.example"])
    sender = dispatcher(services, port)
    assert sender.send_one()
    [item] = outbox_items(services)
    assert item.status == "pending" and "451" in item.last_error and handler.accepted == []
    assert sender.send_one(now=utcnow() + dt.timedelta(minutes=10))
    assert not sender.send_one(now=utcnow() + dt.timedelta(hours=2))
    [item] = outbox_items(services)
    assert item.status == "sent"
    [sent] = handler.accepted
    assert sent["To"] == "wang@mail.example"
    assert f"[{outcome.reference}]" in sent["Subject"] and "我们已收到您的来信" in sent["Subject"]
    assert sent["In-Reply-To"] == "<zh1@mail.example>"
    assert "<zh1@mail.example>" in sent["References"]
    assert sent["Auto-Submitted"] == "auto-replied"
    text = sent.get_body(("plain",))
    html = sent.get_body(("html",))
    assert text is not None and html is not None
    body = text.get_content()
    assert outcome.reference in body and "王先生" in body and "之前答复您" in body
    case = case_of(services, outcome.reference)
    assert case.first_response_due is not None
    local = case.first_response_due.astimezone(services.config.timezone)
    assert local.strftime("%Y年%m月%d日 %H:%M") in body
    [ack] = [m for m in messages_of(services, case.id or 0) if m.direction == "out"]
    assert ack.thread_id == sent["Message-ID"] and ack.delivery_status == "sent"


def test_a_5xx_fails_for_good_with_the_reason(services: Services,
                                              relay: tuple[Relay, int]) -> None:
    handler, port = relay
    handler.script = ["550 5.1.1 no such user here"]
    handle_message(services, make_mail().as_bytes(), "ann@mail.example",
                   ["contact@city.example"])
    assert dispatcher(services, port).send_one()
    [item] = outbox_items(services)
    assert item.status == "failed" and "550 5.1.1 no such user here" in item.last_error
    assert handler.accepted == []


def test_an_unreachable_relay_retries(services: Services) -> None:
    handle_message(services, make_mail().as_bytes(), "ann@mail.example",
                   ["contact@city.example"])
    assert dispatcher(services, free_port()).send_one()
    [item] = outbox_items(services)
    assert item.status == "pending" and "unreachable" in item.last_error


def test_english_acknowledgement_names_department_and_next_step(
        services: Services, relay: tuple[Relay, int]) -> None:
    handler, port = relay
    outcome = handle_message(services, make_mail("Question about my council rent",
                                                 to="housing@city.example").as_bytes(),
                             "ann@mail.example", ["housing@city.example"])
    dispatcher(services, port).send_one()
    [sent] = handler.accepted
    text = sent.get_body(("plain",))
    assert text is not None
    body = text.get_content()
    department = services.config.department("housing")
    assert department is not None
    assert department.name["en"] in body and outcome.reference in body
    assert "What happens next" in body and "Dear Ann Citizen" in body


def test_an_agent_reply_threads_and_a_bounce_fails_it(services: Services,
                                                      relay: tuple[Relay, int]) -> None:
    from caseboard import outbox
    from caseboard.models import Message
    from tests.channels.email.test_inbound import dsn

    handler, port = relay
    first = handle_message(services, make_mail(message_id="<r1@mail.example>").as_bytes(),
                           "ann@mail.example", ["contact@city.example"])
    case = case_of(services, first.reference)
    with services.database.write() as session:
        reply = Message(case_id=case.id or 0, direction="out", channel="email",
                        text="We will repair it on Friday.", delivery_status="queued")
        session.add(reply)
        session.flush()
        outbox.enqueue(session, case_id=case.id or 0, channel="email",
                       recipient="ann@mail.example", kind="reply", message_id=reply.id,
                       payload={"text": "We will repair it on Friday.",
                                "subject": "Street light broken"})
    sender = dispatcher(services, port)
    sender.send_one()
    sender.send_one()
    replies = [m for m in handler.accepted if "Auto-Submitted" not in m]
    [sent] = replies
    assert sent["In-Reply-To"] == "<r1@mail.example>"
    assert sent["Subject"] == f"[{first.reference}] Street light broken"
    [row] = [m for m in messages_of(services, case.id or 0) if m.text.startswith("We will")]
    assert row.thread_id == sent["Message-ID"] and row.delivery_status == "sent"
    handle_message(services, dsn(sent["Message-ID"], "ann@mail.example"), "",
                   ["contact@city.example"])
    [row] = [m for m in messages_of(services, case.id or 0) if m.text.startswith("We will")]
    assert row.delivery_status == "failed"
    items = {i.kind: i for i in outbox_items(services)}
    assert items["reply"].status == "failed" and "5.1.1" in items["reply"].last_error


def mail_from_address(services: Services, address: str) -> None:
    """A mail as an SMTPUTF8 client sends it (raw UTF-8 headers), acknowledged to `address`."""
    raw = make_mail(sender=f"José <{address}>").as_bytes(policy=email.policy.SMTPUTF8)
    outcome = handle_message(services, raw, address, ["contact@city.example"])
    assert outcome.acknowledged
    [item] = outbox_items(services)
    assert item.recipient == address


def test_a_non_ascii_mailbox_fails_for_good_on_a_relay_without_smtputf8(
        services: Services, relay: tuple[Relay, int]) -> None:
    handler, port = relay
    mail_from_address(services, "josé@mail.example")
    sender = dispatcher(services, port)
    assert sender.send_one()
    [item] = outbox_items(services)
    assert item.status == "failed" and item.attempts == 1
    assert "SMTPUTF8" in item.last_error and "josé@mail.example" in item.last_error
    assert not sender.send_one(now=utcnow() + dt.timedelta(hours=2))  # never retried
    assert handler.accepted == []


def test_a_non_ascii_mailbox_goes_through_a_relay_with_smtputf8(
        services: Services, utf8_relay: tuple[Relay, int]) -> None:
    handler, port = utf8_relay
    mail_from_address(services, "josé@mail.example")
    assert dispatcher(services, port).send_one()
    [item] = outbox_items(services)
    assert item.status == "sent"
    [sent] = handler.accepted
    assert handler.recipients == ["josé@mail.example"] and sent["To"] == "josé@mail.example"


def test_a_non_ascii_domain_is_sent_in_its_idna_form(
        services: Services, relay: tuple[Relay, int]) -> None:
    handler, port = relay
    mail_from_address(services, "ann@bücher.example")
    assert dispatcher(services, port).send_one()
    [item] = outbox_items(services)
    assert item.status == "sent"
    assert handler.recipients == ["ann@xn--bcher-kva.example"]
    assert handler.accepted[0]["To"] == "ann@xn--bcher-kva.example"


def test_a_non_ascii_mailbox_is_written_as_utf8_without_a_relay(services: Services) -> None:
    mail_from_address(services, "josé@mail.example")
    transport = EmailTransport(services.config, services.database)
    assert Dispatcher(services.database, 5, {"email": transport}).send_one()
    [item] = outbox_items(services)
    assert item.status == "sent"
    [written] = list((services.config.data_dir / "outbox-mail").glob("*.eml"))
    assert b"To: jos\xc3\xa9@mail.example" in written.read_bytes()
