"""Server-Sent Event streams: the citizen's chat, and an agent's chats plus the waiting queue.

Each event carries the line id as its SSE id, so EventSource's automatic reconnect (with
Last-Event-ID) resumes exactly after the last line the browser got; a "state" event tells
status, queue position and typing. A stream ends after a few minutes and the browser
reconnects: no web thread is held forever by a vanished client.

A stream reads the database when it starts (what the browser missed) and when the state
changed; new lines come from the bus, already read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from channels.webchat.bus import ChatBus, Line
from channels.webchat.store import TYPING_SECONDS, ChatError

STREAM_SECONDS = 300
KEEPALIVE_SECONDS = 15
# The state is read again at least this often, in case a change was missed (a process that
# died between its commit and its wake-up); more often while someone is shown typing, so the
# sign goes away when they stop.
STATE_REFRESH_SECONDS = 30.0


def refresh_seconds(typing: bool) -> float:
    return TYPING_SECONDS + 0.5 if typing else STATE_REFRESH_SECONDS


def event(name: str, data: Any, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


State = dict[str, Any]


@dataclass(frozen=True)
class StreamParts:
    keys: tuple[str, ...]  # bus keys the stream listens on
    read_lines: Callable[[int], list[Line]]  # from the database, after a line id
    read_state: Callable[[], State]
    state_keys: Callable[[State | None], tuple[str, ...]]  # whose change means "read state"
    wanted: Callable[[Line, State | None], bool]  # is this line for this stream now?
    view: Callable[[Line], dict[str, Any]]  # what the browser gets for a line
    refresh_seconds: Callable[[State], float]  # how long the state may be trusted
    # Lines the last state read brought in (an agent's newly taken chat: its history).
    joined_lines: Callable[[], list[Line]] = lambda: []


def stream(bus: ChatBus, parts: StreamParts, cursor: int) -> Iterator[str]:
    """Yield the state whenever it changes, and every new line after `cursor`."""
    subscription = bus.subscribe(*parts.keys)  # before reading: nothing falls in between
    started = last_sent = time.monotonic()
    state: State | None = None
    versions: dict[str, int] = {}
    state_due = 0.0
    sent: set[int] = set()
    catch_up = True  # read the database after the cursor: what this connection missed
    try:
        yield "retry: 1000\n\n"
        while time.monotonic() - started < STREAM_SECONDS:
            subscription.event.clear()
            lines = subscription.take_lines()  # first: a line found here has its version
            if subscription.overflowed:
                subscription.overflowed, catch_up = False, True
            now = time.monotonic()
            seen = {key: bus.version((key,)) for key in parts.keys}
            changed = any(seen[k] != versions.get(k) for k in parts.state_keys(state))
            if (state is None or changed or now >= state_due
                    or any(not parts.wanted(line, state) for line in lines)):
                versions = seen
                new_state = parts.read_state()
                state_due = now + parts.refresh_seconds(new_state)
                if new_state != state:  # first: an agent's page makes the pane for new lines
                    state = new_state
                    last_sent = now
                    yield event("state", state)
                lines = parts.joined_lines() + lines
            if catch_up:
                catch_up = False
                lines = parts.read_lines(cursor) + lines
            # An ended chat's stream stays while the satisfaction question is on its way.
            ended = state is not None and state.get("status") == "ended" \
                and not state.get("awaiting_survey")
            if ended:  # the last lines may still be on their way from the bus
                lines += parts.read_lines(cursor)
            for line in lines:
                line_id = int(line["id"])
                if line_id in sent or not parts.wanted(line, state):
                    continue
                sent.add(line_id)
                cursor = max(cursor, line_id)
                last_sent = time.monotonic()
                yield event("line", parts.view(line), cursor)
            if ended:
                return
            if time.monotonic() - last_sent > KEEPALIVE_SECONDS:
                last_sent = time.monotonic()
                yield ": keep-alive\n\n"
            wait = min(state_due, last_sent + KEEPALIVE_SECONDS, started + STREAM_SECONDS)
            subscription.event.wait(max(0.01, wait - time.monotonic()))
    finally:
        bus.unsubscribe(subscription)


MAX_HAVE_IDS = 500


def have_ids(text: str | None) -> frozenset[int]:
    """The line ids a reconnecting page already shows ("have=12,15,16"), so the lines it is
    sent again from before its cursor are only the ones it is missing."""
    parts = [p.strip() for p in (text or "").split(",") if p.strip()]
    if len(parts) > MAX_HAVE_IDS or not all(p.isdigit() and len(p) < 19 for p in parts):
        raise ChatError.citizen(400, "bad_have", limit=MAX_HAVE_IDS)
    return frozenset(int(p) for p in parts)


def last_event_id(header: str | None, query: str | None) -> int:
    for value in (header, query):
        if value and value.strip().isdigit():
            return int(value)
    return 0
