"""Claims on inbox files in the database: one worker reads a scan, however many watch.

Several `serve` processes (or serve and `ingest-letter`) may see the same file. Before the
OCR a worker takes the scan's claim (keyed by its SHA-256): a new row on SQLite and
PostgreSQL alike (the primary key makes the insert atomic), or, when the row exists, the
lease of a worker that died, locked with SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL
(SQLite's BEGIN IMMEDIATE already lets one writer at a time). The claim is released when
reading fails, and kept as 'done' with the case reference once the letter is committed.
"""

from __future__ import annotations

import datetime as dt
import enum
import os
import socket
import threading
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select

from caseboard.db import Database
from channels.letters.models import LetterClaim
from dbtypes import utcnow

# Longer than the slowest letter takes (max_pages pages at several seconds each on a busy
# machine): a live worker's claim never expires under it; a dead worker's file waits this long.
LEASE_SECONDS = 900.0
_PROCESS = f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:6]}"


class ClaimState(enum.Enum):
    TAKEN = "taken"  # this worker reads the file
    BUSY = "busy"  # another worker is reading it now
    DONE = "done"  # already a letter: reference says which case


@dataclass(frozen=True)
class Claim:
    state: ClaimState
    reference: str = ""
    case_id: int | None = None


def worker_name() -> str:
    """This process and thread: who holds a claim (also shown when debugging a stuck one)."""
    return f"{_PROCESS}/{threading.current_thread().name}"[:120]


def take(database: Database, sha256: str, filename: str, owner: str,
         now: dt.datetime | None = None, lease: float = LEASE_SECONDS) -> Claim:
    now = now or utcnow()
    expires = now + dt.timedelta(seconds=lease)
    values = {"sha256": sha256, "owner": owner, "filename": filename[:200],
              "status": "working", "claimed_at": now, "expires_at": expires,
              "reference": "", "case_id": None}
    dialect = postgresql if not database.is_sqlite else sqlite
    with database.write() as session:
        inserted = session.execute(dialect.insert(LetterClaim).values(**values)
                                   .on_conflict_do_nothing(index_elements=["sha256"])
                                   .returning(col(LetterClaim.sha256))).scalar_one_or_none()
        if inserted is not None:
            return Claim(ClaimState.TAKEN)
        query = select(LetterClaim).where(col(LetterClaim.sha256) == sha256)
        if not database.is_sqlite:
            # Another worker deciding about the same stale claim right now: leave it to them.
            query = query.with_for_update(skip_locked=True)
        row = session.execute(query).scalar_one_or_none()
        if row is None:
            return Claim(ClaimState.BUSY)
        if row.status == "done":
            return Claim(ClaimState.DONE, row.reference, row.case_id)
        if row.expires_at > now:
            return Claim(ClaimState.BUSY)
        row.owner, row.filename, row.claimed_at, row.expires_at = (
            owner, values["filename"], now, expires)
        return Claim(ClaimState.TAKEN)


def release(database: Database, sha256: str, owner: str) -> None:
    """Reading failed (or the file went to quarantine): let the next attempt take it."""
    with database.write() as session:
        session.execute(sa.delete(LetterClaim).where(
            col(LetterClaim.sha256) == sha256, col(LetterClaim.owner) == owner,
            col(LetterClaim.status) == "working"))


def finish(database: Database, sha256: str, reference: str, case_id: int | None) -> None:
    """The letter is committed: the claim now remembers its case (whoever holds it, since
    a slow worker whose lease was taken over wrote the same letter, at most a duplicate)."""
    with database.write() as session:
        session.execute(sa.update(LetterClaim).where(col(LetterClaim.sha256) == sha256)
                        .values(status="done", reference=reference, case_id=case_id))
