"""The phone channel's own tables: SMS opt-outs, calls, agents' numbers, MMS media,
call-back tasks.

Imported by migrations 0006, 0013 and 0015, so every migrated database (and the migration
test's metadata) knows them even where the channel itself is not loaded.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from dbtypes import time_field


class SmsOptOut(SQLModel, table=True):
    """A number that sent STOP (or 退订…): no SMS leaves for it until it sends START."""

    __tablename__ = "sms_opt_out"

    number: str = Field(primary_key=True, max_length=64)  # E.164, or whatsapp:+E.164
    opted_out: bool = True
    keyword: str = Field(default="", max_length=32)
    changed_at: dt.datetime = time_field(nullable=False)


class PhoneCall(SQLModel, table=True):
    """One call, from the first ring: its case, language, and where it waits."""

    __tablename__ = "phone_call"
    __table_args__ = (sa.Index("ix_phone_call_waiting", "status", "department_id"),)

    id: int | None = Field(default=None, primary_key=True)
    call_sid: str = Field(unique=True, max_length=64)
    case_id: int = Field(foreign_key="cases.id", index=True)
    from_number: str = Field(max_length=64)
    language: str = Field(default="en", max_length=8)
    # ringing / menu / queued / connecting (to an agent's number) / connected / voicemail /
    # callback / resolved / completed
    status: str = Field(default="ringing", max_length=16)
    department_id: str | None = Field(default=None, max_length=64)
    agent: str = Field(default="", max_length=64)
    created_at: dt.datetime = time_field(nullable=False)
    queued_at: dt.datetime | None = time_field(nullable=True)
    ended_at: dt.datetime | None = time_field(nullable=True)
    updated_at: dt.datetime = time_field(nullable=False)


class PhoneAgent(SQLModel, table=True):
    """An agent's phone settings: the number calls are put through to when their browser is
    not connected (a Voice SDK token still valid until browser_until means it is)."""

    __tablename__ = "phone_agent"

    user_id: int = Field(foreign_key="users.id", primary_key=True)
    number: str = Field(default="", max_length=32)  # E.164; empty: the browser only
    browser_until: dt.datetime | None = time_field(nullable=True)
    updated_at: dt.datetime = time_field(nullable=False)


class PhoneMedia(SQLModel, table=True):
    """One MMS / WhatsApp media file of an inbound message, fetched after the webhook answered.

    pending → stored (an Attachment on the message) or failed (a note on the case)."""

    __tablename__ = "phone_media"
    __table_args__ = (
        sa.UniqueConstraint("message_id", "position", name="uq_phone_media_message_position"),
        sa.Index("ix_phone_media_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id")
    case_id: int = Field(foreign_key="cases.id")
    position: int  # 0-based, as in Twilio's MediaUrl<N>
    url: str = Field(max_length=1000)
    content_type: str = Field(default="", max_length=100)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: dt.datetime = time_field(nullable=False)
    last_error: str = Field(default="", max_length=500)
    created_at: dt.datetime = time_field(nullable=False)


class PhoneCallback(SQLModel, table=True):
    """A call-back an agent owes a caller: left by a voicemail or a call-back request.

    open → taken (by one agent of the department) → done; done tasks leave the board."""

    __tablename__ = "phone_callback"
    __table_args__ = (
        sa.UniqueConstraint("call_id", name="uq_phone_callback_call"),  # one per call
        sa.Index("ix_phone_callback_open", "status", "department_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="phone_call.id")
    case_id: int = Field(foreign_key="cases.id")
    department_id: str = Field(max_length=64)
    number: str = Field(max_length=64)  # E.164, to call back
    kind: str = Field(max_length=16)  # voicemail / callback
    message_id: int | None = Field(default=None, foreign_key="message.id")
    status: str = Field(default="open", max_length=16)
    agent: str = Field(default="", max_length=64)
    created_at: dt.datetime = time_field(nullable=False)
    taken_at: dt.datetime | None = time_field(nullable=True)
    done_at: dt.datetime | None = time_field(nullable=True)
