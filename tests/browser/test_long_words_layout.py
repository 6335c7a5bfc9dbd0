"""A citizen's text can be one very long word (an SMS without spaces, a long external id):
in Chromium the queue and the case page still fit the window, with no sideways scrolling."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from caseboard.contacts import InboundContact, Sender
from tests.browser.conftest import LiveServer

NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"


def test_a_long_unbroken_subject_does_not_widen_the_pages(
        live_server: LiveServer, signed_in_page: Callable[[str], Any]) -> None:
    marker = uuid.uuid4().hex
    word = ("Streetlight" + marker) * 5  # about 200 characters, no space to break at
    external_id = "SM" + (marker * 4)[:120]
    result = live_server.services.intake.take(InboundContact(
        "sms", external_id, Sender("", phone="+447700900777"), word[:200], subject=word[:200],
        language="en", explicit_department="housing"))
    page = signed_in_page("bob")
    page.goto("/board/all")
    row = page.locator(f'tr[data-reference="{result.reference}"]')
    assert word[:40] in row.locator(".subject").inner_text()
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the queue is wider than the window"
    header = page.evaluate("() => document.querySelector('header').getBoundingClientRect()"
                           ".width")
    assert header >= page.evaluate("() => document.documentElement.scrollWidth") - 1
    page.goto(f"/board/case/{result.reference}")
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the case page is wider than the window"
    for panel in ("#audit", "#timeline", "#related", "#citizen"):
        assert page.evaluate(f"() => {{ const p = document.querySelector('{panel}');"
                             " return p.scrollWidth <= p.clientWidth; }"), panel
    assert external_id[:30] in page.locator("#audit").inner_text()
