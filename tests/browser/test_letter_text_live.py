"""In Chromium: an agent opens a flagged scanned letter from its case, corrects the OCR text
beside the scan and saves it; the correction (carrying a script payload) is shown as text
on the case page and never runs."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

from PIL import Image, ImageDraw

from caseboard.contacts import InboundContact, IncomingAttachment, Sender
from tests.browser.conftest import XSS_MARKER, LiveServer, assert_no_script_ran

PAYLOAD = f"<img src=x onerror=\"window.{XSS_MARKER}=1;alert('letter')\">"


def _scan_png() -> bytes:
    page = Image.new("L", (600, 300), 255)
    ImageDraw.Draw(page).text((40, 40), "Black mould in my flat", fill=0)
    buffer = io.BytesIO()
    page.save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_agent_corrects_the_text_beside_the_scan(
        live_server: LiveServer, signed_in_page: Callable[[str], Any]) -> None:
    # A letter as the letters channel files it: the scan, one page flagged 'check the text'.
    services, marker = live_server.services, uuid.uuid4().hex[:6]
    scan = _scan_png()
    digest = services.files.put(scan)
    misread = f"Blsck rnould in my flst {marker}"
    result = services.intake.take(InboundContact(
        "letter", digest, Sender(f"Ann {marker}", address=f"{marker} Elm Road, Exampleton",
                                 postcode="EX4 1AB"),
        text=misread, subject=f"Letter {marker}", language="en", explicit_department="housing",
        attachments=(IncomingAttachment("scan.png", "image/png", scan),),
        metadata={"letter": {"scan_sha256": digest, "filename": "scan.png", "pages": [
            {"number": 1, "text": misread, "confidence": 0.41, "check_text": True,
             "lines": [], "image_sha256": digest}]}}))
    page = signed_in_page("alice")
    page.goto(f"/board/case/{result.reference}")
    page.click("a.letter-text-link")
    scan_image = page.locator("img[alt='Scan of page 1']")
    # Read its size once the browser has loaded it (CI caught it still at 0 on a busy machine).
    scan_image.evaluate("i => i.complete ? true : new Promise(done => i.onload = i.onerror = done)")
    assert scan_image.evaluate("i => i.naturalWidth") == 600
    assert "Check the text" in page.inner_text("#page-1")
    assert page.input_value("#text-1") == misread
    corrected = f"Black mould in my flat {marker} {PAYLOAD}"
    page.fill("#text-1", corrected)
    page.click("button:has-text('Save page 1')")
    page.wait_for_load_state()
    assert "no longer flagged" in page.inner_text("main")
    assert page.input_value("#text-1") == corrected
    assert "Check the text" not in page.inner_text("#page-1")
    assert_no_script_ran(page)
    page.goto(f"/board/case/{result.reference}")
    assert corrected in page.inner_text("#timeline")
    assert "letter_text_corrected" in page.inner_text("#audit")
    page.wait_for_timeout(500)
    assert_no_script_ran(page)
