"""The pure assignment rules (routing.assignment): default capacity per channel, configured
capacity, and who is picked among qualified agents. The case board's use of them on both
databases is in tests/caseboard/test_assignment.py."""

from __future__ import annotations

import datetime as dt

import pytest

from routing.assignment import AgentState, WorkItem, pick_agent, why_not

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def agent(user_id: int, load: dict[str, int] | None = None,
          capacity: dict[str, int] | None = None, idle_minutes: int = 0,
          presence: str = "available") -> AgentState:
    return AgentState(user_id, f"agent{user_id}", frozenset({"roads"}), frozenset(),
                      frozenset({"en"}), presence, capacity or {}, load or {},
                      T0 - dt.timedelta(minutes=idle_minutes))


@pytest.mark.parametrize("channel, default", [
    ("phone", 1), ("webchat", 3), ("whatsapp", 3), ("email", 8), ("sms", 8), ("letter", 10)])
def test_default_capacity_is_one_call_three_chats_eight_emails_ten_letters(
        channel: str, default: int) -> None:
    group = {"phone": "phone", "webchat": "chat", "whatsapp": "chat", "email": "email",
             "sms": "email", "letter": "letter"}[channel]
    item = WorkItem("roads", "pothole", "en", channel)
    assert why_not(agent(1, load={group: default - 1}), item) is None
    full = why_not(agent(1, load={group: default}), item)
    assert full == f"agent1 is at capacity for {group}"


def test_configured_capacity_replaces_the_default() -> None:
    item = WorkItem("roads", "pothole", "en", "phone")
    assert why_not(agent(1, load={"phone": 1}, capacity={"phone": 2}), item) is None
    assert why_not(agent(1, load={"email": 1}, capacity={"email": 1}),
                   WorkItem("roads", None, "en", "email")) is not None


def test_the_previous_agent_then_the_longest_idle_is_picked() -> None:
    item = WorkItem("roads", "pothole", "en", "email", previous_agent_id=2)
    agents = [agent(1, idle_minutes=90), agent(2, idle_minutes=5), agent(3, idle_minutes=30)]
    choice = pick_agent(item, agents)
    assert choice is not None and choice.agent.user_id == 2
    assert choice.reasons == ("agent2 served this citizen before",)
    # The previous agent away: the one idle longest, saying how much room is left.
    agents[1] = agent(2, idle_minutes=5, presence="away")
    choice = pick_agent(item, agents)
    assert choice is not None and choice.agent.user_id == 1
    assert choice.reasons == ("agent1 idle longest, 8 email slot(s) free",)
    assert pick_agent(item, [agent(4, presence="offline")]) is None
