"""In Chromium, QA's steps: only bob (waste, English only) is available and a citizen asks in
Chinese about bins for a person. The chat is not queued for nobody: it becomes a message case,
said in Chinese, with the form for an email address or phone number. With a Chinese-speaking
waste agent there the next one is queued, and bob sees why it is not his to take."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import col, select

from caseboard import auth
from caseboard.assignment import set_presence
from caseboard.models import User
from tests.browser.chat_support import PASSWORD, leave, office_open
from tests.browser.chat_support import sign_in as agent_sign_in
from tests.browser.conftest import LiveServer

BINS_ZH = "我家门口的垃圾桶没有清空"  # routed to waste / bins


def _presence(live_server: LiveServer, username: str, presence: str) -> str:
    """Set it; returns the presence before."""
    with live_server.services.database.write() as session:
        before = session.execute(select(User.presence).where(
            col(User.username) == username)).scalar_one()
        set_presence(session, username, presence, username)
    return str(before)


def _asks_in_chinese(page: Any, name: str) -> Any:
    page.goto("/chat?lang=zh")
    page.fill("#cc-name", name)
    page.fill("#cc-question", BINS_ZH)
    page.click("#cc-person:has-text('转人工服务')")
    page.wait_for_selector("#cc-talk:not([hidden])")
    return page


def test_a_chinese_chat_only_an_english_agent_could_see_is_a_message_case(
        live_server: LiveServer, new_page: Callable[[], Any],
        signed_in_page: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch) -> None:
    office_open(live_server, monkeypatch)
    bob_was = _presence(live_server, "bob", "available")
    try:
        citizen = _asks_in_chinese(new_page(), "王芳")
        citizen.wait_for_selector("#cc-log li.system:has-text('目前没有工作人员可以接待')")
        citizen.wait_for_selector("#cc-contact:not([hidden])")
        assert "请留下电子邮件或电话号码" in citizen.locator("#cc-status").inner_text()
        assert "您前面还有" not in citizen.locator("#cc-status").inner_text()
        citizen.fill("#cc-email", "wang.fang@example.org")
        citizen.click("#cc-contact button")
        citizen.wait_for_selector("#cc-log li.system:has-text('wang.fang@example.org')")

        with live_server.services.database.write() as session:
            auth.create_user(session, "xi_waste", "agent", PASSWORD, display_name="Xi",
                             departments=("waste",), languages=("zh",))
            set_presence(session, "xi_waste", "available", "xi_waste")
        second = _asks_in_chinese(new_page(), "李雷")
        second.wait_for_selector("#cc-status:has-text('您前面还有')")

        bob = signed_in_page("bob")
        bob.goto("/board/chats")
        waiting = bob.locator("#chat-waiting li", has_text="李雷")
        waiting.locator(".cannot-take").wait_for()
        assert "Not for you: bob does not speak zh." in waiting.inner_text()
        assert waiting.locator("button.take").count() == 0
        assert bob.locator("#chat-waiting li", has_text="王芳").count() == 0

        xi = agent_sign_in(new_page, "xi_waste")
        xi.locator("#chat-waiting li", has_text="李雷").locator("button.take").click()
        second.wait_for_selector("#cc-status:has-text('正在与Xi对话')")
    finally:
        _presence(live_server, "bob", bob_was)
        leave(live_server, "xi_waste")
