"""Knowledge-base tables (all named kb_*): articles, their immutable versions, gaps, feedback.

An article row is the identity (slug + language) plus its *working copy*, the text editors
change. Publishing copies the working copy into a new kb_article_version row, which never
changes afterwards; replies and help pages use the article's current published version.
Departments and services are plain string ids: the knowledge base does not depend on the
case board's tables.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field, SQLModel

from dbtypes import UTCDateTime, time_field, utcnow

# The migrations name the type by this alias.
KbUTCDateTime = UTCDateTime


def _time(nullable: bool = False) -> Any:
    return time_field(nullable)


class ArticleStatus(enum.StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class KbArticle(SQLModel, table=True):
    __tablename__ = "kb_article"
    __table_args__ = (sa.UniqueConstraint("slug", "language", name="uq_kb_article_slug_language"),)

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=120)
    language: str = Field(max_length=8)
    department: str = Field(max_length=40, index=True)
    services: list[str] = Field(default_factory=list, sa_type=JSON)
    translation_of_id: int | None = Field(default=None, foreign_key="kb_article.id")
    status: str = Field(default=ArticleStatus.DRAFT.value, max_length=16)
    # The number of the version the public sees; None until first published.
    current_version: int | None = None
    # The working copy (what an editor changes; published as the next version).
    title: str = Field(max_length=200)
    body: str = ""
    short_answer: str = Field(default="", max_length=320)
    key_facts: list[str] = Field(default_factory=list, sa_type=JSON)
    questions: list[str] = Field(default_factory=list, sa_type=JSON)
    keywords: list[str] = Field(default_factory=list, sa_type=JSON)
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    created_at: dt.datetime = _time()
    # Touched by every change; the search index compares it to know when to rebuild.
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=KbUTCDateTime,
                                    nullable=False, index=True)
    updated_by: str = Field(default="", max_length=64)


class KbArticleVersion(SQLModel, table=True):
    """One published version of an article. Rows are inserted, never updated."""

    __tablename__ = "kb_article_version"
    __table_args__ = (sa.UniqueConstraint("article_id", "number",
                                          name="uq_kb_article_version_number"),)

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="kb_article.id", index=True)
    number: int
    title: str = Field(max_length=200)
    body: str
    short_answer: str = Field(max_length=320)
    key_facts: list[str] = Field(default_factory=list, sa_type=JSON)
    questions: list[str] = Field(default_factory=list, sa_type=JSON)
    keywords: list[str] = Field(default_factory=list, sa_type=JSON)
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    published_at: dt.datetime = _time()
    edited_by: str = Field(default="", max_length=64)
    approved_by: str = Field(max_length=64)


class KbGap(SQLModel, table=True):
    """A question the knowledge base had no good answer for, counted each time it is asked."""

    __tablename__ = "kb_gap"
    __table_args__ = (sa.UniqueConstraint("question", "language", name="uq_kb_gap_question"),)

    id: int | None = Field(default=None, primary_key=True)
    question: str = Field(max_length=300)
    language: str = Field(max_length=8)
    count: int = 1
    first_seen: dt.datetime = _time()
    last_seen: dt.datetime = _time()


class KbFeedback(SQLModel, table=True):
    """'Did this help?' answers from the help pages, counted per article."""

    __tablename__ = "kb_feedback"

    article_id: int = Field(foreign_key="kb_article.id", primary_key=True)
    helpful: int = 0
    not_helpful: int = 0
