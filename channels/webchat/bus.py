"""Wake-ups for chat streams in this process: a write tells the streams waiting on its keys.

Streams still look in the database every chat.poll_seconds, so lines written by another web
process arrive too (a little later); within one process they arrive at once.
"""

from __future__ import annotations

import threading


class ChatBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, set[threading.Event]] = {}
        # Bumped when a chat's state (status, typing, queue) changes, not for a new line:
        # streams read the state again only then (or every poll), lines at every wake-up.
        self._versions: dict[str, int] = {}

    def subscribe(self, *keys: str) -> threading.Event:
        event = threading.Event()
        with self._lock:
            for key in keys:
                self._events.setdefault(key, set()).add(event)
        return event

    def unsubscribe(self, event: threading.Event, *keys: str) -> None:
        with self._lock:
            for key in keys:
                waiting = self._events.get(key)
                if waiting is not None:
                    waiting.discard(event)
                    if not waiting:
                        del self._events[key]

    def version(self, keys: tuple[str, ...]) -> int:
        with self._lock:
            return sum(self._versions.get(key, 0) for key in keys)

    def notify(self, *keys: str, state: bool = True) -> None:
        with self._lock:
            if state:
                for key in keys:
                    self._versions[key] = self._versions.get(key, 0) + 1
            events = [e for key in keys for e in self._events.get(key, ())]
        for event in events:
            event.set()


def session_key(session_id: str) -> str:
    return f"session:{session_id}"


def agent_key(user_id: int) -> str:
    return f"agent:{user_id}"


QUEUE_KEY = "queue"  # waiting chats changed: every agent page looks again
