"""Lines and typing from other web processes: one poller per process, not one per stream.

Lines written here reach the streams through the bus right after their commit (store.py).
With several web processes (gunicorn), a line written by another one is found here: every
chat.poll_seconds this thread looks for line ids it has not handed out yet, and for chats
whose typing signal changed. It runs only while some stream is listening.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

import sqlalchemy as sa
from sqlmodel import col, func, select

from caseboard.db import Database
from caseboard.models import utcnow
from channels.webchat.bus import QUEUE_KEY, ChatBus, Line, line_keys
from channels.webchat.models import ChatLine, ChatSession, ChatStatus

log = logging.getLogger(__name__)

# On PostgreSQL two transactions may commit their line ids out of order: look this many ids
# back from the highest one seen, and hand out only the ones not seen yet.
OVERLAP_IDS = 1000


def line_of(row: ChatLine) -> Line:
    assert row.id is not None
    return {"id": row.id, "author": row.author, "name": row.author_name, "text": row.text,
            "at": row.created_at.isoformat(), "client_id": row.client_id,
            "session": row.session_id}


class ChatFeed:
    def __init__(self, database: Database, bus: ChatBus, poll_seconds: float) -> None:
        self.database = database
        self.bus = bus
        self.poll_seconds = poll_seconds
        self._lock = threading.Lock()
        self._seen: set[int] = set()
        self._high: int | None = None
        self._typing_since = utcnow()
        self._thread: threading.Thread | None = None
        bus.on_subscribe = self.ensure_running

    def published(self, ids: list[int]) -> None:
        """Lines this process handed to the bus itself: never again from the poller."""
        with self._lock:
            self._remember(ids)

    def _remember(self, ids: list[int]) -> None:
        """With the lock held."""
        if self._high is None or not ids:
            return  # not running: a poller started later begins after these
        self._seen.update(ids)
        self._high = max(self._high, *ids)
        if len(self._seen) > 8 * OVERLAP_IDS:
            floor = self._high - 2 * OVERLAP_IDS
            self._seen = {i for i in self._seen if i > floor}

    def ensure_running(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            if self._high is None:
                # Before the stream reads what it missed: a line committed later is ours,
                # the ones there now the streams read themselves (not handed out again).
                with self.database.read() as session:
                    self._high = int(session.execute(select(func.max(ChatLine.id)))
                                     .scalar_one() or 0)
                    self._seen = set(session.execute(select(ChatLine.id).where(
                        col(ChatLine.id) > self._high - OVERLAP_IDS)).scalars())
            self._typing_since = utcnow()
            self._thread = threading.Thread(target=self._run, name="chat-feed", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self.poll_seconds)
            with self._lock:
                if not self.bus.has_subscribers():
                    self._thread, self._high = None, None
                    self._seen.clear()
                    return
            try:
                self.poll_once()
            except Exception:  # a database hiccup must not end the feed for every stream
                log.exception("chat feed poll failed")

    def poll_once(self) -> None:
        with self._lock:
            high = self._high or 0
        since, self._typing_since = self._typing_since, utcnow()
        with self.database.read() as session:
            ids = list(session.execute(select(ChatLine.id).where(
                col(ChatLine.id) > high - OVERLAP_IDS)).scalars())
            with self._lock:
                new = [i for i in ids if i is not None and i not in self._seen]
            rows = list(session.execute(
                select(ChatLine, ChatSession.agent_user_id)
                .join(ChatSession, col(ChatSession.id) == col(ChatLine.session_id))
                .where(col(ChatLine.id).in_(new)).order_by(col(ChatLine.id))).all()) \
                if new else []
            typing = list(session.execute(
                select(ChatSession.id, ChatSession.agent_user_id).where(
                    col(ChatSession.status) == ChatStatus.LIVE,
                    sa.or_(col(ChatSession.citizen_typing_at) > since - _SLACK,
                           col(ChatSession.agent_typing_at) > since - _SLACK))).all())
        self._hand_out([(line_of(row), agent) for row, agent in rows])
        for session_id, agent in typing:
            self.bus.notify(*line_keys(session_id, agent))

    def _hand_out(self, lines: list[tuple[Line, int | None]]) -> None:
        if not lines:
            return
        with self._lock:
            self._remember([int(line["id"]) for line, _ in lines])
        for line, agent in lines:  # from elsewhere: the chat's state may have changed with it
            self.bus.notify(*line_keys(str(line["session"]), agent), lines=[line])
        if any(line["author"] == "system" for line, _ in lines):
            self.bus.notify(QUEUE_KEY)


_SLACK = dt.timedelta(seconds=1)  # a typing time written just before the last look
