"""The editorial workflow: draft → in_review → published → archived, with immutable versions.

Editing a published article only changes its working copy (status back to draft); the public
keeps seeing the current version until a supervisor or admin publishes the next one.

What the public sees on a given day is decided here, once (`live_version`, `live_numbers`):
the newest published version whose valid_from/valid_until dates include that day. A newer
version that has expired or is not valid yet leaves the newest older one that is valid in
place; with none, the article is not shown at all. Help pages, search and every channel's
answer use this rule, so they always agree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from knowledge_base.models import ArticleStatus, KbArticle, KbArticleVersion, utcnow

APPROVER_ROLES = ("supervisor", "admin")
EDITABLE = ("title", "body", "short_answer", "key_facts", "questions", "keywords",
            "valid_from", "valid_until")
# action → (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[tuple[ArticleStatus, ...], ArticleStatus]] = {
    "submit": ((ArticleStatus.DRAFT,), ArticleStatus.IN_REVIEW),
    "return": ((ArticleStatus.IN_REVIEW,), ArticleStatus.DRAFT),
    "publish": ((ArticleStatus.IN_REVIEW,), ArticleStatus.PUBLISHED),
    "archive": ((ArticleStatus.DRAFT, ArticleStatus.IN_REVIEW, ArticleStatus.PUBLISHED),
                ArticleStatus.ARCHIVED),
}
NEEDS_APPROVER = ("return", "publish", "archive")


class WorkflowError(ValueError):
    """An action the article's status or the actor's role does not allow."""


def current_version(session: Session, article: KbArticle) -> KbArticleVersion | None:
    if article.current_version is None:
        return None
    return session.exec(select(KbArticleVersion).where(
        col(KbArticleVersion.article_id) == article.id,
        col(KbArticleVersion.number) == article.current_version)).first()


def _valid_on(day: dt.date) -> sa.ColumnElement[bool]:
    valid_from, valid_until = col(KbArticleVersion.valid_from), col(KbArticleVersion.valid_until)
    return sa.and_(valid_from.is_(None) | (valid_from <= day),
                   valid_until.is_(None) | (valid_until >= day))


def live_numbers(day: dt.date) -> sa.Subquery:
    """(article_id, number): each article's version the public sees on `day`.

    Archived articles and articles never published have none.
    """
    number = col(KbArticleVersion.number)
    return (select(col(KbArticleVersion.article_id).label("article_id"),
                   func.max(number).label("number"))
            .join(KbArticle, col(KbArticle.id) == col(KbArticleVersion.article_id))
            .where(col(KbArticle.status) != ArticleStatus.ARCHIVED,
                   col(KbArticle.current_version).is_not(None),
                   number <= col(KbArticle.current_version), _valid_on(day))
            .group_by(col(KbArticleVersion.article_id))
            .subquery("live_version"))


def live_version(session: Session, article: KbArticle,
                 day: dt.date) -> KbArticleVersion | None:
    """The version of `article` the public sees on `day` (see the module's docstring)."""
    live = live_numbers(day)
    return session.exec(select(KbArticleVersion).join(
        live, (live.c.article_id == col(KbArticleVersion.article_id))
        & (live.c.number == col(KbArticleVersion.number))).where(
        col(KbArticleVersion.article_id) == article.id)).first()


def versions(session: Session, article: KbArticle) -> list[KbArticleVersion]:
    return list(session.exec(select(KbArticleVersion).where(
        col(KbArticleVersion.article_id) == article.id).order_by(
        col(KbArticleVersion.number))).all())


def set_working_copy(article: KbArticle, content: dict[str, Any], actor: str) -> None:
    unknown = set(content) - set(EDITABLE)
    if unknown:
        raise WorkflowError(f"cannot edit {', '.join(sorted(unknown))}")
    for key, value in content.items():
        setattr(article, key, list(value) if isinstance(value, list | tuple) else value)
    article.updated_at, article.updated_by = utcnow(), actor


def publish_working_copy(session: Session, article: KbArticle, approved_by: str) -> int:
    """Snapshot the working copy as the next version and make it current."""
    assert article.id is not None, "flush the article before publishing it"
    last = session.exec(select(func.max(KbArticleVersion.number)).where(
        col(KbArticleVersion.article_id) == article.id)).one()
    number = (last or 0) + 1
    session.add(KbArticleVersion(
        article_id=article.id, number=number, title=article.title, body=article.body,
        short_answer=article.short_answer, key_facts=list(article.key_facts),
        questions=list(article.questions), keywords=list(article.keywords),
        valid_from=article.valid_from, valid_until=article.valid_until,
        edited_by=article.updated_by, approved_by=approved_by))
    article.current_version, article.status = number, ArticleStatus.PUBLISHED.value
    article.updated_at = utcnow()
    session.add(article)
    session.flush()
    return number


def edit(session: Session, article: KbArticle, content: dict[str, Any], actor: str) -> None:
    """Change the working copy; a published or in-review article goes back to draft."""
    if article.status == ArticleStatus.ARCHIVED:
        raise WorkflowError(f"{article.slug} ({article.language}) is archived; "
                            "it cannot be edited")
    set_working_copy(article, content, actor)
    article.status = ArticleStatus.DRAFT.value
    session.add(article)


def transition(session: Session, article: KbArticle, action: str, actor: str,
               role: str) -> ArticleStatus:
    """Apply a workflow action as `actor` with `role`; returns the new status."""
    if action not in TRANSITIONS:
        raise WorkflowError(f"unknown action {action!r}; actions: {', '.join(TRANSITIONS)}")
    if action in NEEDS_APPROVER and role not in APPROVER_ROLES:
        raise WorkflowError(f"only a supervisor or admin may {action} an article "
                            f"({actor} is {role or 'no role'})")
    sources, target = TRANSITIONS[action]
    if article.status not in sources:
        allowed = [a for a, (froms, _) in TRANSITIONS.items() if article.status in froms]
        raise WorkflowError(f"cannot {action} {article.slug} ({article.language}): it is "
                            f"{article.status}; allowed: {', '.join(allowed) or 'nothing'}")
    if action == "publish":
        publish_working_copy(session, article, approved_by=actor)
    else:
        article.status = target.value
        article.updated_at, article.updated_by = utcnow(), actor
        session.add(article)
    return target
