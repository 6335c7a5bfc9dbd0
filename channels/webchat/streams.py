"""Server-Sent Event streams: the citizen's chat, and an agent's chats plus the waiting queue.

Each event carries the line id as its SSE id, so EventSource's automatic reconnect (with
Last-Event-ID) resumes exactly after the last line the browser got; a "state" event tells
status, queue position and typing. A stream ends after a few minutes and the browser
reconnects: no web thread is held forever by a vanished client.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from channels.webchat.bus import ChatBus

STREAM_SECONDS = 300
KEEPALIVE_SECONDS = 15


def event(name: str, data: Any, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def stream(bus: ChatBus, keys: tuple[str, ...], poll_seconds: float, cursor: int,
           read_lines: Callable[[int], list[dict[str, Any]]],
           read_state: Callable[[], dict[str, Any]]) -> Iterator[str]:
    """Yield new lines after `cursor`, and the state whenever it changes.

    Lines are read after every wake-up and at least every poll_seconds (lines from other
    processes); the state when the bus says it changed, or every poll_seconds (typing that
    expired, changes made by other processes).
    """
    wake = bus.subscribe(*keys)
    started = last_sent = time.monotonic()
    state: dict[str, Any] | None = None
    version, state_read = -1, 0.0
    try:
        yield "retry: 1000\n\n"
        while time.monotonic() - started < STREAM_SECONDS:
            wake.clear()
            now_version = bus.version(keys)
            if now_version != version or time.monotonic() - state_read >= poll_seconds:
                version, state_read = now_version, time.monotonic()
                new_state = read_state()
                if new_state != state:  # first: an agent's page makes the pane for new lines
                    state = new_state
                    last_sent = time.monotonic()
                    yield event("state", state)
            lines = read_lines(cursor)
            for line in lines:
                cursor = max(cursor, int(line["id"]))
                last_sent = time.monotonic()
                yield event("line", line, cursor)
            if state is not None and state.get("status") == "ended" and not lines:
                return
            if time.monotonic() - last_sent > KEEPALIVE_SECONDS:
                last_sent = time.monotonic()
                yield ": keep-alive\n\n"
            wake.wait(poll_seconds)
    finally:
        bus.unsubscribe(wake, *keys)


def last_event_id(header: str | None, query: str | None) -> int:
    for value in (header, query):
        if value and value.strip().isdigit():
            return int(value)
    return 0
