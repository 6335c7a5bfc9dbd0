"""Bob watches the housing queue in Chromium; a new contact appears without a reload."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from caseboard.contacts import InboundContact, Sender
from tests.browser.conftest import LiveServer, assert_no_script_ran


def test_bob_sees_a_new_contact_arrive_live(live_server: LiveServer,
                                            signed_in_page: Callable[[str], Any]) -> None:
    page = signed_in_page("bob")
    page.goto("/board/queue?department=housing")
    page.wait_for_function("() => document.getElementById('live-state').textContent === 'live'")
    page.evaluate("() => { window.__same_page = true; }")  # gone if the page reloads
    marker = uuid.uuid4().hex[:8]
    subject = f"Damp in the stairwell <b>{marker}</b>"
    result = live_server.services.intake.take(InboundContact(
        "email", f"<live-{marker}@mail.example>",
        Sender("Live Citizen", email=f"live-{marker}@mail.example"),
        text="The stairwell walls are wet and mouldy.", subject=subject, language="en",
        explicit_department="housing"))
    row = page.locator(f'tr[data-reference="{result.reference}"]')
    row.wait_for(timeout=10_000)
    assert subject in row.locator(".subject").inner_text()  # shown as text, not markup
    assert page.evaluate("() => window.__same_page === true"), "the page was reloaded"
    assert_no_script_ran(page)


def test_n_claims_the_next_case_from_the_keyboard(live_server: LiveServer,
                                                  signed_in_page: Callable[[str], Any]) -> None:
    page = signed_in_page("alice")
    page.goto("/board/me")
    page.select_option("#new-presence", "available")
    page.click("button:has-text('Save')")
    page.goto("/board/queue?department=housing")
    page.keyboard.press("n")
    page.wait_for_url("**/board/case/**")
    reference = page.url.rsplit("/", 1)[1]
    page.goto("/board")
    assert page.locator(f'tr[data-reference="{reference}"]').count() == 1  # now hers
