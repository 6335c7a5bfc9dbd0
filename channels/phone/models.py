"""The phone channel's own tables: SMS opt-outs and the state of each call.

Imported by migration 0006, so every migrated database (and the migration test's metadata)
knows them even where the channel itself is not loaded.
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
    # ringing / menu / queued / connected / voicemail / callback / resolved / completed
    status: str = Field(default="ringing", max_length=16)
    department_id: str | None = Field(default=None, max_length=64)
    agent: str = Field(default="", max_length=64)
    created_at: dt.datetime = time_field(nullable=False)
    queued_at: dt.datetime | None = time_field(nullable=True)
    ended_at: dt.datetime | None = time_field(nullable=True)
    updated_at: dt.datetime = time_field(nullable=False)
