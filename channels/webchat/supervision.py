"""What the case board asks of the web chat: chats waiting for an agent right now, and
whether a case's chat can still ask the citizen its satisfaction question.

Registered in init_channel (the case board does not import channels). A chat in self-service
is not waiting for a person, and an out-of-hours message chat waits for a reply by email or
phone, not for an agent to join: only queued chats count.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, func, select

from channels.webchat.models import ChatSession, ChatStatus
from channels.webchat.survey import can_ask_in_chat


def chats_waiting(session: Session) -> dict[str, tuple[int, dt.datetime | None]]:
    """department → (chats queued for an agent now, when the longest-waiting one queued)."""
    rows = session.execute(  # ix_chat_session_status_queued (status, queued_at)
        select(ChatSession.department_id, func.count(), func.min(ChatSession.queued_at))
        .where(col(ChatSession.status) == ChatStatus.QUEUED)
        .group_by(col(ChatSession.department_id)))
    return {department or "": (int(count), first) for department, count, first in rows}


def citizen_in_chat(session: Session, chat_session_id: str) -> bool:
    """True while an agent and the citizen are in the chat, and for a short while after its
    end (the widget waits for the question then: survey.py); a chat that ended longer ago, or
    a queued or message chat, may have lost its citizen."""
    return can_ask_in_chat(session, chat_session_id)
