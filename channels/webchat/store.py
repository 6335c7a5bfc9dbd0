"""Chat lines and sessions in the database: starting, posting, limits, reading back.

A citizen's line is written with its Message on the case in one transaction (shared with
other writers through intake's group commit), so a line the citizen sees ticked is on the
case. Refusals (too long, too many a minute) write nothing.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import event, orm
from sqlmodel import Session, col, func, select

from caseboard.contacts import CONTROL_CHARACTERS
from caseboard.db import insert_returning_id
from caseboard.models import Message, table_of, utcnow
from caseboard.services import Services
from channels.webchat import hot_path, phrases
from channels.webchat.bus import QUEUE_KEY, ChatBus, Line, agent_key, line_keys, session_key
from channels.webchat.models import ChatLine, ChatSession, ChatStatus

TYPING_SECONDS = 5  # a typing signal older than this no longer shows
MAX_NAME_CHARS = 80
MAX_CLIENT_ID = 64
# No chat line's transaction stays open longer than this between taking its id and committing
# (they are short writes): a reconnecting stream looks this far back for lines committed late.
RESUME_OVERLAP = dt.timedelta(seconds=30)


class ChatError(Exception):
    """A refused request: `status` is the HTTP status, the message is shown to the user.

    A refusal the citizen can see names its words in phrases.py (`ChatError.citizen`), so the
    widget shows it in the chat's language; `message` is the English text (the agents' side)."""

    def __init__(self, status: int, message: str, *, phrase: str = "",
                 values: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.phrase = phrase
        self.values = values or {}

    @classmethod
    def citizen(cls, status: int, phrase: str, **values: object) -> ChatError:
        assert phrase in phrases.NAMES, phrase
        return cls(status, phrases.say("en", phrase, **values), phrase=phrase, values=values)

    def in_language(self, language: str) -> str:
        """The message in the citizen's language. An agents' refusal that reaches a citizen
        (it should not) says only that the request was refused, in their language."""
        if self.phrase:
            return phrases.say(language, self.phrase, **self.values)
        return self.message if language == "en" else phrases.say(language, "refused",
                                                                  code=self.status)


@dataclass(frozen=True)
class LineView:
    id: int
    author: str
    name: str
    text: str
    at: str
    client_id: str

    @classmethod
    def of(cls, line: ChatLine) -> LineView:
        assert line.id is not None
        return cls(line.id, line.author, line.author_name, line.text,
                   line.created_at.isoformat(), line.client_id)

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "author": self.author, "name": self.name, "text": self.text,
                "at": self.at, "client_id": self.client_id}


# A surrogate left alone in a str (JSON may carry "\\ud800"): no database can store it.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: object) -> str:
    """What the chat stores of a person's text: without control characters, and a lone
    surrogate as U+FFFD."""
    return _LONE_SURROGATE.sub("\ufffd", CONTROL_CHARACTERS.sub("", str(value or "")))


def new_session_id() -> str:
    return "chat-" + secrets.token_urlsafe(18)


def clean_client_id(value: object) -> str:
    text = str(value or "").strip()
    if not text:
        return secrets.token_hex(12)
    if len(text) > MAX_CLIENT_ID or not all(c.isalnum() or c in "-_" for c in text):
        raise ChatError.citizen(400, "bad_client_id")
    return text


# Lines written in a transaction go to the streams once it has committed (never before: a
# line a stream showed is on the case), whichever code wrote them.
_TO_PUBLISH = "webchat_lines_to_publish"


@event.listens_for(orm.Session, "after_commit")
def _publish_committed(session: orm.Session) -> None:
    waiting = session.info.pop(_TO_PUBLISH, None)
    for store, line, keys in waiting or ():
        store.publish(line, keys)


@event.listens_for(orm.Session, "after_rollback")
def _forget_rolled_back(session: orm.Session) -> None:
    session.info.pop(_TO_PUBLISH, None)


class ChatStore:
    """The chat's writes and reads; `bus` hands committed lines to the streams."""

    def __init__(self, services: Services, bus: ChatBus,
                 published: Callable[[list[int]], None] | None = None) -> None:
        self.services = services
        self.database = services.database
        self.config = services.config
        self.bus = bus
        self.published = published  # tells feed.py's poller what it need not look for

    def publish(self, line: Line, keys: tuple[str, ...]) -> None:
        self.bus.notify(*keys, state=False, lines=[line])
        if self.published is not None:
            self.published([int(line["id"])])

    # ------------------------------------------------------------------ sessions

    def start(self, language: str, name: str, origin: str, address: str) -> ChatSession:
        chat = ChatSession(id=new_session_id(), status=ChatStatus.SELF_SERVICE,
                           language=language if language in ("en", "zh") else "en",
                           display_name=" ".join(clean_text(name).split())[:MAX_NAME_CHARS],
                           origin=clean_text(origin)[:200], address=address[:64],
                           created_at=utcnow())
        with self.database.write() as session:
            session.add(chat)
        return chat

    def get(self, session_id: str) -> ChatSession:
        with self.database.read() as session:
            chat = session.get(ChatSession, session_id)
        if chat is None:
            raise ChatError.citizen(404, "no_chat")
        return chat

    def lines(self, session_ids: list[str], after: int = 0, limit: int = 500) -> list[ChatLine]:
        if not session_ids:
            return []
        with self.database.read() as session:
            return list(session.execute(
                select(ChatLine).where(col(ChatLine.session_id).in_(session_ids),
                                       col(ChatLine.id) > after)
                .order_by(col(ChatLine.id)).limit(limit)).scalars())

    def resume_lines(self, session_ids: list[str], after: int,
                     have: frozenset[int] = frozenset(), limit: int = 500) -> list[ChatLine]:
        """What a reconnecting stream missed after line `after`. On PostgreSQL two transactions
        can commit their line ids out of order: a line numbered below the cursor may have
        committed after the browser saw the cursor's line. So the lines written up to
        RESUME_OVERLAP before the cursor's line come too, except those the browser says it
        has (`have`: the pages send their last ids when they reconnect)."""
        if not session_ids:
            return []
        with self.database.read() as session:
            newer: sa.ColumnElement[bool] = col(ChatLine.id) > after
            at = session.execute(select(ChatLine.created_at).where(
                col(ChatLine.id) == after)).scalar_one_or_none() if after > 0 else None
            if at is not None:
                newer = sa.or_(newer, col(ChatLine.created_at) >= at - RESUME_OVERLAP)
            return [line for line in session.execute(
                select(ChatLine).where(col(ChatLine.session_id).in_(session_ids), newer)
                .order_by(col(ChatLine.id)).limit(limit)).scalars() if line.id not in have]

    def check_text(self, text: object) -> str:
        value = clean_text(text)
        limit = self.config["chat.max_message_chars"]
        if len(value) > limit:
            raise ChatError.citizen(413, "too_long", count=len(value), limit=limit)
        if not value.strip():
            raise ChatError.citizen(400, "empty")
        return value.strip()

    # ------------------------------------------------------------------ lines

    def post_citizen(self, session_id: str, client_id: str, text: str,
                     address: str) -> LineView:
        """Store a citizen's line on the chat and on its case; refusals store nothing."""
        text = self.check_text(text)
        chat = self.get(session_id)
        if chat.status in (ChatStatus.SELF_SERVICE, ChatStatus.ENDED) or chat.case_id is None:
            raise ChatError.citizen(409, "ask_person_first" if chat.status != ChatStatus.ENDED
                                    else "chat_ended")
        outcome = self.services.intake.group.run(
            lambda s: self._write_citizen_line(s, chat, client_id, text, address))
        if isinstance(outcome, ChatError):
            raise outcome
        return outcome

    def _write_citizen_line(self, session: Session, chat: ChatSession, client_id: str,
                            text: str, address: str) -> LineView | ChatError:
        existing = hot_path.same_client_id(session, chat.id, client_id)
        if existing is not None:  # a retried send after a dropped connection
            line_id, author, name, said, at, cid = existing
            return LineView(line_id, author, name, said, at.isoformat(), cid)
        refusal = self._over_limit(session, chat.id, address)
        if refusal is not None:
            return refusal
        assert chat.case_id is not None
        return self.write_line(session, chat, "citizen", chat.display_name, text, client_id,
                               address=address, direction="in")

    def _over_limit(self, session: Session, session_id: str, address: str) -> ChatError | None:
        since = utcnow() - dt.timedelta(minutes=1)
        limit = self.config["chat.messages_per_minute"]
        if hot_path.lines_since(session, since, limit, session_id=session_id) >= limit:
            return ChatError.citizen(429, "too_many", limit=limit)
        limit = self.config["chat.messages_per_minute_per_address"]
        if address and hot_path.lines_since(session, since, limit, address=address) >= limit:
            return ChatError.citizen(429, "too_many_from_network", limit=limit)
        return None

    def write_line(self, session: Session, chat: ChatSession, author: str, name: str,
                   text: str, client_id: str, *, address: str = "", direction: str = "",
                   user_id: int | None = None) -> LineView:
        """One chat line (and, with a direction, its Message on the case)."""
        now = utcnow()
        message_id = None
        if direction and chat.case_id is not None:
            message_id = self.insert_message(
                session, chat, direction, name, text, client_id, user_id=user_id,
                status="received" if direction == "in" else "delivered", now=now)
        return self.insert_line(session, chat, author, name, text, client_id,
                                address=address, message_id=message_id, now=now)

    def insert_message(self, session: Session, chat: ChatSession, direction: str, name: str,
                       text: str, client_id: str, *, status: str, user_id: int | None = None,
                       now: dt.datetime | None = None) -> int:
        """A chat line's lasting record: its Message on the chat's case."""
        assert chat.case_id is not None
        now = now or utcnow()
        message_id = insert_returning_id(session, Message, dict(
            case_id=chat.case_id, direction=direction, channel="webchat",
            external_id=f"{chat.id}:{client_id}", thread_id=None,
            sender=chat.id if direction == "in" else name, subject="", text=text,
            language=chat.language, delivery_status=status, delivery_error="",
            author_user_id=user_id, article_slug=None, article_version=None,
            details={"chat_session": chat.id}, created_at=now))
        hot_path.touch_case(session, chat.case_id, now)
        return message_id

    def insert_line(self, session: Session, chat: ChatSession, author: str, name: str,
                    text: str, client_id: str, *, address: str = "",
                    message_id: int | None = None, now: dt.datetime | None = None) -> LineView:
        """The chat line alone; the streams get it when the transaction commits."""
        now = now or utcnow()
        line_id = insert_returning_id(session, ChatLine, dict(
            session_id=chat.id, client_id=client_id, author=author, author_name=name[:80],
            text=text, address=address, message_id=message_id, created_at=now))
        view = LineView(line_id, author, name[:80], text, now.isoformat(), client_id)
        session.info.setdefault(_TO_PUBLISH, []).append(
            (self, {**view.as_dict(), "session": chat.id}, line_keys(chat.id, chat.agent_user_id)))
        return view

    def system_line(self, session: Session, chat: ChatSession, text: str) -> LineView:
        return self.write_line(session, chat, "system", "", text, secrets.token_hex(12))

    def wake(self, chat: ChatSession, queue: bool = False) -> None:
        """The chat's state changed: its streams (and, with queue, every agent page and
        queued citizen) read it again. New lines need no wake-up: they are published."""
        keys = [session_key(chat.id)]
        if chat.agent_user_id is not None:
            keys.append(agent_key(chat.agent_user_id))
        if queue:
            keys.append(QUEUE_KEY)
        self.bus.notify(*keys)

    # ------------------------------------------------------------------ typing, queue

    def typing(self, session_id: str, side: str) -> None:
        column = "citizen_typing_at" if side == "citizen" else "agent_typing_at"
        table = table_of(ChatSession)
        with self.database.write() as session:
            session.connection().execute(sa.update(table).where(table.c.id == session_id)
                                         .values({column: utcnow()}))
        self.wake(self.get(session_id))

    def queue_position(self, chat: ChatSession) -> int | None:
        if chat.status != ChatStatus.QUEUED or chat.queued_at is None:
            return None
        with self.database.read() as session:
            ahead = session.execute(select(func.count()).select_from(ChatSession).where(
                col(ChatSession.status) == ChatStatus.QUEUED,
                col(ChatSession.department_id) == chat.department_id,
                col(ChatSession.queued_at) < chat.queued_at)).scalar_one()
        return int(ahead) + 1


def is_typing(moment: dt.datetime | None) -> bool:
    return typing_seconds_left(moment) > 0


def typing_seconds_left(moment: dt.datetime | None) -> float:
    """How much longer a typing signal given at `moment` shows: the pages hide the sign
    themselves when this runs out, whether or not another state reaches them (the stream of an
    ended chat closes; a connection drops)."""
    if moment is None:
        return 0.0
    left = TYPING_SECONDS - (utcnow() - moment).total_seconds()
    return round(left, 1) if left >= 0.1 else 0.0
