"""Email channel fixtures: mail builders and a real SMTP server on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from sqlmodel import col, select

from caseboard.models import Case, Message, OutboxItem
from caseboard.services import Services
from channels.email.server import SmtpService
from tests.conftest import free_port


def make_mail(text: str = "The street light outside number 12 has been broken for a week.",
              subject: str = "Street light broken", sender: str = "Ann Citizen <ann@mail.example>",
              to: str = "contact@city.example", message_id: str | None = None,
              **headers: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    if message_id is not None:
        mail["Message-ID"] = message_id
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(text)
    return mail


@pytest.fixture
def smtp_port(services: Services) -> Iterator[int]:
    server = SmtpService(services, port=free_port())
    server.start()
    try:
        yield server.port
    finally:
        server.stop()


def case_of(services: Services, reference: str) -> Case:
    with services.database.read() as session:
        return session.execute(select(Case).where(col(Case.reference) == reference)
                               ).scalar_one()


def messages_of(services: Services, case_id: int) -> list[Message]:
    with services.database.read() as session:
        return list(session.execute(select(Message).where(col(Message.case_id) == case_id)
                                    .order_by(col(Message.id))).scalars())


def outbox_items(services: Services) -> list[OutboxItem]:
    with services.database.read() as session:
        return list(session.execute(select(OutboxItem).order_by(col(OutboxItem.id))).scalars())
