"""The satisfaction question by email is automatic mail: it carries Auto-Submitted:
auto-generated (RFC 3834), so auto-responders do not answer it, on the relay and in the
offline .eml files alike."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest
from flask import Flask
from sqlmodel import col, select

from caseboard import workflow
from caseboard.contacts import InboundContact, Sender
from caseboard.models import Case, OutboxItem
from caseboard.outbox import Dispatcher
from caseboard.satisfaction import SurveySender
from caseboard.services import Services
from channels.email.outbound import EmailTransport
from tests.channels.email.test_outbound import Relay, dispatcher, relay

pytestmark = pytest.mark.ports

__all__ = ["relay"]


def survey_queued(services: Services) -> OutboxItem:
    """A case by email resolved, its acknowledgement out of the way, its survey queued."""
    taken = services.intake.take(InboundContact(
        "email", "<survey-1@mail.example>", Sender(email="ann@mail.example"),
        text="The street light outside number 12 is broken.", subject="Street light",
        explicit_department="roads"))
    with services.database.write() as session:
        case = session.get(Case, taken.case_id)
        assert case is not None
        for action in ("accept", "start", "answer", "resolve"):
            workflow.apply(session, case, action, "alice", calendar=services.calendar)
        for item in session.execute(select(OutboxItem)).scalars():
            item.status = "sent"  # the acknowledgement: not what this test reads
    SurveySender(services.database, services.config).step()
    with services.database.read() as session:
        return session.execute(select(OutboxItem).where(
            col(OutboxItem.kind) == "survey")).scalar_one()


def test_the_survey_mail_on_the_relay_is_auto_generated(
        app: Flask, services: Services, relay: tuple[Relay, int]) -> None:
    handler, port = relay
    item = survey_queued(services)
    assert item.channel == "email"
    assert dispatcher(services, port).send_one()
    [mail] = handler.accepted
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["X-Auto-Response-Suppress"] == "All"
    assert item.payload["url"] in mail.get_body(("plain",)).get_content()  # type: ignore


def test_the_survey_eml_written_offline_is_auto_generated(app: Flask,
                                                          services: Services) -> None:
    survey_queued(services)
    transport = EmailTransport(services.config, services.database)  # no relay: .eml files
    assert Dispatcher(services.database, 3, {"email": transport}).send_one()
    [written] = list((services.config.data_dir / "outbox-mail").glob("*.eml"))
    mail = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Subject"].startswith("How did we do with CC-")
