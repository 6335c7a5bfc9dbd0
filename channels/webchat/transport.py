"""The outbox's web chat transport: a reply or acknowledgement becomes a line in the chat.

The recipient is the chat session id (the citizen's chat identity). A chat that has ended
cannot show anything: that is permanent, the case page shows the failure and the agent
answers on another channel.
"""

from __future__ import annotations

from caseboard.outbox import OutgoingMessage, PermanentSendError
from channels.webchat import phrases
from channels.webchat.models import ChatSession, ChatStatus
from channels.webchat.store import ChatStore


class ChatTransport:
    def __init__(self, store: ChatStore) -> None:
        self.store = store

    def __call__(self, message: OutgoingMessage) -> str | None:
        with self.store.database.write() as session:
            chat = session.get(ChatSession, message.recipient)
            if chat is None:
                raise PermanentSendError(f"no chat session {message.recipient!r}")
            if chat.status == ChatStatus.ENDED:
                raise PermanentSendError("the chat has ended; answer on another channel")
            if message.kind == "acknowledgement":
                text = phrases.of(chat.language).acknowledged.format(
                    reference=message.payload.get("reference", ""))
                line = self.store.system_line(session, chat, text)
            else:
                text = str(message.payload.get("text") or "").strip()
                if not text:
                    raise PermanentSendError(f"outbox item {message.outbox_id} has no text")
                line = self.store.write_line(session, chat, "agent",
                                             str(message.payload.get("agent_name") or ""),
                                             text, f"outbox-{message.outbox_id}")
        self.store.wake(chat, state=False)
        return f"chatline-{line.id}"
