"""KnowledgeBase: the one object the app, the CLI and the case board use.

It holds the search index of the published articles, shared by every request of a process.
Each search first asks the database for the newest article change (one indexed MAX query), so
a change made by another process or web node is searched from the next request on.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, func, select

from knowledge_base import articles, workflow
from knowledge_base.articles import ArticleInput, Catalogue, ImportFailed, KbError
from knowledge_base.models import (
    KbArticle,
    KbArticleVersion,
    KbFeedback,
    KbGap,
    utcnow,
)
from knowledge_base.search import MIN_SCORE, Document, SearchIndex, SearchResult, document_fields
from knowledge_base.text import has_han, normalise

MAX_QUESTION_CHARS = 2000
SUGGEST_TEXT_CHARS = 4000
GAP_CHARS = 300
BACKGROUND_REBUILD_FROM = 5000
DEMO_ARTICLES = Path(__file__).resolve().parent / "demo_articles.jsonl"


class Store(Protocol):
    """Where the tables live: caseboard.db.Database fits."""

    engine: sa.Engine

    def read(self) -> contextlib.AbstractContextManager[Session]: ...

    def write(self) -> contextlib.AbstractContextManager[Session]: ...


@dataclass(frozen=True)
class SearchOutcome:
    results: list[SearchResult]
    gap: bool

    def as_dict(self) -> dict[str, Any]:
        return {"results": [r.as_dict() for r in self.results], "gap": self.gap}


@dataclass(frozen=True)
class PublishedArticle:
    """What a reader sees: an article's current version, and where its translations are."""

    article: KbArticle
    version: KbArticleVersion
    translations: dict[str, str]  # language → slug


class QuestionError(KbError):
    """A question search cannot take; `reason` ("empty" or "too_long") lets a page say why
    in its own language."""

    def __init__(self, reason: str, message: str, length: int = 0, limit: int = 0) -> None:
        super().__init__(message)
        self.reason, self.length, self.limit = reason, length, limit


def check_question(question: str, limit: int = MAX_QUESTION_CHARS) -> str:
    text = " ".join(str(question).split())
    if not text:
        raise QuestionError("empty", "the question is empty")
    if len(text) > limit:
        raise QuestionError("too_long", f"the question is too long ({len(text)} characters; "
                            f"at most {limit})", len(text), limit)
    return text


class KnowledgeBase:
    def __init__(self, store: Store, catalogue: Catalogue, min_score: float = MIN_SCORE,
                 background_from: int = BACKGROUND_REBUILD_FROM) -> None:
        self.store = store
        self.catalogue = catalogue
        self.min_score = min_score
        # From this many articles a rebuild takes seconds: searches keep using the old index
        # while a thread builds the new one, instead of one request waiting for it.
        self.background_from = background_from
        self._lock = threading.Lock()
        self._index: SearchIndex | None = None
        self._stamp: tuple[Any, ...] | None = None
        self._builder: threading.Thread | None = None
        self._builder_lock = threading.Lock()

    # ------------------------------------------------------------------ the index

    def _current_stamp(self, session: Session) -> tuple[Any, ...]:
        newest = session.exec(select(func.max(KbArticle.updated_at))).one()
        return (newest, today())  # validity dates change at midnight too

    def index(self) -> SearchIndex:
        """The search index of the published articles, as fresh as the last change."""
        with self.store.read() as session:
            stamp = self._current_stamp(session)
        current = self._index
        if current is not None and stamp == self._stamp:
            return current
        if current is not None and len(current) >= self.background_from:
            self._rebuild_in_background()
            return current
        with self._lock:
            if self._index is None or stamp != self._stamp:
                self._rebuild()
            assert self._index is not None
            return self._index

    def _rebuild(self) -> None:
        with self.store.read() as session:
            stamp = self._current_stamp(session)  # read first: a later change rebuilds again
            index = SearchIndex(_documents(session))
        self._index, self._stamp = index, stamp

    def _rebuild_in_background(self) -> None:
        with self._builder_lock:  # not self._lock: searches must not wait for the build
            if self._builder is not None and self._builder.is_alive():
                return
            self._builder = threading.Thread(target=self._rebuild, name="kb-index",
                                             daemon=True)
            self._builder.start()

    def wait_for_index(self, timeout: float | None = None) -> None:
        """Wait for a background rebuild to finish (for tests and tools)."""
        builder = self._builder
        if builder is not None:
            builder.join(timeout)

    def invalidate(self) -> None:
        """This process changed articles: the next search uses a new index."""
        self._stamp = None

    # ------------------------------------------------------------------ searching

    def search(self, question: str, language: str | None = None,
               department: str | None = None, limit: int = 5,
               record_gap: bool = True) -> SearchOutcome:
        """Best articles for a citizen's question; no good answer is recorded as a gap."""
        text = check_question(question)
        results = self.index().search(text, language or None, department or None, limit)
        good = [r for r in results if r.score >= self.min_score]
        if not good and record_gap:
            self.record_gap(text, language or ("zh" if has_han(text) else "en"))
        return SearchOutcome(good, gap=not good)

    def suggest_for_case(self, text: str, language: str | None = None,
                         department: str | None = None) -> list[SearchResult]:
        """The top three articles for a case's text (long texts: their beginning counts)."""
        text = " ".join(str(text).split())[:SUGGEST_TEXT_CHARS]
        if not text:
            return []
        index = self.index()
        results = index.search(text, language, department, 3)
        if department and not results:
            results = index.search(text, language, None, 3)
        return [r for r in results if r.score >= self.min_score]

    # ------------------------------------------------------------------ gaps and feedback

    def record_gap(self, question: str, language: str) -> None:
        key = normalise(question)[:GAP_CHARS]
        now = utcnow()
        with self.store.write() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            table = KbGap.__table__  # type: ignore[attr-defined]
            statement = insert(table).values(question=key, language=language, count=1,
                                             first_seen=now, last_seen=now)
            session.connection().execute(statement.on_conflict_do_update(
                index_elements=["question", "language"],
                set_={"count": table.c.count + 1, "last_seen": now}))

    def gaps(self, limit: int = 50) -> list[KbGap]:
        """Unanswered questions, the most asked first."""
        with self.store.read() as session:
            return list(session.exec(select(KbGap).order_by(
                col(KbGap.count).desc(), col(KbGap.last_seen).desc()).limit(limit)).all())

    def record_feedback(self, article_id: int, helpful: bool) -> None:
        column = "helpful" if helpful else "not_helpful"
        with self.store.write() as session:
            if session.get(KbArticle, article_id) is None:
                raise KbError("no such article")
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            table = KbFeedback.__table__  # type: ignore[attr-defined]
            statement = insert(table).values(article_id=article_id, helpful=int(helpful),
                                             not_helpful=int(not helpful))
            session.connection().execute(statement.on_conflict_do_update(
                index_elements=["article_id"], set_={column: table.c[column] + 1}))

    def feedback(self, article_id: int) -> tuple[int, int]:
        """(helpful, not helpful) answers for an article."""
        with self.store.read() as session:
            row = session.get(KbFeedback, article_id)
            return (row.helpful, row.not_helpful) if row else (0, 0)

    # ------------------------------------------------------------------ reading

    def published(self, slug: str, language: str) -> PublishedArticle | None:
        """The article as the public sees it today, on every channel; None when not shown."""
        with self.store.read() as session:
            article = _find(session, slug, language)
            if article is None:
                return None
            # The same rule as search (_documents): only a version valid today is shown.
            day = today()
            version = workflow.live_version(session, article, day)
            if version is None:
                return None
            return PublishedArticle(article, version, _translations(session, article, day))

    def versions(self, slug: str, language: str) -> list[KbArticleVersion]:
        with self.store.read() as session:
            article = _need(session, slug, language)
            return workflow.versions(session, article)

    def article(self, slug: str, language: str) -> KbArticle:
        with self.store.read() as session:
            return _need(session, slug, language)

    # ------------------------------------------------------------------ changing

    def import_lines(self, lines: Iterable[str], actor: str = "import") -> dict[str, int]:
        """Check a whole JSONL file, then import it in one transaction (or raise ImportFailed)."""
        with self.store.write() as session:
            checked, errors = articles.check_lines(lines, self.catalogue,
                                                   articles.known_slugs(session))
            if errors:
                raise ImportFailed(errors)
            counts = articles.import_articles(session, checked, actor)
        self.invalidate()
        return counts

    def load_demo(self, path: Path = DEMO_ARTICLES) -> dict[str, int]:
        """Import the demo articles into an empty knowledge base (never over real content)."""
        with self.store.read() as session:
            if session.exec(select(KbArticle.id).limit(1)).first() is not None:
                return {}
        if not path.exists():
            return {}
        return self.import_lines(path.read_text(encoding="utf-8").splitlines(), "demo")

    def export_lines(self) -> Iterator[str]:
        with self.store.read() as session:
            yield from list(articles.export_lines(session))

    def create_draft(self, data: Mapping[str, Any], actor: str) -> KbArticle:
        item, errors = articles.check_article(dict(data), self.catalogue)
        if item is None:
            raise KbError("; ".join(errors))
        with self.store.write() as session:
            if _find(session, item.slug, item.language) is not None:
                raise KbError(f"an article {item.slug} ({item.language}) already exists")
            row = KbArticle(slug=item.slug, language=item.language,
                            department=item.department, services=item.services,
                            title=item.title)
            workflow.set_working_copy(row, item.content(), actor)
            if item.translation_of:
                row.translation_of_id = articles.translation_target(session, item)
            session.add(row)
        return row

    def edit(self, slug: str, language: str, changes: Mapping[str, Any], actor: str) -> None:
        with self.store.write() as session:
            article = _need(session, slug, language)
            merged = {**_working_copy_line(article), **changes}
            item, errors = articles.check_article(merged, self.catalogue)
            if item is None:
                raise KbError("; ".join(errors))
            workflow.edit(session, article, {k: v for k, v in item.content().items()
                                             if k in changes}, actor)
        self.invalidate()

    def act(self, slug: str, language: str, action: str, actor: str, role: str) -> str:
        """submit / return / publish / archive, as `actor` with `role`."""
        with self.store.write() as session:
            article = _need(session, slug, language)
            status = workflow.transition(session, article, action, actor, role)
        self.invalidate()
        return status.value


def _find(session: Session, slug: str, language: str) -> KbArticle | None:
    return session.exec(select(KbArticle).where(col(KbArticle.slug) == slug,
                                                col(KbArticle.language) == language)).first()


def _need(session: Session, slug: str, language: str) -> KbArticle:
    article = _find(session, slug, language)
    if article is None:
        raise KbError(f"no article {slug} ({language})")
    return article


def _translations(session: Session, article: KbArticle, day: dt.date) -> dict[str, str]:
    # Only translations the public can open today (a link must not lead to "not found").
    live = workflow.live_numbers(day)
    linked = select(KbArticle).join(live, live.c.article_id == col(KbArticle.id))
    ids = {article.translation_of_id} - {None}
    rows = session.exec(linked.where(
        (col(KbArticle.translation_of_id) == article.id) | col(KbArticle.id).in_(ids)
        | ((col(KbArticle.translation_of_id) == article.translation_of_id)
           & col(KbArticle.translation_of_id).is_not(None)))).all()
    return {r.language: r.slug for r in rows if r.id != article.id}


def _working_copy_line(article: KbArticle) -> dict[str, Any]:
    return {"slug": article.slug, "language": article.language, "title": article.title,
            "department": article.department, "services": article.services,
            "body": article.body, "short_answer": article.short_answer,
            "key_facts": article.key_facts, "questions": article.questions,
            "keywords": article.keywords}


def today() -> dt.date:
    """The day validity dates are checked against."""
    return dt.date.today()


def _documents(session: Session) -> Iterator[Document]:
    live = workflow.live_numbers(today())  # the version each article shows today, if any
    rows = session.exec(select(KbArticle, KbArticleVersion).join(
        live, live.c.article_id == col(KbArticle.id)).join(
        KbArticleVersion, (col(KbArticleVersion.article_id) == col(KbArticle.id))
        & (col(KbArticleVersion.number) == live.c.number)).order_by(col(KbArticle.id))).all()
    for article, version in rows:
        assert article.id is not None
        yield Document(
            article.id, article.slug, article.language, article.department,
            tuple(article.services), version.number, version.title, version.short_answer,
            fields=document_fields(version.title, version.questions, version.keywords,
                                   version.short_answer, version.key_facts, version.body),
            phrases=(version.title, *version.questions))


def catalogue_from(departments: Iterable[Any]) -> dict[str, Collection[str]]:
    """department id → service codes, from settings' DepartmentConfig objects."""
    return {d.id: frozenset(s.code for s in d.services) for d in departments}


__all__ = ["ArticleInput", "ImportFailed", "KbError", "KnowledgeBase", "QuestionError",
           "SearchOutcome"]
