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


class LetterClaim(SQLModel, table=True):
    """Which worker reads an inbox file, so several serve processes (or serve and
    `ingest-letter`) never OCR the same scan twice. Keyed by the file's SHA-256, like the
    letter it becomes.

    'working' rows are leases: released when the worker fails, taken over by another once
    expires_at has passed (the worker died). 'done' rows remember the letter's case, so the
    same scan found again is answered without reading it.
    """

    __tablename__ = "letter_claim"

    sha256: str = Field(primary_key=True, max_length=64)
    owner: str = Field(max_length=120)
    filename: str = ""
    status: str = Field(default="working", max_length=10)  # working / done
    claimed_at: dt.datetime = time_field(False, False)
    expires_at: dt.datetime = time_field(False, False)
    reference: str = Field(default="", max_length=32)
    case_id: int | None = None
