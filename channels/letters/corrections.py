"""An agent's corrected text for one page of a scanned letter.

The message's text becomes the corrected pages joined as intake joined them; the first OCR
reading stays in the details (ocr_text, per page and for the whole letter), so nothing the
scanner read is lost. The page's 'check the text' flag is cleared and the case audited.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlmodel import Session

from caseboard import audit, case_search
from caseboard.models import Case, Message, User, utcnow

MAX_PAGE_CHARS = 20_000  # a dense A4 page holds about 5,000 characters


class CorrectionError(ValueError):
    """The correction is refused; the message says why and nothing was changed."""


def letter_pages(message: Message | None) -> list[dict[str, Any]] | None:
    """The pages of a letter message, or None when the message is no scanned letter."""
    if message is None or message.channel != "letter" or message.direction != "in":
        return None
    letter = message.details.get("letter") if isinstance(message.details, dict) else None
    pages = letter.get("pages") if isinstance(letter, dict) else None
    if not isinstance(pages, list) or not pages:
        return None
    return [p for p in pages if isinstance(p, dict)]


def clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise CorrectionError("The corrected text is empty. Nothing was saved.")
    if len(text) > MAX_PAGE_CHARS:
        raise CorrectionError(f"The corrected text is too long ({len(text)} characters; at "
                              f"most {MAX_PAGE_CHARS}). Nothing was saved.")
    return text


def correct_page(session: Session, case: Case, message: Message, number: int, text: str,
                 user: User) -> None:
    """Store the corrected text of page `number` (in the caller's write transaction)."""
    text = clean_text(text)
    details = copy.deepcopy(message.details)  # a new value, so the JSON column is written
    pages = details["letter"]["pages"]
    page = next((p for p in pages if isinstance(p, dict) and p.get("number") == number), None)
    if page is None:
        raise CorrectionError(f"The letter has no page {number}.")
    now = utcnow()
    details.setdefault("ocr_text", message.text)
    page.setdefault("ocr_text", page.get("text", ""))
    page.update(text=text, check_text=False, corrected_by=user.username,
                corrected_at=now.isoformat())
    message.details = details
    message.text = "\n\n".join(str(p.get("text", "")) for p in pages if isinstance(p, dict))
    case.updated_at = now  # other viewers' pages see the case changed
    session.add(message)
    session.add(case)
    case_search.index_texts(session, case.id or 0, text)
    audit.record(session, case.id, user.username, "letter_text_corrected", "board",
                 message_id=message.id, page=number)
