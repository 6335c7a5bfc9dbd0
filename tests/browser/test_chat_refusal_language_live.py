"""In Chromium, QA's steps on the Chinese widget (/chat?lang=zh): a bad phone number, a
2,500-character message and "email me the transcript" are answered in Chinese, not English."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.chat_support import office_open
from tests.browser.conftest import LiveServer

BINS_ZH = "我家门口的垃圾桶没有清空"  # waste: nobody speaks Chinese there, a message case


def _status_says(page: Any, text: str) -> None:
    page.wait_for_selector(f"#cc-status:has-text('{text}')")
    assert not re.search("[A-Za-z]{4}", page.locator("#cc-status").inner_text())


def test_the_chinese_widget_shows_the_servers_refusals_in_chinese(
        live_server: LiveServer, new_page: Callable[[], Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    office_open(live_server, monkeypatch)
    citizen = new_page()
    citizen.goto("/chat?lang=zh")
    citizen.fill("#cc-name", "李娜")
    citizen.fill("#cc-question", BINS_ZH)
    citizen.click("#cc-person")
    citizen.wait_for_selector("#cc-contact:not([hidden])")

    citizen.fill("#cc-phone", "abc")
    citizen.click("#cc-contact button")
    _status_says(citizen, "这看起来不是有效的电话号码，请检查。")

    citizen.fill("#cc-message", "长" * 2500)
    citizen.press("#cc-message", "Enter")
    _status_says(citizen, "消息太长（2500 个字符，最多 2000 个）。")
    assert citizen.locator("#cc-log li.citizen", has_text="长长长").count() == 0

    citizen.fill("#cc-transcript-email", "li.na@example.org")
    citizen.click("#cc-transcript button")
    _status_says(citizen, "对话记录正在发送到您的邮箱。")
