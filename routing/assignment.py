"""Which agent should take a case: pure rules over plain data (the case board does the I/O).

An agent qualifies when present, in the case's department, skilled for its service (no skills
listed means every service of their departments), speaking its language, and below their
capacity for the case's kind of work. Among those: the agent who last served this citizen,
then the one idle longest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# Capacity is counted per kind of work, not per channel: an SMS thread is written work like
# an email, a WhatsApp conversation is live like a chat.
CAPACITY_GROUP = {"phone": "phone", "webchat": "chat", "whatsapp": "chat", "email": "email",
                  "sms": "email", "web": "email", "api": "email", "walk_in": "email",
                  "letter": "letter"}
DEFAULT_CAPACITY = {"phone": 1, "chat": 3, "email": 8, "letter": 10}


@dataclass(frozen=True)
class AgentState:
    user_id: int
    username: str
    departments: frozenset[str]
    skills: frozenset[str]  # service codes; empty: every service of their departments
    languages: frozenset[str]
    presence: str  # available / busy / away / offline
    capacity: Mapping[str, int]  # per capacity group
    load: Mapping[str, int]  # open cases held now, per capacity group
    idle_since: dt.datetime


@dataclass(frozen=True)
class WorkItem:
    department: str
    service: str | None
    language: str
    channel: str
    previous_agent_id: int | None = None


@dataclass(frozen=True)
class AgentChoice:
    agent: AgentState
    reasons: tuple[str, ...] = field(default_factory=tuple)


def capacity_group(channel: str) -> str:
    return CAPACITY_GROUP.get(channel, "email")


def free_capacity(agent: AgentState, channel: str) -> int:
    group = capacity_group(channel)
    limit = agent.capacity.get(group, DEFAULT_CAPACITY[group])
    return limit - agent.load.get(group, 0)


def why_not(agent: AgentState, item: WorkItem) -> str | None:
    """The reason this agent cannot take the item, or None when they can."""
    if agent.presence != "available":
        return f"{agent.username} is {agent.presence}"
    if item.department not in agent.departments:
        return f"{agent.username} is not in {item.department}"
    if agent.skills and item.service and item.service not in agent.skills:
        return f"{agent.username} does not handle {item.service}"
    if item.language and agent.languages and item.language not in agent.languages:
        return f"{agent.username} does not speak {item.language}"
    if free_capacity(agent, item.channel) <= 0:
        return f"{agent.username} is at capacity for {capacity_group(item.channel)}"
    return None


def pick_agent(item: WorkItem, agents: Sequence[AgentState]) -> AgentChoice | None:
    """The best qualified agent, with the reasons a supervisor can read; None if nobody."""
    qualified = [agent for agent in agents if why_not(agent, item) is None]
    if not qualified:
        return None
    previous = next((a for a in qualified if a.user_id == item.previous_agent_id), None)
    if previous is not None:
        return AgentChoice(previous, (f"{previous.username} served this citizen before",))
    agent = min(qualified, key=lambda a: (a.idle_since, a.user_id))
    free = free_capacity(agent, item.channel)
    return AgentChoice(agent, (f"{agent.username} idle longest, {free} "
                               f"{capacity_group(item.channel)} slot(s) free",))
