"""In Chromium: an agent holds three chats at once (their chat capacity); each citizen's line
shows in its own pane and each reply reaches only its citizen; a fourth chat is refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser import chat_support as chat
from tests.browser.conftest import LiveServer

NAMES = ("Ada Three", "Bo Three", "Cy Three")


def test_an_agent_holds_three_chats_and_a_fourth_is_refused(
        live_server: LiveServer, new_page: Callable[[], Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    chat.office_open(live_server, monkeypatch)
    chat.make_agent(live_server, "tess_three", "Tess Three", capacity={"chat": 3})
    try:
        citizens = {name: chat.citizen_asks(new_page(), name) for name in NAMES}
        fourth = chat.citizen_asks(new_page(), "Di Four")
        agent = chat.sign_in(new_page, "tess_three")
        panes = {name: chat.take(agent, name) for name in NAMES}
        agent.wait_for_selector("#chat-capacity:has-text('3 of 3')")

        for name, page in citizens.items():
            page.wait_for_selector("#cc-status:has-text('Chatting with Tess Three')")
            page.fill("#cc-message", f"{name} is here")
            page.press("#cc-message", "Enter")
        for name, pane in panes.items():
            pane.locator("li.citizen", has_text=f"{name} is here").wait_for()
            assert pane.locator("li.citizen").count() == 2  # the question and this line
            chat.agent_says(pane, f"Hello {name}")
        for name, page in citizens.items():
            page.wait_for_selector(f"#cc-log li.agent:has-text('Hello {name}')")
            assert page.locator("#cc-log li.agent").count() == 1  # nobody else's reply

        agent.locator("#chat-waiting li", has_text="Di Four").locator("button.take").click()
        agent.wait_for_selector("#chat-status:has-text('your capacity is 3')")
        assert chat.pane_of(agent, "Di Four").count() == 0
        assert "queue" in fourth.locator("#cc-status").inner_text()
        for pane in panes.values():
            pane.locator("button:has-text('End chat')").click()
        fourth.click("#cc-end")
    finally:
        chat.leave(live_server, "tess_three")
