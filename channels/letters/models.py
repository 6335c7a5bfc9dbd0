"""The letters channel's own table: the print queue of reply letters waiting to be posted."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, SQLModel

from dbtypes import time_field


class LetterPrintJob(SQLModel, table=True):
    """One rendered letter (stored by hash) waiting to be printed and posted.

    outbox_id is unique: a dispatcher that retries a send never queues the same letter twice.
    """

    __tablename__ = "letter_print_job"

    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(unique=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    reference: str = Field(max_length=32)
    recipient_name: str = ""
    recipient_address: str = ""
    kind: str = Field(default="reply", max_length=20)
    language: str = Field(default="en", max_length=8)
    pdf_sha256: str = Field(max_length=64)
    pages: int = 1
    status: str = Field(default="queued", max_length=10, index=True)  # queued / posted
    created_at: dt.datetime = time_field(False, False)
    posted_at: dt.datetime | None = time_field(True, False)
    posted_by: str = ""
