"""Control characters on both databases: a NUL from any channel is removed, never a lost
contact (PostgreSQL refuses NUL in text and JSON) nor a NUL echoed back to the citizen."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlmodel import col, select
from twilio.request_validator import RequestValidator

from caseboard.contacts import InboundContact, IncomingAttachment, IntakeOutcome, Sender
from caseboard.intake import IntakeError
from caseboard.models import Attachment, AuditEvent, Case, Citizen, Message, OutboxItem
from caseboard.services import Services, build_services, prepare_database
from tests.conftest import make_config

# Every C0 control but tab, line feed and carriage return, and DEL.
CONTROLS = "".join(map(chr, [*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]))


def count(services: Services, model: type) -> int:
    with services.database.read() as session:
        return int(session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one())


Row = TypeVar("Row")
Headers = Callable[[str], dict[str, str]]


def only(services: Services, model: type[Row]) -> Row:
    with services.database.read() as session:
        row: Row = session.execute(select(model)).scalar_one()
        return row


def written(services: Services) -> int:
    return sum(count(services, m) for m in (Case, Message, Citizen, AuditEvent, OutboxItem))


def dirty_email(external_id: str) -> InboundContact:
    return InboundContact(
        "email", external_id,
        Sender(name="N\x00ul Lo\x1bpez", email="nul@mail.example", address="1 Elm\x07 Street",
               postcode="AB1\x00 2CD"),
        text="Big pothole\x00 on Elm Road,\tnear the school.\r\nPlease fix it\x7f.\x0c",
        subject="Pot\x00hole\x08 on Elm",
        attachments=(IncomingAttachment("photo\x00.jpg", "image/jpeg", b"\x00\x01jpeg"),),
        thread_ids=("<earlier\x00@x>",), own_thread_id="<own\x00@x>",
        metadata={"email": {"from\x00": "Nul\x00 <nul@mail.example>",
                            "headers": ["X-Note: a\x00b", 7, None, True]}})


def test_controls_are_removed_from_everything_stored_and_nothing_else_changes(
        services: Services) -> None:
    result = services.intake.take(dirty_email("<nul\x00@x>"))
    assert result.outcome is IntakeOutcome.CREATED and result.acknowledged
    case = only(services, Case)
    message = only(services, Message)
    citizen = only(services, Citizen)
    attachment = only(services, Attachment)
    ack = only(services, OutboxItem)
    assert message.text == "Big pothole on Elm Road,\tnear the school.\r\nPlease fix it."
    assert (message.subject, case.subject) == ("Pothole on Elm", "Pothole on Elm")
    assert (message.external_id, message.thread_id) == ("<nul@x>", "<own@x>")
    assert message.details == {"email": {"from": "Nul <nul@mail.example>",
                                         "headers": ["X-Note: ab", 7, None, True]}}
    assert citizen.name == "Nul Lopez"
    assert attachment.filename == "photo.jpg" and attachment.size == 6  # the bytes untouched
    assert ack.payload["citizen_name"] == "Nul Lopez"
    assert ack.payload["subject"] == "Pothole on Elm"
    assert case.department_id == "roads" and case.service_code == "pothole"


def test_a_retried_contact_with_controls_is_still_a_duplicate(services: Services) -> None:
    first = services.intake.take(dirty_email("<retry\x00@x>"))
    again = services.intake.take(dirty_email("<retry\x00@x>"))
    assert again.outcome is IntakeOutcome.DUPLICATE
    assert (again.reference, again.message_id) == (first.reference, first.message_id)
    assert (count(services, Case), count(services, Message)) == (1, 1)


def test_every_control_character_goes_and_tab_newline_return_stay(services: Services) -> None:
    text = f"a{CONTROLS}b\t\n\rc é 路灯 \u00a0\u2028end"
    services.intake.take(InboundContact("web", "all", Sender(email="x@mail.example"), text))
    message = only(services, Message)
    assert message.text == "ab\t\n\rc é 路灯 \u00a0\u2028end"


def test_an_id_of_controls_alone_is_refused_and_writes_nothing(services: Services) -> None:
    with pytest.raises(IntakeError, match="external id"):
        services.intake.take(InboundContact("web", "\x00\x01", Sender(email="x@mail.example"),
                                            "hello"))
    with pytest.raises(IntakeError, match="sender identity"):
        services.intake.take(InboundContact("letter", "l1", Sender(address="\x00"), "hello"))
    assert written(services) == 0


def test_a_service_outside_the_chosen_department_is_refused(services: Services) -> None:
    contact = InboundContact("web", "w1", Sender(email="x@mail.example"), "hello",
                             explicit_department="housing", explicit_service="pothole")
    with pytest.raises(IntakeError, match="'pothole' is not in department 'housing'"):
        services.intake.take(contact)
    assert written(services) == 0
    fine = InboundContact("web", "w2", Sender(email="x@mail.example"), "hello",
                          explicit_department="roads", explicit_service="pothole")
    assert services.intake.take(fine).outcome is IntakeOutcome.CREATED


# The channels: a signed Twilio SMS and the JSON API, end to end.

TOKEN = "test-auth-token-0123456789"
PUBLIC = "https://contact.city.example"


@pytest.fixture
def sms_services(tmp_path: Path, db_url: str) -> Iterator[Services]:
    config = make_config(tmp_path, db_url, CC_TWILIO_AUTH_TOKEN=TOKEN,
                         CC_TWILIO_PUBLIC_URL=PUBLIC)
    built = build_services(config)
    prepare_database(built)
    yield built
    built.database.dispose()


@pytest.fixture
def twilio(sms_services: Services) -> FlaskClient:
    from app import create_app

    application = create_app(sms_services.config, sms_services)
    application.config["TESTING"] = True
    return application.test_client()


def test_a_signed_sms_with_a_nul_becomes_a_case(twilio: FlaskClient,
                                                sms_services: Services) -> None:
    params = {"MessageSid": "SM" + "0" * 32, "AccountSid": "AC" + "0" * 32,
              "From": "+14155550100", "To": "+14155550199", "Body": "pothole\u0000 on Elm",
              "NumSegments": "1", "NumMedia": "0", "ProfileName": "N\u0000ul"}
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + "/twilio/sms", params)
    for _delivery in range(2):  # Twilio retries: still one message
        answer = twilio.post("/twilio/sms", data=params,
                             headers={"X-Twilio-Signature": signature})
        assert answer.status_code == 200, answer.get_data(as_text=True)
    message = only(sms_services, Message)
    assert (message.text, message.sender) == ("pothole on Elm", "+14155550100")
    assert only(sms_services, Citizen).name == "Nul"
    assert count(sms_services, Case) == 1


def test_api_contact_with_nuls_is_filed_clean(client: FlaskClient, services: Services,
                                              token_for: Headers) -> None:
    headers = token_for("intake")
    body = {"channel": "web", "external_id": "form-\u0000-1",
            "sender": {"name": "N\u0000ul", "email": "nul@mail.example"},
            "subject": "Elm\u0000 Road", "text": "pothole\u0000 on Elm"}
    first = client.post("/api/v1/contacts", json=body, headers=headers)
    assert first.status_code == 201, first.json
    again = client.post("/api/v1/contacts", json=body, headers=headers)
    assert again.status_code == 200 and again.json["outcome"] == "duplicate"
    detail = client.get(f"/api/v1/cases/{first.json['reference']}",
                        headers=token_for("agent")).json
    assert detail["citizen"]["name"] == "Nul"
    assert [(m["subject"], m["text"]) for m in detail["messages"]] == [
        ("Elm Road", "pothole on Elm")]
    assert only(services, Case).subject == "Elm Road"
    with services.database.read() as session:
        ack = session.execute(select(OutboxItem).where(
            col(OutboxItem.kind) == "acknowledgement")).scalar_one()
    assert ack.payload["citizen_name"] == "Nul"
