"""In Chromium: the agent ends the chat, the citizen's widget asks the satisfaction question in
the chat, the citizen clicks 4 and the survey has score 4."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import col, select

from caseboard.satisfaction import SurveySender
from caseboard.supervisor_models import Survey
from channels.webchat.models import ChatSession
from tests.browser.chat_support import citizen_asks, leave, make_agent, office_open, sign_in, take
from tests.browser.conftest import LiveServer, assert_no_script_ran


def test_the_citizen_is_asked_at_the_end_of_the_chat_and_scores_it(
        live_server: LiveServer, new_page: Callable[[], Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    office_open(live_server, monkeypatch)
    make_agent(live_server, "sam_survey", "Sam Survey")
    try:
        citizen = citizen_asks(new_page(), "Pat Survey")
        agent = sign_in(new_page, "sam_survey")
        pane = take(agent, "Pat Survey")
        citizen.wait_for_selector("#cc-status:has-text('Chatting with Sam Survey')")
        pane.locator("button:has-text('End chat')").click()
        citizen.wait_for_selector("#cc-log li.system:has-text('The chat has ended.')")

        # What `serve` runs in the background: the survey sender folds the resolved case.
        sender = SurveySender(live_server.services.database, live_server.config)
        while sender.step():  # the demo's and earlier tests' events first
            pass
        question = citizen.locator("#cc-log li.survey")
        question.wait_for()
        assert "How satisfied are you" in question.inner_text()
        assert question.locator("button").count() == 5
        question.locator("button[data-score='4']").click()
        citizen.wait_for_selector("#cc-log li:has-text('4 out of 5')")
        assert question.locator("button[disabled]").count() == 5  # answered: no second go

        with live_server.services.database.read() as session:
            score = session.execute(select(Survey.score).join(
                ChatSession, col(ChatSession.case_id) == col(Survey.case_id)).where(
                col(ChatSession.display_name) == "Pat Survey")).scalar_one()
        assert score == 4
        citizen.reload()  # the question and its answer stay in the chat
        citizen.wait_for_selector("#cc-log li:has-text('4 out of 5')")
        assert citizen.locator("#cc-log li.survey button[disabled]").count() == 5
        assert_no_script_ran(citizen)
    finally:
        leave(live_server, "sam_survey")
