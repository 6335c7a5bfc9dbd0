"""In Chromium: the citizen's connection drops in the middle of a chat (every connection cut,
new ones refused for a while); what the agent wrote meanwhile appears once the connection is
back, what the citizen wrote meanwhile is sent then, and no line shows twice on either side."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.chat_support import (
    CuttableProxy,
    agent_says,
    citizen_asks,
    leave,
    make_agent,
    office_open,
    sign_in,
    take,
)
from tests.browser.conftest import LiveServer


def _count(locator: Any, text: str) -> int:
    return int(locator.filter(has_text=text).count())


def test_the_chat_recovers_from_a_dropped_connection_without_loss_or_doubles(
        live_server: LiveServer, new_page: Callable[[], Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    office_open(live_server, monkeypatch)
    make_agent(live_server, "dee_recovery", "Dee Recovery")
    proxy = CuttableProxy(int(urlsplit(live_server.url).port or 0))
    try:
        citizen = citizen_asks(new_page(), "Pat Tunnel", path=f"{proxy.url}/chat")
        agent = sign_in(new_page, "dee_recovery")
        pane = take(agent, "Pat Tunnel")
        citizen.wait_for_selector("#cc-status:has-text('Chatting with Dee Recovery')")
        agent_says(pane, "before the cut")
        citizen.wait_for_selector("#cc-log li.agent:has-text('before the cut')")

        proxy.cut()
        citizen.wait_for_selector("#cc-status:has-text('Connection lost')")
        agent_says(pane, "while you were away, one")
        agent_says(pane, "while you were away, two")
        citizen.fill("#cc-message", "written in the tunnel")
        citizen.press("#cc-message", "Enter")
        citizen.wait_for_selector("#cc-log li.citizen:has-text('not sent, retrying')")
        assert _count(citizen.locator("#cc-log li.agent"), "while you were away") == 0

        proxy.restore()
        citizen.wait_for_selector("#cc-log li.agent:has-text('while you were away, two')")
        citizen.wait_for_selector("#cc-log li.citizen:has-text('written in the tunnel') .tick"
                                  ":has-text('sent')")
        pane.locator("li:has-text('written in the tunnel')").wait_for()
        log = citizen.locator("#cc-log li")
        for text in ("before the cut", "while you were away, one", "while you were away, two",
                     "written in the tunnel"):
            assert _count(log, text) == 1, text
        texts = [t for t in log.all_inner_texts() if "while you were away" in t]
        assert [t.split("\n")[-1] for t in texts] == ["while you were away, one",
                                                      "while you were away, two"]
        assert _count(pane.locator("li"), "written in the tunnel") == 1
        assert "Chatting with" in citizen.locator("#cc-status").inner_text()
    finally:
        proxy.close()
        leave(live_server, "dee_recovery")
