"""In Chromium: a citizen chats in Chinese (the widget's words, suggestions for a Chinese
question, the hand-over's and the agent's arrival in Chinese) with an agent whose display name
is a script payload: the name is shown as text and never runs on the citizen's side."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser import chat_support as chat
from tests.browser.conftest import LiveServer, assert_no_script_ran, xss_payloads

QUESTION = "我的公房卧室发霉了，很潮湿"


def test_a_chinese_chat_with_an_agent_whose_name_is_a_payload(
        live_server: LiveServer, new_page: Callable[[], Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    chat.office_open(live_server, monkeypatch)
    payloads = xss_payloads()
    name = payloads["img"]
    chat.make_agent(live_server, "xi_payload", name)
    try:
        citizen = new_page()
        citizen.goto("/chat?lang=zh")
        assert citizen.locator("html").get_attribute("lang") == "zh-Hans"
        assert citizen.get_by_label("您的问题").get_attribute("id") == "cc-question"
        citizen.fill("#cc-name", "王芳")
        citizen.fill("#cc-question", QUESTION)
        citizen.wait_for_selector("#cc-suggestions article:has-text('住房潮湿和发霉')")
        assert citizen.locator("#cc-suggestions .cc-answered").first.inner_text() \
            == "这解答了我的问题"
        citizen.click("#cc-person:has-text('转人工服务')")
        citizen.wait_for_selector("#cc-log li.system:has-text('工作人员将很快为您服务')")
        assert "您前面还有" in citizen.locator("#cc-status").inner_text()

        agent = chat.sign_in(new_page, "xi_payload")
        pane = chat.take(agent, "王芳")
        pane.get_by_text(QUESTION).first.wait_for()  # the lines arrive after the pane
        assert QUESTION in pane.inner_text()
        joined = citizen.locator("#cc-log li.system", has_text="已加入对话")
        joined.wait_for()
        assert joined.inner_text() == f"{name}已加入对话。"  # the name as text, whole
        citizen.wait_for_selector("#cc-status:has-text('正在与')")
        assert name in citizen.locator("#cc-status").inner_text()
        chat.agent_says(pane, "您好，我们会安排上门检查。")
        line = citizen.locator("#cc-log li.agent", has_text="您好，我们会安排上门检查。")
        line.wait_for()
        assert line.locator(".who").inner_text() == name
        assert citizen.locator("#cc-log img, #cc-log svg").count() == 0
        citizen.reload()  # the history is drawn again: still text
        citizen.wait_for_selector("#cc-log li.agent:has-text('您好')")
        assert citizen.locator("#cc-log li.agent .who").inner_text() == name
        pane.locator("button:has-text('End chat')").click()
        citizen.wait_for_selector("#cc-status:has-text('对话已结束')")
        for page in (citizen, agent):
            assert_no_script_ran(page)
    finally:
        chat.leave(live_server, "xi_payload")
