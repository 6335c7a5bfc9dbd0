"""In Chromium: the citizen's widget can be used with labels, a live region, the keyboard
alone, and on a phone-sized screen without sideways scrolling."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.browser.chat_support import MOULD
from tests.browser.conftest import LiveServer

UNLABELLED = """() => Array.from(document.querySelectorAll('#cc-chat input, #cc-chat textarea'))
  .filter(e => e.offsetParent !== null && !e.getAttribute('aria-label')
    && !(e.labels && Array.from(e.labels).some(l => l.textContent.trim())))
  .map(e => e.id || e.outerHTML)"""
FOCUSED = """() => document.activeElement
  && (document.activeElement.id || document.activeElement.textContent)"""
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def phone(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A page on a 375×667 phone screen."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 375,
                                  "height": 667}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_labels_live_region_and_keyboard_only_use(new_page: Callable[[], Any]) -> None:
    page = new_page()
    page.goto("/chat")
    assert page.locator("#cc-chat input:visible, #cc-chat textarea:visible").count() == 2
    assert page.evaluate(UNLABELLED) == []
    assert page.get_by_label("Your question").get_attribute("id") == "cc-question"
    assert page.locator("#cc-status").get_attribute("aria-live") == "polite"

    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED) == "cc-name"
    page.keyboard.type("Kim Keys")
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED) == "cc-question"
    page.keyboard.type(MOULD)
    page.wait_for_selector("#cc-suggestions article")  # its link and button come next
    order = []
    for _ in range(6):
        page.keyboard.press("Tab")
        order.append(page.evaluate(FOCUSED))
        if order[-1] == "cc-person":
            break
    assert order[-1] == "cc-person" and "This answered my question" in order
    page.keyboard.press("Enter")  # hands over

    page.wait_for_selector("#cc-talk:not([hidden])")
    log = page.locator("#cc-log")
    assert log.get_attribute("aria-live") == "polite"
    page.wait_for_function("() => document.activeElement.id === 'cc-message'")
    assert page.locator("#cc-chat input:visible, #cc-chat textarea:visible").count() >= 2
    assert page.evaluate(UNLABELLED) == []
    page.keyboard.type("Sent with the keyboard alone")
    page.keyboard.press("Enter")
    page.wait_for_selector("#cc-log li.citizen:has-text('Sent with the keyboard alone') .tick"
                           ":has-text('sent')")
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED) == "cc-send-button"
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED) == "cc-end"
    page.keyboard.press("Enter")  # ends the chat, still from the keyboard
    page.wait_for_selector("#cc-status:has-text('The chat has ended')")


def test_the_widget_fits_a_phone_screen(phone: Any) -> None:
    phone.goto("/chat")
    assert phone.evaluate(SIDEWAYS) == 0
    box = phone.locator("#cc-question").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    phone.fill("#cc-name", "Pia Phone")
    phone.fill("#cc-question", MOULD)
    phone.wait_for_selector("#cc-suggestions article")
    assert phone.evaluate(SIDEWAYS) == 0
    phone.click("#cc-person")
    phone.wait_for_selector("#cc-talk:not([hidden])")
    phone.fill("#cc-message", "x" * 400)  # one long word must wrap, not widen the page
    phone.press("#cc-message", "Enter")
    phone.wait_for_selector("#cc-log li.citizen .tick:has-text('sent')")
    assert phone.evaluate(SIDEWAYS) == 0
    send = phone.locator("#cc-send-button").bounding_box()
    assert send is not None and send["x"] + send["width"] <= 375 and send["height"] >= 24
    phone.click("#cc-end")
    phone.wait_for_selector("#cc-status:has-text('The chat has ended')")
