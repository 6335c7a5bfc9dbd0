"""One scanned file → one committed letter contact (or a quarantined file with a reason).

The order keeps the promises: read and understand first (nothing written), then one intake
transaction; only after it committed does the caller remove the file from the inbox.
The file's SHA-256 is the contact's external id, so the same scan twice is one letter.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from rapidfuzz import fuzz
from sqlmodel import col, select

from caseboard.contacts import InboundContact, IncomingAttachment, IntakeResult, Sender
from caseboard.identity import normalise_address, normalise_postcode
from caseboard.intake import IntakeError
from caseboard.models import Citizen
from caseboard.services import Services
from channels.letters.ocr import OcrEngine, engine_for
from channels.letters.pages import BadScan, load_pages
from channels.letters.reading import PageText, read_pages
from channels.letters.understand import LetterFacts, understand

MIN_READABLE_CHARS = 12  # fewer confident characters than this: not a letter (noise, blank)
CONFIDENT_NAME, CONFIDENT_ADDRESS = 90, 88


@dataclass(frozen=True)
class LetterResult:
    result: IntakeResult
    facts: LetterFacts
    pages: tuple[PageText, ...]
    sha256: str


def engine_of(services: Services) -> OcrEngine:
    return engine_for(services.config["letters.ocr_engine"])


def read_letter(services: Services, data: bytes, engine: OcrEngine | None = None
                ) -> tuple[list[PageText], LetterFacts, list[Image.Image]]:
    """OCR and understanding; raises BadScan for what is not a readable letter."""
    config = services.config
    images = load_pages(data, config["letters.max_file_bytes"], config["letters.max_pages"])
    pages = read_pages(engine or engine_of(services), images, config["letters.check_confidence"])
    readable = sum(len(line.text.strip()) for page in pages for line in page.lines
                   if line.confidence >= 0.6)
    if readable < MIN_READABLE_CHARS:
        raise BadScan("no readable text found (blank page, noise or a picture)")
    text = "\n\n".join(page.text for page in pages)
    facts = understand(text, prefix=config["administration.reference_prefix"],
                       region=config["administration.country"],
                       own_address=f"{config['letters.return_address']} {config['letters.email']}",
                       administration=config["administration.name"])
    return pages, facts, images


def _previews(services: Services, images: list[Image.Image]) -> list[str]:
    """A PNG of each upright page, stored by hash: browsers show no TIFF or PDF inline."""
    digests = []
    for image in images:
        small = image.copy()
        small.thumbnail((1400, 1400))
        buffer = io.BytesIO()
        small.save(buffer, format="PNG", optimize=True)
        digests.append(services.files.put(buffer.getvalue()))
    return digests


def ingest(services: Services, data: bytes, filename: str,
           engine: OcrEngine | None = None) -> LetterResult:
    """Read, understand and take one letter. BadScan / IntakeError mean: quarantine it."""
    digest = hashlib.sha256(data).hexdigest()
    pages, facts, images = read_letter(services, data, engine)
    sender = _matched_sender(services, facts)
    if not sender.has_identity():
        raise BadScan("no sender address, phone or email found in the letter")
    text = "\n\n".join(page.text for page in pages)
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    contact = InboundContact(
        channel="letter", external_id=digest, sender=sender, text=text,
        subject=facts.subject or _default_subject(facts),
        language=facts.language,
        attachments=(IncomingAttachment(Path(filename).name or "scan", content_type, data),),
        metadata={"letter": {"pages": [{**p.as_dict(), "image_sha256": preview} for p, preview
                                       in zip(pages, _previews(services, images), strict=True)],
                             "scan_sha256": digest,
                             "filename": Path(filename).name, "facts": facts.as_dict()}},
    )
    result = services.intake.take(contact)
    return LetterResult(result, facts, tuple(pages), digest)


def _default_subject(facts: LetterFacts) -> str:
    if facts.language == "zh":
        return f"来信：{facts.name}" if facts.name else "来信"
    return f"Letter from {facts.name}" if facts.name else "Letter"


def _matched_sender(services: Services, facts: LetterFacts) -> Sender:
    """The sender as read; when a known citizen at the same postcode matches name and address
    closely (OCR slips allowed), their stored spelling, so intake links the letter to them."""
    sender = Sender(name=facts.name, address=facts.address, postcode=facts.postcode,
                    phone=facts.phones[0] if facts.phones else "",
                    email=facts.emails[0] if facts.emails else "")
    if not (facts.name and facts.address and facts.postcode):
        return sender
    postcode = normalise_postcode(facts.postcode)
    with services.database.read() as session:
        rows = session.execute(select(Citizen.name, Citizen.address).where(
            col(Citizen.postcode) == postcode).limit(200)).all()
    best: tuple[float, str, str] | None = None
    for name, address in rows:
        name_score = fuzz.token_sort_ratio(facts.name.casefold(), name.casefold())
        address_score = fuzz.ratio(normalise_address(facts.address), normalise_address(address))
        if name_score >= CONFIDENT_NAME and address_score >= CONFIDENT_ADDRESS:
            score = name_score + address_score
            if best is None or score > best[0]:
                best = (score, name, address)
    if best is None:
        return sender
    return Sender(name=best[1], address=best[2], postcode=facts.postcode, phone=sender.phone,
                  email=sender.email)


__all__ = ["BadScan", "IntakeError", "LetterResult", "ingest", "read_letter"]
