"""Tables and indexes the queue pages need: the search index and indexes on cases.

Kept out of models.py because they serve only the board's read side. The migration 0005 and
caseboard/case_search.py import this module, so the tables are on SQLModel.metadata whenever
the schema is migrated or compared.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from caseboard.models import Case, table_of


class CaseTerm(SQLModel, table=True):
    """One searchable term (a word, or a pair of Chinese characters) of a case.

    The primary key (term, case_id) is the posting list of each term, newest case last, so a
    search reads it backwards and stops after a page of visible matches.
    """

    __tablename__ = "case_term"
    # On SQLite the key is the table: one B-tree per row written, not a table and an index.
    __table_args__ = {"sqlite_with_rowid": False}

    term: str = Field(primary_key=True, max_length=40)
    case_id: int = Field(primary_key=True, foreign_key="cases.id")


_cases = table_of(Case)
# "My cases": open cases held by one agent.
ix_cases_assigned = sa.Index("ix_cases_assigned_status", _cases.c.assigned_user_id,
                             _cases.c.status)
# "All queues": open cases of every department, without scanning closed ones.
ix_cases_status = sa.Index("ix_cases_status", _cases.c.status)
# Live updates: what changed since the last look, across processes.
ix_cases_updated = sa.Index("ix_cases_updated_at", _cases.c.updated_at)
