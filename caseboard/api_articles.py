"""What the JSON API shows of the knowledge base: the articles the public sees today.

Read-only, and the same rule as the help pages, search and every channel's answer
(knowledge_base.workflow.live_numbers): an article's newest published version valid today;
drafts, articles in review and archived ones are never listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from knowledge_base import workflow
from knowledge_base.models import KbArticle, KbArticleVersion
from knowledge_base.search import SearchResult
from knowledge_base.service import PublishedArticle, today


def _live(day: Any) -> Any:
    live = workflow.live_numbers(day)
    return select(KbArticle, KbArticleVersion).join(
        live, live.c.article_id == col(KbArticle.id)).join(
        KbArticleVersion, (col(KbArticleVersion.article_id) == col(KbArticle.id))
        & (col(KbArticleVersion.number) == live.c.number))


def list_live(session: Session, language: str | None, department: str | None, page: int,
              page_size: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the articles shown today, by slug then language, and how many there are."""
    query = _live(today())
    if language:
        query = query.where(col(KbArticle.language) == language)
    if department:
        query = query.where(col(KbArticle.department) == department)
    total = session.execute(sa.select(sa.func.count()).select_from(query.subquery())
                            ).scalar_one()
    rows = session.execute(query.order_by(col(KbArticle.slug), col(KbArticle.language))
                           .offset((page - 1) * page_size).limit(page_size)).all()
    return [summary(article, version) for article, version in rows], int(total)


def found_live(session: Session, results: Sequence[SearchResult]) -> list[dict[str, Any]]:
    """Search results as article summaries with their score, best first. A result whose
    article changed since the index was built is shown as it is now, or left out."""
    ids = [r.article_id for r in results]
    rows = {article.id: (article, version) for article, version in session.execute(
        _live(today()).where(col(KbArticle.id).in_(ids))).all()}
    return [{**summary(*rows[r.article_id]), "score": round(r.score, 3)}
            for r in results if r.article_id in rows]


def summary(article: KbArticle, version: KbArticleVersion) -> dict[str, Any]:
    return {"slug": article.slug, "language": article.language, "title": version.title,
            "department": article.department, "services": list(article.services),
            "version": version.number, "short_answer": version.short_answer,
            "published_at": _iso(version.published_at)}


def detail(found: PublishedArticle) -> dict[str, Any]:
    version = found.version
    return {**summary(found.article, version), "body": version.body,
            "key_facts": list(version.key_facts), "questions": list(version.questions),
            "keywords": list(version.keywords), "valid_from": _iso(version.valid_from),
            "valid_until": _iso(version.valid_until), "translations": found.translations}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
