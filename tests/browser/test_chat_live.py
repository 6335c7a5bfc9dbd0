"""End to end in Chromium: a citizen chats, alice takes the chat, both talk, the citizen
reloads and keeps the history; payloads in messages and display names never run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import LiveServer, assert_no_script_ran, xss_payloads

QUESTION = "There is black mould in the bedroom of my council flat"


def _set_presence(page: Any, presence: str) -> None:
    page.goto("/board/me")
    page.select_option("#new-presence", presence)
    page.click("button:has-text('Save')")
    page.wait_for_selector(f"#presence:has-text('{presence}')")


def test_citizen_and_agent_chat_live(live_server: LiveServer, new_page: Callable[[], Any],
                                     signed_in_page: Callable[[str], Any],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # The administration's clock, not the test's: whenever this runs, the office is open.
    monkeypatch.setattr(live_server.services.calendar, "is_working_time", lambda _m: True)
    payloads = xss_payloads()
    alice = signed_in_page("alice")
    _set_presence(alice, "available")
    try:
        citizen = new_page()
        citizen.goto("/chat")
        citizen.fill("#cc-name", payloads["img"])
        citizen.fill("#cc-question", "my bin was not emptied")
        citizen.wait_for_selector("#cc-suggestions article:has-text('missed bin collection')")
        assert citizen.locator(".cc-answered").first.is_visible()
        citizen.fill("#cc-question", QUESTION + " " + payloads["script"])
        citizen.click("#cc-person")
        citizen.wait_for_selector("#cc-status:has-text('queue')")

        alice.goto("/board/chats")
        alice.wait_for_selector("#chat-waiting button.take")
        waiting = alice.locator("#chat-waiting li").first
        assert payloads["img"] in waiting.inner_text()  # the display name, as text
        waiting.locator("button.take").click()
        pane = alice.locator("section.chat").first
        pane.wait_for()
        # The pane's lines arrive a moment after the pane itself (slower under load).
        pane.get_by_text(payloads["script"]).first.wait_for()
        assert payloads["script"] in pane.inner_text()  # the question, as text

        citizen.wait_for_selector("#cc-status:has-text('Chatting with')")
        citizen.fill("#cc-message", "Hello " + payloads["svg"])
        citizen.press("#cc-message", "Enter")
        pane.locator("li:has-text('Hello')").wait_for()
        assert payloads["svg"] in pane.locator("li:has-text('Hello')").inner_text()

        pane.locator("textarea").fill("We can help " + payloads["link"])
        pane.locator("textarea").press("Enter")
        citizen.wait_for_selector("#cc-log li.agent:has-text('We can help')")
        assert payloads["link"] in citizen.locator("#cc-log li.agent").last.inner_text()

        citizen.reload()
        citizen.wait_for_selector("#cc-log li.agent:has-text('We can help')")
        log = citizen.locator("#cc-log").inner_text()
        assert QUESTION in log and "Hello " + payloads["svg"] in log
        citizen.fill("#cc-message", "after the reload")
        citizen.press("#cc-message", "Enter")
        pane.locator("li:has-text('after the reload')").wait_for()
        assert citizen.locator("#cc-log a").count() == 0  # no link made from citizen text

        pane.locator("button:has-text('End chat')").click()  # alice holds no chat after this
        citizen.wait_for_selector("#cc-status:has-text('The chat has ended')")
        for page in (citizen, alice):
            assert_no_script_ran(page)
    finally:
        _set_presence(alice, "offline")
