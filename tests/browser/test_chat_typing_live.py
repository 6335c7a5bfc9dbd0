"""In Chromium: "The agent is typing…" and "The citizen is typing…" go away by themselves about
5 s after the last keystroke, even when no further state reaches the page (here: its
connection cut), and the citizen's goes the moment the agent ends the chat while typing."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.chat_support import (
    PASSWORD,
    CuttableProxy,
    citizen_asks,
    leave,
    make_agent,
    office_open,
    pane_of,
)
from tests.browser.conftest import LiveServer

AGENT_TYPING = "#cc-typing"


def _agent_through(new_page: Callable[[], Any], proxy: CuttableProxy, username: str) -> Any:
    page = new_page()
    page.goto(f"{proxy.url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_load_state()
    assert "/login" not in page.url, f"{username} could not sign in"
    page.goto(f"{proxy.url}/board/chats")
    return page


def _hidden_within(locator: Any, seconds: float) -> float:
    """Wait until the locator is hidden; returns how long that took."""
    started = time.monotonic()
    locator.wait_for(state="hidden", timeout=seconds * 1000)
    return time.monotonic() - started


def test_typing_signs_expire_without_a_new_state_and_end_with_the_chat(
        live_server: LiveServer, new_page: Callable[[], Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    office_open(live_server, monkeypatch)
    make_agent(live_server, "tao_typing", "Tao Typing")
    port = int(urlsplit(live_server.url).port or 0)
    citizen_proxy, agent_proxy = CuttableProxy(port), CuttableProxy(port)
    try:
        citizen = citizen_asks(new_page(), "Kit Keys", path=f"{citizen_proxy.url}/chat")
        agent = _agent_through(new_page, agent_proxy, "tao_typing")
        agent.locator("#chat-waiting li", has_text="Kit Keys").locator("button.take").click()
        pane = pane_of(agent, "Kit Keys")
        pane.wait_for()
        citizen.wait_for_selector("#cc-status:has-text('Chatting with Tao Typing')")

        # The agent types; the citizen's connection drops: the sign still goes after ~5 s.
        pane.locator("textarea").fill("Let me check")
        citizen.locator(AGENT_TYPING).wait_for(state="visible")
        citizen_proxy.cut()
        citizen.wait_for_selector("#cc-status:has-text('Connection lost')")
        took = _hidden_within(citizen.locator(AGENT_TYPING), 9)
        assert took > 1, "the sign went at once: it should show for about 5 s"
        citizen_proxy.restore()
        citizen.wait_for_selector("#cc-status:has-text('Chatting with Tao Typing')")

        # The citizen types; the agent's connection drops: the agent's sign goes too.
        citizen_typing = pane.get_by_text("The citizen is typing…")
        citizen.fill("#cc-message", "One more thing")
        citizen_typing.wait_for(state="visible")
        agent_proxy.cut()
        agent.wait_for_selector("#chat-status:has-text('Connection lost')")
        _hidden_within(citizen_typing, 9)
        agent_proxy.restore()
        agent.wait_for_function("() => !document.getElementById('chat-status').textContent")

        # The agent ends the chat while typing: the citizen's sign goes with the chat.
        pane.locator("textarea").fill("Goodbye")
        citizen.locator(AGENT_TYPING).wait_for(state="visible")
        pane.locator("button:has-text('End chat')").click()
        citizen.wait_for_selector("#cc-status:has-text('The chat has ended')")
        assert _hidden_within(citizen.locator(AGENT_TYPING), 1) < 1
    finally:
        citizen_proxy.close()
        agent_proxy.close()
        leave(live_server, "tao_typing")
