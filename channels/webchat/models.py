"""The web chat's own tables: one row per chat session and one per chat line.

The case keeps the lasting record (Message rows, the transcript); these tables carry the live
conversation: who holds it, typing, queue order, and the lines both browsers read back after a
reload or a dropped connection (the line id is the stream's cursor).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from dbtypes import time_field


class ChatStatus:
    SELF_SERVICE = "self_service"  # the citizen reads suggested articles
    QUEUED = "queued"  # handed over, waiting for an agent
    LIVE = "live"  # an agent holds the chat
    MESSAGE = "message"  # nobody available: a message case, reply by email or phone
    ENDED = "ended"


OPEN_STATUSES = (ChatStatus.SELF_SERVICE, ChatStatus.QUEUED, ChatStatus.LIVE,
                 ChatStatus.MESSAGE)


class ChatSession(SQLModel, table=True):
    __tablename__ = "chat_session"
    __table_args__ = (sa.Index("ix_chat_session_status_queued", "status", "queued_at"),)

    id: str = Field(primary_key=True, max_length=40)
    status: str = Field(default=ChatStatus.SELF_SERVICE, max_length=16)
    language: str = Field(default="en", max_length=8)
    display_name: str = Field(default="", max_length=80)
    origin: str = Field(default="", max_length=200)
    address: str = Field(default="", max_length=64)
    question: str = ""
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    department_id: str = Field(default="", max_length=40)
    agent_user_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    contact_email: str = Field(default="", max_length=320)
    contact_phone: str = Field(default="", max_length=40)
    ended_reason: str = Field(default="", max_length=40)
    created_at: dt.datetime = time_field(False)
    queued_at: dt.datetime | None = time_field(True)
    taken_at: dt.datetime | None = time_field(True)
    ended_at: dt.datetime | None = time_field(True)
    citizen_typing_at: dt.datetime | None = time_field(True)
    agent_typing_at: dt.datetime | None = time_field(True)


class ChatLine(SQLModel, table=True):
    """One line of a chat, as both sides see it. (session, client id) makes a retried send
    harmless; the address and time serve the per-minute limits."""

    __tablename__ = "chat_line"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "client_id", name="uq_chat_line_client_id"),
        sa.Index("ix_chat_line_address_at", "address", "created_at"),
        sa.Index("ix_chat_line_session_id_id", "session_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(foreign_key="chat_session.id", max_length=40)
    client_id: str = Field(max_length=64)
    author: str = Field(max_length=8)  # citizen / agent / system
    author_name: str = Field(default="", max_length=80)
    text: str = ""
    address: str = Field(default="", max_length=64)
    message_id: int | None = Field(default=None, foreign_key="message.id")
    created_at: dt.datetime = time_field(False)
