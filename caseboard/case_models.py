"""Tables of the case page: who is looking at a case, related cases, merges, form tokens.

Kept out of models.py because only the case page uses them; migration 0004 imports this
module so the tables are on SQLModel.metadata whenever the schema is migrated or compared.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field, SQLModel

from dbtypes import time_field


class CaseViewer(SQLModel, table=True):
    """An agent has this case open; the page refreshes seen_at while it stays open."""

    __tablename__ = "case_viewer"

    case_id: int = Field(foreign_key="cases.id", primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True)
    seen_at: dt.datetime = time_field(False, False)


class CaseLink(SQLModel, table=True):
    """Two related cases (stored once, smaller id first)."""

    __tablename__ = "case_link"
    __table_args__ = (sa.UniqueConstraint("case_id", "other_case_id", name="uq_case_link_pair"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    other_case_id: int = Field(foreign_key="cases.id", index=True)
    created_by: str = Field(max_length=64)
    created_at: dt.datetime = time_field(False, False)


class CaseMerge(SQLModel, table=True):
    """A duplicate case merged into a survivor: which messages moved, so it can be undone."""

    __tablename__ = "case_merge"

    id: int | None = Field(default=None, primary_key=True)
    source_case_id: int = Field(foreign_key="cases.id", index=True)
    target_case_id: int = Field(foreign_key="cases.id", index=True)
    message_ids: list[int] = Field(default_factory=list, sa_type=JSON)
    source_state: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    merged_by: str = Field(max_length=64)
    merged_at: dt.datetime = time_field(False, False)
    undone_by: str | None = Field(default=None, max_length=64)
    undone_at: dt.datetime | None = time_field(True, False)


class FormSubmission(SQLModel, table=True):
    """A form's one-time token: the same reply or note submitted twice is written once."""

    __tablename__ = "form_submission"

    token: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id")
    case_id: int | None = Field(default=None, foreign_key="cases.id")
    kind: str = Field(max_length=16)
    message_id: int | None = Field(default=None, foreign_key="message.id")
    created_at: dt.datetime = time_field(False, False)
