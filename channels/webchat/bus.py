"""Wake-ups for chat streams in this process, carrying the new lines themselves.

A committed line is handed to every stream waiting on its keys (its chat, its agent), so a
stream sends it without reading the database: at 200 chats a message a second, one read per
line per stream was most of the server's work. Lines written by another web process arrive
through feed.py's one poller per process, a little later.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

Line = dict[str, Any]  # LineView.as_dict() plus "session"
MAX_WAITING_LINES = 2000  # a stream further behind than this reads the database instead


class Subscription:
    """One stream's doorbell and letterbox."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = keys
        self.event = threading.Event()
        self.lines: deque[Line] = deque()
        self.overflowed = False  # lines were dropped: the stream reads the database again

    def take_lines(self) -> list[Line]:
        taken: list[Line] = []
        while self.lines:  # popleft is atomic: no lock needed against the writers
            taken.append(self.lines.popleft())
        return taken


class ChatBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: dict[str, set[Subscription]] = {}
        # Bumped when a chat's state (status, typing, queue) changes, not for a new line:
        # streams read the state again only then.
        self._versions: dict[str, int] = {}
        self.on_subscribe: Callable[[], None] | None = None  # starts feed.py's poller

    def subscribe(self, *keys: str) -> Subscription:
        subscription = Subscription(keys)
        with self._lock:
            for key in keys:
                self._subscriptions.setdefault(key, set()).add(subscription)
        if self.on_subscribe is not None:
            self.on_subscribe()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            for key in subscription.keys:
                waiting = self._subscriptions.get(key)
                if waiting is not None:
                    waiting.discard(subscription)
                    if not waiting:
                        del self._subscriptions[key]

    def has_subscribers(self) -> bool:
        with self._lock:
            return bool(self._subscriptions)

    def version(self, keys: Iterable[str]) -> int:
        with self._lock:
            return sum(self._versions.get(key, 0) for key in keys)

    def notify(self, *keys: str, state: bool = True, lines: Iterable[Line] = ()) -> None:
        """Wake the streams on `keys`, handing them `lines`; state=True: the chat's state
        changed too. The version is bumped before the lines are handed over, so a stream that
        finds a line also finds the new version."""
        lines = list(lines)
        with self._lock:
            if state:
                for key in keys:
                    self._versions[key] = self._versions.get(key, 0) + 1
            targets = {s for key in keys for s in self._subscriptions.get(key, ())}
            for subscription in targets:
                if len(subscription.lines) + len(lines) > MAX_WAITING_LINES:
                    subscription.overflowed = True
                    subscription.lines.clear()
                else:
                    subscription.lines.extend(lines)
        for subscription in targets:
            subscription.event.set()


def session_key(session_id: str) -> str:
    return f"session:{session_id}"


def agent_key(user_id: int) -> str:
    return f"agent:{user_id}"


def line_keys(session_id: str, agent_user_id: int | None) -> tuple[str, ...]:
    """Who hears of a new line: the chat's streams and its agent's page."""
    if agent_user_id is None:
        return (session_key(session_id),)
    return session_key(session_id), agent_key(agent_user_id)


QUEUE_KEY = "queue"  # waiting chats changed: every agent page (and queued citizen) looks again
