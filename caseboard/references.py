"""Case references (CC-2026-000123): allocation without collisions, and finding them in text."""

from __future__ import annotations

import re

from sqlmodel import Session

from caseboard.db import connection_of
from caseboard.fastsql import FastQuery


def format_reference(prefix: str, year: int, number: int) -> str:
    return f"{prefix}-{year:04d}-{number:06d}"


def reference_pattern(prefix: str) -> re.Pattern[str]:
    # Tolerates what citizens, speech recognition and OCR do to a reference: lower case,
    # spaces or dots instead of dashes, the letter O for a zero.
    return re.compile(
        rf"(?<![A-Za-z0-9]){re.escape(prefix)}\s*[-–.\s]?\s*([0-9]{{4}})\s*[-–.\s]?\s*([0-9Oo]{{6}})"
        r"(?![0-9])",
        re.IGNORECASE,
    )


def find_references(text: str, prefix: str) -> list[str]:
    """Every well-formed reference in the text, normalised, in order of appearance."""
    found = []
    for year, number in reference_pattern(prefix).findall(text or ""):
        reference = f"{prefix}-{year}-{number.replace('O', '0').replace('o', '0')}"
        if reference not in found:
            found.append(reference)
    return found


def next_reference(session: Session, prefix: str, year: int) -> str:
    """Take the next number for `year` in one statement. On PostgreSQL the counter row stays
    locked by the upsert until commit, so concurrent intakes queue instead of sharing a number;
    on SQLite the write transaction (BEGIN IMMEDIATE) already serialises them."""
    number = _NEXT_NUMBER.execute(connection_of(session), {"year": year}).fetchone()[0]
    return format_reference(prefix, year, number)


# The same upsert on SQLite and PostgreSQL; on the driver's cursor (caseboard/fastsql.py).
_NEXT_NUMBER = FastQuery(
    "INSERT INTO reference_counter (year, last_number) VALUES (:year, 1)"
    " ON CONFLICT (year) DO UPDATE SET last_number = reference_counter.last_number + 1"
    " RETURNING last_number")
