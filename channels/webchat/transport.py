"""The outbox's web chat transport: a reply or acknowledgement becomes a line in the chat.

The recipient is the chat session id (the citizen's chat identity). A chat that has ended
cannot show anything: that is permanent, the case page shows the failure and the agent
answers on another channel. The one exception is the satisfaction question (kind "survey"),
which is asked at the end of the chat: a chat that ended just now still shows it (survey.py).

An agent's live chat line is an outbox item too (DESIGN.md invariant 3), written with its
Message. deliver_now() sends it straight after that commit, so the chat is not slowed by the
dispatcher's polling; if the process dies in between, the item is still pending and the
dispatcher delivers it a little later, so the citizen finds the line when they reconnect.
Delivering twice writes one line: the line's client id is the item's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from caseboard.models import Message, OutboxItem, table_of, utcnow
from caseboard.outbox import OutgoingMessage, PermanentSendError
from channels.webchat import phrases, survey
from channels.webchat.models import ChatLine, ChatSession, ChatStatus
from channels.webchat.store import ChatStore, LineView

# How long the dispatcher leaves an agent's line to deliver_now() before sending it itself.
IMMEDIATE_GRACE = dt.timedelta(seconds=10)


class ChatTransport:
    def __init__(self, store: ChatStore) -> None:
        self.store = store

    def __call__(self, message: OutgoingMessage) -> str | None:
        """The dispatcher's way: replies from the case page, acknowledgements, and agents'
        lines that deliver_now() never got to."""
        with self.store.database.write() as session:
            line = self._line(session, message.recipient, message.outbox_id, message.kind,
                              message.payload, message.message_id)
        if message.kind == "survey":  # the widget waiting for it may stop listening now
            self.store.wake(self.store.get(message.recipient))
        return f"chatline-{line.id}"

    def deliver_now(self, outbox_id: int) -> LineView:
        """Send a just-committed item at once and mark it sent (in one transaction)."""
        return self.store.services.intake.group.run(
            lambda session: self._deliver_now(session, outbox_id))

    def _deliver_now(self, session: Session, outbox_id: int) -> LineView:
        item = session.get(OutboxItem, outbox_id)
        assert item is not None and item.id is not None
        line = self._line(session, item.recipient, item.id, item.kind, dict(item.payload),
                          item.message_id)
        if item.status == "pending":
            items = table_of(OutboxItem)
            session.connection().execute(sa.update(items).where(items.c.id == item.id).values(
                status="sent", sent_at=utcnow(), attempts=items.c.attempts + 1, last_error=""))
        return line

    def _line(self, session: Session, recipient: str, outbox_id: int, kind: str,
              payload: dict[str, Any], message_id: int | None) -> LineView:
        chat = session.get(ChatSession, recipient)
        if chat is None:
            raise PermanentSendError(f"no chat session {recipient!r}")
        if kind == "survey":
            client_id = survey.SURVEY_PREFIX + str(payload.get("token") or "")
        else:
            client_id = str(payload.get("client_id") or f"outbox-{outbox_id}")
        existing = session.execute(select(ChatLine).where(
            col(ChatLine.session_id) == chat.id, col(ChatLine.client_id) == client_id)
        ).scalar_one_or_none()
        if existing is not None:  # delivered before (by the other way, or a retried send)
            return LineView.of(existing)
        if kind == "survey":
            if not payload.get("token") or not survey.may_show(chat):
                raise PermanentSendError("the chat has ended; ask on another channel")
            return survey.survey_line(self.store, session, chat, payload)
        if chat.status == ChatStatus.ENDED:
            raise PermanentSendError("the chat has ended; answer on another channel")
        if kind == "acknowledgement":
            text = phrases.of(chat.language).acknowledged.format(
                reference=payload.get("reference", ""))
            return self.store.insert_line(session, chat, "system", "", text, client_id)
        text = str(payload.get("text") or "").strip()
        if not text:
            raise PermanentSendError(f"outbox item {outbox_id} has no text")
        line = self.store.insert_line(session, chat, "agent",
                                      str(payload.get("agent_name") or ""), text, client_id,
                                      message_id=message_id)
        if message_id is not None:
            messages = table_of(Message)
            session.connection().execute(sa.update(messages).where(
                messages.c.id == message_id,
                messages.c.delivery_status.not_in(("delivered", "failed")))
                .values(delivery_status="delivered", delivery_error=""))
        return line
