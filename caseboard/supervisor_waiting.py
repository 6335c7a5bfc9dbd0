"""Calls and chats waiting now, as the channels themselves see them.

An open unassigned phone or chat case is not a caller on hold: a hung-up call, a voicemail or
call-back request and an out-of-hours message chat are cases waiting, not people waiting on
the line. Only the channel knows who is still holding, and the case board never imports
channels (DESIGN.md §3), so each channel registers a function here in its init_channel that
reads its own tables: department → (how many wait now, since when the longest has waited).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlmodel import Session

WaitingNow = Callable[[Session], dict[str, tuple[int, dt.datetime | None]]]
_sources: dict[str, WaitingNow] = {}

CALL_CHANNEL = "phone"
CHAT_CHANNEL = "webchat"


def register_waiting_now(channel: str, source: WaitingNow) -> None:
    _sources[channel] = source


def waiting_now(session: Session) -> dict[str, dict[str, dict[str, Any]]]:
    """channel → department → {"count", "oldest"} for every registered channel (a channel
    with nobody waiting has an empty mapping; one not loaded in this process is absent)."""
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for channel, source in sorted(_sources.items()):
        result[channel] = {
            department: {"count": int(count), "oldest": _aware(oldest)}
            for department, (count, oldest) in sorted(source(session).items()) if count}
    return result


def total(waiting: dict[str, dict[str, dict[str, Any]]], channel: str
          ) -> tuple[int, dt.datetime | None]:
    """How many wait on one channel over all departments, and the longest waiting since."""
    cells = waiting.get(channel, {}).values()
    oldest = [c["oldest"] for c in cells if c["oldest"] is not None]
    return sum(c["count"] for c in cells), min(oldest, default=None)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)  # an aggregate (min) bypasses the column type
