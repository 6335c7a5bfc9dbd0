"""Multi-page files: a 2-page PDF and a 2-page TIFF are each ONE letter holding both pages'
text; a group-4 (CCITT fax) TIFF loads and reads; a file with more pages than
letters.max_pages goes to quarantine with a reason."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import col, select

from caseboard.contacts import IntakeOutcome
from caseboard.models import Case, Message
from caseboard.services import Services, build_services, prepare_database
from channels.letters.inbox import inbox_dir, process_file, quarantine_dir
from channels.letters.ingest import ingest
from channels.letters.ocr import OcrEngine
from channels.letters.pages import load_pages
from tests.channels.letters.conftest import SCANS, english_letter, letter_image
from tests.conftest import make_config

SECOND_PAGE = ["The hole has grown since my first complaint.",
               "It now floods whenever it rains.", "", "Yours faithfully,", "",
               "Margaret Thornton"]


def _two_pages() -> list[Image.Image]:
    return [letter_image(english_letter(), angle=1.5),
            letter_image(SECOND_PAGE, angle=-0.6, seed=9)]


def two_page_pdf() -> bytes:
    first, second = _two_pages()
    buffer = io.BytesIO()
    first.save(buffer, format="PDF", save_all=True, append_images=[second], resolution=150)
    return buffer.getvalue()


def two_page_tiff() -> bytes:
    first, second = _two_pages()
    buffer = io.BytesIO()
    first.save(buffer, format="TIFF", save_all=True, append_images=[second],
               compression="tiff_deflate")
    return buffer.getvalue()


@pytest.mark.parametrize("name, make", [("letter.pdf", two_page_pdf),
                                        ("letter.tif", two_page_tiff)])
def test_a_two_page_file_is_one_letter_with_both_pages(services: Services, name: str,
                                                       make: object) -> None:
    assert callable(make)
    letter = ingest(services, make(), name)
    assert letter.result.outcome == IntakeOutcome.CREATED
    assert [page.number for page in letter.pages] == [1, 2]
    assert letter.facts.name == "Margaret Thornton"
    with services.database.read() as session:
        messages = session.exec(select(Message).where(col(Message.channel) == "letter")).all()
        assert len(messages) == 1 and len(session.exec(select(Case)).all()) == 1
        message = messages[0]
        pages = message.details["letter"]["pages"]
        assert [p["number"] for p in pages] == [1, 2]
        assert pages[0]["image_sha256"] != pages[1]["image_sha256"]  # each page its preview
    assert "pothole" in pages[0]["text"] and "floods whenever it rains" in pages[1]["text"]
    # Both pages in the one message, in order.
    assert message.text.index("pothole") < message.text.index("floods whenever it rains")


def test_a_group4_fax_tiff_is_read(engine: OcrEngine) -> None:
    data = (SCANS / "en/tess_8071_093.3B.tif").read_bytes()
    assert Image.open(io.BytesIO(data)).info["compression"] == "group4"
    pages = load_pages(data, 50_000_000, 5)
    assert len(pages) == 1
    top = pages[0].crop((0, 0, pages[0].width, pages[0].height // 4))  # the first lines
    text = " ".join(" ".join(line.text for line in engine.read(top)).split())
    # The page sets four columns side by side: words of the first column's first lines.
    for words in ("She sighed", "wandered around the house", "with the look of an injured",
                  "When her worried parents"):
        assert words in text, text


@pytest.mark.parametrize("name, make", [("long.pdf", two_page_pdf),
                                        ("long.tif", two_page_tiff)])
def test_a_file_over_the_page_limit_is_quarantined(tmp_path: Path, name: str,
                                                   make: object) -> None:
    # File handling does not depend on the database engine: SQLite only.
    services = build_services(make_config(tmp_path, f"sqlite:///{tmp_path / 'q.db'}",
                                          CC_LETTERS_MAX_PAGES="1"))
    prepare_database(services)
    inbox = inbox_dir(services)
    inbox.mkdir(parents=True)
    assert callable(make)
    (inbox / name).write_bytes(make())
    outcome = process_file(services, inbox / name)
    assert not outcome.ok and "more than 1" in outcome.reason
    assert not (inbox / name).exists() and (quarantine_dir(services) / name).exists()
    assert "more than 1" in (quarantine_dir(services) / f"{name}.reason.txt").read_text()
    with services.database.read() as session:
        assert session.exec(select(Message)).first() is None
    services.database.dispose()
