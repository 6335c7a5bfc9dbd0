"""Full-text search over cases: their subjects and the citizens' messages, English and Chinese.

An inverted index in an ordinary table (case_term), the same on SQLite and PostgreSQL, kept
current inside the intake transaction. Words are lower-cased; Chinese text, written without
spaces, is indexed as overlapping pairs of characters, so a query of two or more characters
finds every text that contains it. A query matches a case holding all of its terms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import sqlalchemy as sa
from sqlmodel import Session

from caseboard.board_models import CaseTerm, table_of
from caseboard.db import connection_of
from caseboard.fastsql import dbapi_cursor

MAX_TERM = 40
MAX_TERMS_PER_TEXT = 300  # a pasted novel must not make intake slow
_WORD = re.compile(r"\w+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# Words so common that their posting lists would hold nearly every case.
_COMMON = ("a an and are as at be been but by can do for from has have i if in into is it its"
           " me my no not of on or our so that the their there they this to was we were what"
           " when which who will with you your")
STOPWORDS = frozenset(_COMMON.split(" "))

_terms = table_of(CaseTerm)


def terms(text: str) -> list[str]:
    """The distinct searchable terms of a text, in order of first appearance."""
    found: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        for part in _split_cjk(word):
            if len(part) <= MAX_TERM and part not in STOPWORDS:
                found.setdefault(part, None)
        if len(found) >= MAX_TERMS_PER_TEXT:
            break
    return list(found)[:MAX_TERMS_PER_TEXT]


def _split_cjk(word: str) -> Iterable[str]:
    """Latin runs as words (two letters or more); Chinese runs as pairs of characters."""
    position = 0
    for run in _CJK.finditer(word):
        if run.start() > position and run.start() - position >= 2:
            yield word[position:run.start()]
        chars = run.group()
        if len(chars) == 1:
            yield chars
        yield from (chars[i:i + 2] for i in range(len(chars) - 1))
        position = run.end()
    if len(word) - position >= 2:
        yield word[position:]


def index_texts(session: Session, case_id: int, *texts: str) -> None:
    """Add the terms of these texts to the case (in the caller's transaction)."""
    index_terms(session, case_id, terms("\n".join(texts)))


def index_terms(session: Session, case_id: int, found: list[str]) -> None:
    """Add terms() found beforehand (intake finds them outside its write transaction)."""
    if not found:
        return
    connection = connection_of(session)
    cursor = dbapi_cursor(connection)
    # A follow-up repeats words the case already has: those rows are left alone.
    if connection.dialect.name == "postgresql":  # one statement, one round trip
        cursor.execute("INSERT INTO case_term (term, case_id) SELECT unnest(%s::text[]), %s"
                       " ON CONFLICT DO NOTHING", (found, case_id))
        return
    cursor.executemany("INSERT INTO case_term (term, case_id) VALUES (?, ?)"
                       " ON CONFLICT DO NOTHING", [(term, case_id) for term in found])


def reindex_case(session: Session, case_id: int, *texts: str) -> None:
    """Replace the case's terms (after a merge moved messages, for example)."""
    session.execute(sa.delete(_terms).where(_terms.c.case_id == case_id))
    index_texts(session, case_id, *texts)


def query_terms(query: str) -> list[str]:
    """The terms a query asks for (all must match); empty when nothing is searchable."""
    return terms(query)[:8]
