"""Replies by post: the PDF letter carries the reference and every key fact of its article
(proved by rasterising it and reading it back with OCR), in English and in Chinese; letters
wait in the print queue on the board, download as one PDF, and are marked posted."""

from __future__ import annotations

import re

import pypdfium2 as pdfium
import pytest
from flask.testing import FlaskClient
from rapidfuzz import fuzz
from sqlmodel import col, select

from caseboard import auth, outbox
from caseboard.contacts import InboundContact, Sender
from caseboard.models import AuditEvent
from caseboard.outbox import Dispatcher
from caseboard.replies import article_text
from caseboard.services import Services
from channels.letters.inbox import inbox_dir
from channels.letters.models import LetterPrintJob
from channels.letters.ocr import OcrEngine
from channels.letters.outbound import LetterTransport
from knowledge_base.render import render
from knowledge_base.render_types import ReplyContext
from tests.channels.letters.conftest import CJK_FONT, as_jpeg, english_letter, letter_image
from tests.conftest import require_or_skip

PASSWORD = "a-long-password"


def _letter_case(services: Services, language: str = "en") -> tuple[int, str]:
    sender = Sender(name="Margaret Thornton", address="14 Willow Crescent, Exampleton",
                    postcode="EX4 7QT")
    text = "Please tell me how to register my baby's birth." if language == "en" else \
        "请问怎样给孩子办出生登记？"
    result = services.intake.take(InboundContact(
        channel="letter", external_id=f"sha-{language}", sender=sender, text=text,
        language=language))
    return result.case_id, result.reference


def _send_all(services: Services) -> None:
    transport = LetterTransport(services.config, services.database, services.files)
    dispatcher = Dispatcher(services.database, 3, transports={"letter": transport})
    while dispatcher.send_one():
        pass


def _queue_reply(services: Services, case_id: int, reference: str, slug: str,
                 language: str) -> list[str]:
    services.kb.load_demo()
    article = article_text(services.kb, f"{slug}:{language}", "http://127.0.0.1:8080")
    assert article is not None
    rendering = render("letter", article, ReplyContext(
        reference, "Margaret Thornton", "Thank you for your letter.", "Alice",
        "City of Example", language))
    with services.database.write() as session:
        outbox.enqueue(session, case_id=case_id, channel="letter",
                       recipient="14 Willow Crescent", kind="reply",
                       payload={"text": rendering.text, "language": language,
                                "reference": reference})
    return list(article.key_facts)


def _read_back(services: Services, engine: OcrEngine, job: LetterPrintJob) -> str:
    document = pdfium.PdfDocument(services.files.get(job.pdf_sha256))
    texts = []
    for index in range(len(document)):
        image = document[index].render(scale=200 / 72, grayscale=True).to_pil()
        texts.append("\n".join(line.text for line in engine.read(image)))
    document.close()
    return "\n".join(texts)


def _squash(text: str) -> str:
    return re.sub(r"[\s,，:：]+", "", text).casefold()


@pytest.mark.parametrize("language, slug", [("en", "register-a-birth"),
                                            ("zh", "register-a-birth-zh")])
def test_the_reply_pdf_reads_back_with_every_key_fact(services: Services, engine: OcrEngine,
                                                      language: str, slug: str) -> None:
    if language == "zh":
        require_or_skip(CJK_FONT.exists(), f"{CJK_FONT} is missing: apt-get install "
                        "fonts-wqy-microhei (as .ci/run does)")
    case_id, reference = _letter_case(services, language)
    facts = _queue_reply(services, case_id, reference, slug, language)
    _send_all(services)
    with services.database.read() as session:
        jobs = session.exec(select(LetterPrintJob).order_by(col(LetterPrintJob.id))).all()
    assert [job.kind for job in jobs] == ["acknowledgement", "reply"]
    assert all(job.status == "queued" for job in jobs)
    reply = jobs[1]
    assert reply.recipient_address == "14 Willow Crescent, Exampleton, EX47QT"
    text = _squash(_read_back(services, engine, reply))
    assert _squash(reference) in text
    assert _squash("14 Willow Crescent") in text  # the window address
    for fact in facts:
        score = fuzz.partial_ratio(_squash(fact), text)
        assert score >= 90, f"key fact {fact!r} not readable in the letter ({score:.0f})"
    # A retried send (the worker died after rendering) queues nothing twice.
    transport = LetterTransport(services.config, services.database, services.files)
    item = outbox.OutgoingMessage(reply.outbox_id, case_id, None, "letter", "", "reply",
                                  {"text": "x", "language": language})
    assert transport(item) == f"print-{reply.id}"


def _sign_in(client: FlaskClient, services: Services) -> str:
    with services.database.write() as session:
        auth.create_user(session, "alice", "agent", PASSWORD, departments=("registry",))
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    client.post("/login", data={"csrf_token": token.group(1), "username": "alice",
                                "password": PASSWORD})
    queue = client.get("/board/letters")
    assert queue.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', queue.get_data(as_text=True))
    assert token
    return token.group(1)


def test_print_queue_batch_download_and_posting(client: FlaskClient, services: Services) -> None:
    assert client.get("/board/letters").status_code == 302  # sign in first
    case_id, reference = _letter_case(services)
    _queue_reply(services, case_id, reference, "register-a-birth", "en")
    _send_all(services)
    csrf = _sign_in(client, services)
    page = client.get("/board/letters").get_data(as_text=True)
    assert page.count(f"<td>{reference}</td>") == 2
    with services.database.read() as session:
        ids = [str(job.id) for job in session.exec(select(LetterPrintJob)).all()]
    single = client.get(f"/board/letters/{ids[0]}.pdf")
    assert single.status_code == 200 and single.data.startswith(b"%PDF")
    batch = client.post("/board/letters/batch", data={"csrf_token": csrf, "job": ids})
    assert batch.status_code == 200
    document = pdfium.PdfDocument(batch.data)
    assert len(document) >= 2
    document.close()
    assert client.post("/board/letters/posted", data={"job": ids}).status_code == 400  # no CSRF
    posted = client.post("/board/letters/posted", data={"csrf_token": csrf, "job": ids})
    assert posted.status_code == 303
    with services.database.read() as session:
        jobs = session.exec(select(LetterPrintJob)).all()
        assert {job.status for job in jobs} == {"posted"} and jobs[0].posted_by == "alice"
        audited = session.exec(select(AuditEvent).where(
            col(AuditEvent.action) == "letter_posted")).all()
        assert len(audited) == 2
    assert "No letters waiting" in client.get("/board/letters").get_data(as_text=True)


def test_upload_puts_the_scan_in_the_inbox_for_the_workers(client: FlaskClient,
                                                          services: Services) -> None:
    csrf = _sign_in(client, services)
    import io

    scan = as_jpeg(letter_image(english_letter()))
    answer = client.post("/board/letters/upload", data={
        "csrf_token": csrf, "scan": (io.BytesIO(scan), "../../etc/my letter.jpg")},
        content_type="multipart/form-data")
    assert answer.status_code == 303
    files = list(inbox_dir(services).iterdir())
    assert len(files) == 1 and files[0].read_bytes() == scan
    assert files[0].name.endswith("my_letter.jpg") and "/" not in files[0].name
    refused = client.post("/board/letters/upload", data={
        "csrf_token": csrf, "scan": (io.BytesIO(b"hello"), "notes.txt")},
        content_type="multipart/form-data")
    assert refused.status_code == 400
    assert len(list(inbox_dir(services).iterdir())) == 1
