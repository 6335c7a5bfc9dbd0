"""Generated letters (noise, a slight rotation, JPEG artefacts) through OCR into cases:
facts come out right, cases route and thread, the same scan twice is one letter, and bad
files go to quarantine with a reason while the inbox keeps working."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import col, select

from caseboard.contacts import IntakeOutcome
from caseboard.models import Attachment, Case, Citizen, IdentitySuggestion, Message
from caseboard.services import Services, build_services, prepare_database
from channels.letters.inbox import inbox_dir, process_file, quarantine_dir
from channels.letters.ingest import ingest
from tests.channels.letters.conftest import as_jpeg, chinese_letter, english_letter, letter_image
from tests.conftest import make_config


def test_english_letter_opens_a_routed_case_then_a_follow_up_joins_it(
        services: Services) -> None:
    scan = as_jpeg(letter_image(english_letter(), angle=1.5))
    first = ingest(services, scan, "letter-1.jpg")
    assert first.result.outcome == IntakeOutcome.CREATED
    assert first.facts.name == "Margaret Thornton"
    assert first.facts.postcode == "EX4 7QT"
    assert first.facts.address == "14 Willow Crescent, Exampleton, EX4 7QT"
    with services.database.read() as session:
        case = session.get(Case, first.result.case_id)
        assert case is not None and case.channel == "letter"
        assert (case.department_id, case.service_code) == ("roads", "pothole")
        message = session.get(Message, first.result.message_id)
        assert message is not None
        letter = message.details["letter"]
        assert letter["scan_sha256"] == first.sha256
        assert letter["pages"][0]["number"] == 1 and letter["pages"][0]["check_text"] is False
        assert "pothole" in letter["pages"][0]["text"]
        preview = services.files.get(letter["pages"][0]["image_sha256"])  # shown in browsers
        assert preview.startswith(b"\x89PNG")
        stored = session.exec(select(Attachment).where(
            col(Attachment.message_id) == message.id)).one()
        assert stored.sha256 == first.sha256
        assert services.files.get(stored.sha256) == scan
        citizen = session.get(Citizen, case.citizen_id)
        assert citizen is not None and citizen.postcode == "EX47QT"

    again = ingest(services, scan, "the-same-scan.jpg")
    assert again.result.outcome == IntakeOutcome.DUPLICATE
    assert again.result.case_id == first.result.case_id

    reply = english_letter(first.result.reference, body="The pothole is still there.|"
                           "It is now even deeper than before.")
    follow_up = ingest(services, as_jpeg(letter_image(reply, angle=-1.0, seed=3)), "2.jpg")
    assert follow_up.result.outcome == IntakeOutcome.JOINED
    assert follow_up.result.case_id == first.result.case_id
    assert follow_up.result.citizen_id == first.result.citizen_id  # same name and address


def test_chinese_letter_facts_and_threading(services: Services) -> None:
    first = ingest(services, as_jpeg(letter_image(chinese_letter(), chinese=True)), "a.jpg")
    assert (first.facts.name, first.facts.postcode) == ("王秀英", "200031")
    assert first.facts.address == "示例市人民路88号3单元502室"
    assert first.facts.phones == ("+8613812345678",)
    with services.database.read() as session:
        case = session.get(Case, first.result.case_id)
        assert case is not None and case.language == "zh"
        assert case.service_code == "street-light"
    follow = ingest(services, as_jpeg(letter_image(chinese_letter(first.result.reference),
                                                   chinese=True, angle=-0.8)), "b.jpg")
    assert follow.result.outcome == IntakeOutcome.JOINED
    assert follow.result.case_id == first.result.case_id


def test_our_address_and_the_senders_side_by_side_are_read_block_by_block(
        services: Services) -> None:
    # Rows read straight across would mix the two blocks ("Town Hall Exampleton"); the gutter
    # between them makes two columns, each its own block.
    lines = ["City of Example Council>Margaret Thornton", "Customer Services>14 Willow Crescent",
             "Town Hall>Exampleton", "1 High Street>EX4 7QT", "Example EX1 1AA>Tel 01632 960 123",
             "", "3 December 2026", "", "Dear Sir or Madam,", "",
             "There is a large pothole in the road outside my house on Willow Crescent.",
             "Please repair the road surface soon.", "", "Yours faithfully,", "",
             "Margaret Thornton"]
    letter = ingest(services, as_jpeg(letter_image(lines, angle=0.8)), "side-by-side.jpg")
    assert letter.facts.name == "Margaret Thornton"
    assert letter.facts.address == "14 Willow Crescent, Exampleton, EX4 7QT"
    assert letter.facts.phones == ("+441632960123",)
    assert "Town Hall\n1 High Street" in letter.pages[0].text


def test_a_similar_name_at_the_postcode_is_only_a_suggestion(services: Services) -> None:
    ingest(services, as_jpeg(letter_image(english_letter())), "known.jpg")
    other = english_letter(name="Margaret Thornten", street="3 Oak Road",
                           phone="01632 960 987")
    second = ingest(services, as_jpeg(letter_image(other, seed=11)), "other.jpg")
    assert second.result.outcome == IntakeOutcome.CREATED
    with services.database.read() as session:
        suggestion = session.exec(select(IdentitySuggestion).where(
            col(IdentitySuggestion.case_id) == second.result.case_id)).one()
    assert suggestion.suggested_citizen_id != second.result.citizen_id


def test_a_small_ocr_slip_in_the_name_at_the_same_address_links_the_known_citizen(
        services: Services) -> None:
    known = ingest(services, as_jpeg(letter_image(english_letter(), angle=1.5)), "known.jpg")
    # No reference and no phone: only the name (rn read as m) and the address tie them.
    slipped = english_letter(name="Margaret Thomton", phone="",
                             body="The street light outside my house is broken.")
    second = ingest(services, as_jpeg(letter_image(slipped, angle=-0.7, seed=5)), "slip.jpg")
    assert second.facts.name == "Margaret Thomton" and not second.facts.phones
    assert not second.facts.references
    assert second.result.outcome == IntakeOutcome.CREATED  # a new matter, a new case
    assert second.result.citizen_id == known.result.citizen_id
    with services.database.read() as session:
        assert session.exec(select(IdentitySuggestion).where(
            col(IdentitySuggestion.case_id) == second.result.case_id)).first() is None


def _noise_png() -> bytes:
    rng = random.Random(1)
    image = Image.frombytes("L", (800, 1000), bytes(rng.randrange(256) for _ in range(800_000)))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("name, data, reason", [
    ("empty.pdf", b"", "empty"),
    ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\nthis is not a PDF\n", "PDF"),
    ("noise.png", None, "no readable text"),
    ("notes.txt", b"just some text, not a scan", "not a PDF, TIFF, PNG or JPEG"),
])
def test_bad_files_are_quarantined_with_a_reason(tmp_path: Path, name: str,
                                                 data: bytes | None, reason: str) -> None:
    # File handling does not depend on the database engine: SQLite only.
    services = build_services(make_config(tmp_path, f"sqlite:///{tmp_path / 'q.db'}"))
    prepare_database(services)
    inbox = inbox_dir(services)
    inbox.mkdir(parents=True)
    bad = inbox / name
    bad.write_bytes(_noise_png() if data is None else data)
    outcome = process_file(services, bad)
    assert not outcome.ok and reason in outcome.reason
    assert not bad.exists()  # out of the inbox, so it is not tried again and again
    kept = quarantine_dir(services) / name
    assert kept.read_bytes() == (_noise_png() if data is None else data)
    assert reason in Path(str(kept) + ".reason.txt").read_text()
    with services.database.read() as session:
        assert session.exec(select(Message)).first() is None  # nothing was written
    services.database.dispose()


def test_the_inbox_keeps_working_after_a_bad_file(services: Services) -> None:
    inbox = inbox_dir(services)
    inbox.mkdir(parents=True)
    (inbox / "a-broken.pdf").write_bytes(b"%PDF-1.7 garbage")
    good = inbox / "b-letter.jpg"
    good.write_bytes(as_jpeg(letter_image(english_letter())))
    outcomes = [process_file(services, path) for path in sorted(inbox.iterdir())]
    assert [o.ok for o in outcomes] == [False, True]
    assert list(inbox.iterdir()) == []  # the letter left the inbox once committed
    assert outcomes[1].letter is not None
    assert outcomes[1].letter.result.outcome == IntakeOutcome.CREATED


def _encrypted_pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(0, 10, "Dear council, my secret letter.")
    pdf.set_encryption(owner_password="owner", user_password="citizen")
    return bytes(pdf.output())


@pytest.mark.parametrize("name, make, reason", [
    ("secret.pdf", _encrypted_pdf, "encrypted"),
    ("huge.jpg", lambda: as_jpeg(letter_image(english_letter())), "larger than 5000 bytes"),
])
def test_encrypted_and_oversize_files_are_quarantined(tmp_path: Path, name: str, make: object,
                                                      reason: str) -> None:
    config = make_config(tmp_path, f"sqlite:///{tmp_path / 'q.db'}",
                         CC_LETTERS_MAX_FILE_BYTES="5000")
    services = build_services(config)
    prepare_database(services)
    inbox = inbox_dir(services)
    inbox.mkdir(parents=True)
    assert callable(make)
    (inbox / name).write_bytes(make())
    outcome = process_file(services, inbox / name)
    assert reason in outcome.reason and not (inbox / name).exists()
    assert reason in (quarantine_dir(services) / f"{name}.reason.txt").read_text()
    services.database.dispose()
