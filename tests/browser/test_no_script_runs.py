"""Citizen text carrying script and HTML payloads is shown as text on the case page and in
the queue list, and never runs in Chromium."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from caseboard.contacts import InboundContact, IncomingAttachment, Sender
from tests.browser.conftest import XSS_MARKER, LiveServer, assert_no_script_ran

SCRIPT = f"<script>window.{XSS_MARKER}=1;alert('script')</script>"
IMG = f"<img src=x onerror=\"window.{XSS_MARKER}=1;alert('img')\">"
LINK = f"<a href=\"javascript:window.{XSS_MARKER}=1\">click me</a>"


def test_payloads_are_shown_as_text_and_never_run(
        live_server: LiveServer, signed_in_page: Callable[[str], Any]) -> None:
    marker = uuid.uuid4().hex[:6]
    subject = f"Mould {marker} {SCRIPT}"
    body = f"Black mould in my flat {IMG} see {LINK} javascript:alert(1)"
    name = f"{IMG}Evil {marker}"
    filename = f"{IMG}.html"
    result = live_server.services.intake.take(InboundContact(
        "email", f"<xss-{marker}@mail.example>", Sender(name, email=f"xss-{marker}@mail.example"),
        text=body, subject=subject, language="en", explicit_department="housing",
        attachments=(IncomingAttachment(filename, "text/html", SCRIPT.encode()),)))
    page = signed_in_page("alice")
    page.goto(f"/board/case/{result.reference}")
    assert page.locator("#case-subject").inner_text() == subject
    timeline = page.locator("#timeline").inner_text()
    assert IMG in timeline and LINK in timeline and "javascript:alert(1)" in timeline
    assert page.locator(".attachments a").first.inner_text() == filename
    assert IMG + "Evil" in page.locator("#citizen-name").inner_text()
    assert page.locator("a[href^='javascript']").count() == 0
    assert page.locator("#timeline img, #citizen img").count() == 0
    page.wait_for_timeout(1500)  # the live refresh ran once
    assert_no_script_ran(page)
    page.goto("/board/queue?department=housing")
    row = page.locator(f'tr[data-reference="{result.reference}"]')
    assert SCRIPT in row.inner_text()
    assert_no_script_ran(page)
