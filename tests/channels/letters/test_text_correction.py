"""The scan beside its editable text: an agent of the case's department corrects what OCR
misread; the original reading is kept, the 'check the text' flag is cleared, the change is
audited, and the corrected text is shown escaped. Everyone else is refused, nothing changed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlmodel import col, select

from caseboard import auth
from caseboard.contacts import InboundContact, Sender
from caseboard.models import AuditEvent, Message
from caseboard.services import Services
from channels.letters.corrections import MAX_PAGE_CHARS
from channels.letters.ingest import LetterResult, ingest
from settings import Config
from tests.channels.letters.conftest import as_jpeg, english_letter, letter_image
from tests.conftest import make_config

PASSWORD = "a-long-password"
CORRECTED = ("Dear Sir or Madam,\nThere is a pothole outside 14 Willow Crescent."
             " <script>alert(1)</script>")


@pytest.fixture
def config(tmp_path: Path, db_url: str) -> Config:
    # Every page counts as unsure, so the generated letter is flagged 'check the text'.
    return make_config(tmp_path, db_url, CC_LETTERS_CHECK_CONFIDENCE="0.999")


def _letter(services: Services) -> LetterResult:
    # The same image as the intake tests: the session's engine has read it already.
    return ingest(services, as_jpeg(letter_image(english_letter(), angle=1.5)), "letter.jpg")


def _sign_in(client: FlaskClient, services: Services, name: str, department: str) -> str:
    with services.database.write() as session:
        auth.create_user(session, name, "agent", PASSWORD, departments=(department,))
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    client.post("/login", data={"csrf_token": token.group(1), "username": name,
                                "password": PASSWORD})
    return _csrf(client.get("/board/letters").get_data(as_text=True))


def _csrf(page: str) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    return token.group(1)


def _message(services: Services, message_id: int) -> Message:
    with services.database.read() as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message


def test_an_agent_corrects_a_flagged_page_beside_its_scan(client: FlaskClient,
                                                          services: Services) -> None:
    letter = _letter(services)
    message_id = letter.result.message_id
    assert message_id is not None
    ocr_text = _message(services, message_id).text
    csrf = _sign_in(client, services, "bob", "roads")  # a pothole: the roads department
    case_page = client.get(f"/board/case/{letter.result.reference}").get_data(as_text=True)
    assert f'href="/board/letters/text/{message_id}"' in case_page
    page = client.get(f"/board/letters/text/{message_id}").get_data(as_text=True)
    assert "Check the text" in page  # flagged: confidence below the setting
    assert re.search(r'<img alt="Scan of page 1" src="/board/case/[^"]+/file/[0-9a-f]{64}"', page)
    assert "pothole" in page.split('<textarea name="text" id="text-1"')[1].split("</textarea>")[0]

    saved = client.post(f"/board/letters/text/{message_id}",
                        data={"csrf_token": csrf, "page": "1", "text": CORRECTED})
    assert saved.status_code == 303
    message = _message(services, message_id)
    assert message.text == CORRECTED
    assert message.details["ocr_text"] == ocr_text  # what the scanner read is kept
    stored = message.details["letter"]["pages"][0]
    assert stored["text"] == CORRECTED and stored["check_text"] is False
    assert stored["ocr_text"] == ocr_text and stored["corrected_by"] == "bob"
    with services.database.read() as session:
        event = session.exec(select(AuditEvent).where(
            col(AuditEvent.case_id) == letter.result.case_id,
            col(AuditEvent.action) == "letter_text_corrected")).one()
    assert event.actor == "bob" and event.at is not None and event.details["page"] == 1

    shown = client.get(f"/board/letters/text/{message_id}").get_data(as_text=True)
    assert "Check the text" not in shown and "Corrected by bob" in shown
    case_page = client.get(f"/board/case/{letter.result.reference}").get_data(as_text=True)
    for html in (shown, case_page):
        assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


def test_bad_corrections_are_refused_and_change_nothing(client: FlaskClient,
                                                        services: Services) -> None:
    letter = _letter(services)
    message_id = letter.result.message_id
    assert message_id is not None
    before = _message(services, message_id)
    csrf = _sign_in(client, services, "bob", "roads")
    url = f"/board/letters/text/{message_id}"
    empty = client.post(url, data={"csrf_token": csrf, "page": "1", "text": "  \n "})
    assert empty.status_code == 400 and "empty" in empty.get_data(as_text=True)
    long = client.post(url, data={"csrf_token": csrf, "page": "1",
                                  "text": "x" * (MAX_PAGE_CHARS + 1)})
    assert long.status_code == 400 and "too long" in long.get_data(as_text=True)
    assert client.post(url, data={"csrf_token": csrf, "page": "7",
                                  "text": "Fine text"}).status_code == 400  # no such page
    assert client.post(url, data={"page": "1", "text": "No CSRF token"}).status_code == 400
    after = _message(services, message_id)
    assert (after.text, after.details) == (before.text, before.details)

    # Not a scanned letter: an email on the same board, and a message that does not exist.
    email = services.intake.take(InboundContact(
        channel="email", external_id="<m1@example.org>", text="A pothole on Willow Crescent",
        subject="Pothole", sender=Sender(name="Ann", email="ann@example.org")))
    for other in (email.message_id, 999_999):
        assert client.get(f"/board/letters/text/{other}").status_code == 404
        assert client.post(f"/board/letters/text/{other}", data={
            "csrf_token": csrf, "page": "1", "text": "Replaced"}).status_code == 404
    assert _message(services, email.message_id or 0).text == "A pothole on Willow Crescent"


def test_an_agent_of_another_department_may_not_see_or_correct_it(
        client: FlaskClient, services: Services) -> None:
    letter = _letter(services)
    message_id = letter.result.message_id
    assert message_id is not None
    before = _message(services, message_id)
    csrf = _sign_in(client, services, "carol", "registry")
    assert client.get(f"/board/letters/text/{message_id}").status_code == 403
    refused = client.post(f"/board/letters/text/{message_id}",
                          data={"csrf_token": csrf, "page": "1", "text": "Not mine to fix"})
    assert refused.status_code == 403
    after = _message(services, message_id)
    assert (after.text, after.details) == (before.text, before.details)
