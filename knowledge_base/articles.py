"""Articles in the import format: validating a JSONL file, importing it whole, exporting.

One article per line:
{"slug", "language", "title", "department", "services": [...], "body", "short_answer",
 "key_facts": [...], "questions": [...], "keywords": [...], "translation_of": slug-or-null}
plus optional "valid_from" / "valid_until" (ISO dates). Every line is checked before anything
is written, and each bad line is reported with its number; a file with any error imports
nothing. Imported articles are published at once (approved by "import").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from knowledge_base import workflow
from knowledge_base.models import ArticleStatus, KbArticle, KbArticleVersion

LANGUAGES = ("en", "zh")
REQUIRED = ("slug", "language", "title", "department", "body", "short_answer", "key_facts")
OPTIONAL = ("services", "questions", "keywords", "translation_of", "valid_from", "valid_until")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,119}$")
MAX_TITLE, MAX_SHORT_ANSWER, MAX_BODY, MAX_ITEM = 200, 320, 100_000, 500
# Control characters other than tab and newline never belong in an article.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

Catalogue = Mapping[str, Collection[str]]  # department id → its service codes


class KbError(ValueError):
    """A knowledge-base request was refused; the message says why."""


class ImportFailed(KbError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"{len(errors)} error(s); nothing was imported")
        self.errors = errors


@dataclass
class ArticleInput:
    slug: str
    language: str
    title: str
    department: str
    body: str
    short_answer: str
    key_facts: list[str]
    services: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    translation_of: str | None = None
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None

    def content(self) -> dict[str, Any]:
        """The fields a version stores (what an editor writes)."""
        return {"title": self.title, "body": self.body, "short_answer": self.short_answer,
                "key_facts": self.key_facts, "questions": self.questions,
                "keywords": self.keywords, "valid_from": self.valid_from,
                "valid_until": self.valid_until}


# ---------------------------------------------------------------- checking one article


def _text(data: Mapping[str, Any], key: str, limit: int, errors: list[str]) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        errors.append(f"{key} must be a string")
        return ""
    if not value.strip():
        errors.append(f"{key} is empty")
    elif len(value) > limit:
        errors.append(f"{key} is longer than {limit} characters ({len(value)})")
    if _CONTROL.search(value):
        errors.append(f"{key} contains control characters")
    return value.strip() if key != "body" else value


def _strings(data: Mapping[str, Any], key: str, errors: list[str],
             required: bool = False) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.append(f"{key} must be a list of strings")
        return []
    items = [v.strip() for v in value if v.strip()]
    if required and not items:
        errors.append(f"{key} must name at least one item")
    if any(len(v) > MAX_ITEM or _CONTROL.search(v) for v in items):
        errors.append(f"{key}: each item must be at most {MAX_ITEM} plain characters")
    return items


def _date(data: Mapping[str, Any], key: str, errors: list[str]) -> dt.date | None:
    value = data.get(key)
    if value is None:
        return None
    with contextlib.suppress(ValueError, TypeError):
        return dt.date.fromisoformat(value)
    errors.append(f"{key} must be an ISO date like 2026-01-31 or null")
    return None


def check_article(data: Any, catalogue: Catalogue) -> tuple[ArticleInput | None, list[str]]:
    """The article in `data` and the problems with it (an empty list when it is good)."""
    if not isinstance(data, dict):
        return None, ["must be a JSON object"]
    errors: list[str] = []
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        errors.append("missing field(s): " + ", ".join(missing))
    unknown = sorted(set(data) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        errors.append("unknown field(s): " + ", ".join(unknown))
    if missing:
        return None, errors
    slug = data["slug"]
    if not isinstance(slug, str) or not SLUG.match(slug):
        errors.append("slug must be lower-case letters, digits and dashes (at most 120)")
    if data["language"] not in LANGUAGES:
        errors.append(f"language must be one of {', '.join(LANGUAGES)}")
    department = data["department"]
    if not isinstance(department, str) or department not in catalogue:
        errors.append(f"unknown department {department!r}")
    services = _strings(data, "services", errors)
    if isinstance(department, str) and department in catalogue:
        wrong = [s for s in services if s not in catalogue[department]]
        if wrong:
            errors.append(f"unknown service(s) for {department}: {', '.join(wrong)}")
    translation_of = data.get("translation_of")
    if translation_of is not None and not (isinstance(translation_of, str)
                                           and SLUG.match(translation_of)):
        errors.append("translation_of must be an article slug or null")
    article = ArticleInput(
        slug=slug if isinstance(slug, str) else "", language=str(data["language"]),
        title=_text(data, "title", MAX_TITLE, errors),
        department=department if isinstance(department, str) else "",
        body=_text(data, "body", MAX_BODY, errors),
        short_answer=_text(data, "short_answer", MAX_SHORT_ANSWER, errors),
        key_facts=_strings(data, "key_facts", errors, required=True), services=services,
        questions=_strings(data, "questions", errors),
        keywords=_strings(data, "keywords", errors), translation_of=translation_of,
        valid_from=_date(data, "valid_from", errors),
        valid_until=_date(data, "valid_until", errors))
    if article.valid_from and article.valid_until and article.valid_from > article.valid_until:
        errors.append("valid_from is after valid_until")
    return (None if errors else article), errors


# ---------------------------------------------------------------- a whole file


def check_lines(lines: Iterable[str], catalogue: Catalogue,
                known: Mapping[str, Collection[str]]) -> tuple[list[ArticleInput], list[str]]:
    """Check every line; `known` maps slugs already in the database to their languages."""
    articles: list[tuple[int, ArticleInput]] = []
    errors: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            errors.append(f"line {number}: not valid JSON ({error.msg})")
            continue
        article, problems = check_article(data, catalogue)
        errors.extend(f"line {number}: {p}" for p in problems)
        if article is None:
            continue
        key = (article.slug, article.language)
        if key in seen:
            errors.append(f"line {number}: duplicate slug {article.slug!r} ({article.language}),"
                          f" first on line {seen[key]}")
            continue
        seen[key] = number
        articles.append((number, article))
    languages: dict[str, set[str]] = {s: set(langs) for s, langs in known.items()}
    for slug, language in seen:
        languages.setdefault(slug, set()).add(language)
    for number, article in articles:
        target = article.translation_of
        if target is None:
            continue
        if not languages.get(target, set()) - {article.language}:
            errors.append(f"line {number}: translation_of {target!r} is not an article in "
                          f"another language (in this file or the knowledge base)")
    if not articles and not errors:
        errors.append("the file holds no articles")
    return [a for _, a in articles], errors


def import_articles(session: Session, articles: list[ArticleInput],
                    actor: str = "import") -> dict[str, int]:
    """Write checked articles, publishing each changed one; returns counts by outcome."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    by_key: dict[tuple[str, str], KbArticle] = {}
    for item in articles:
        row = session.exec(select(KbArticle).where(
            col(KbArticle.slug) == item.slug, col(KbArticle.language) == item.language)).first()
        outcome = "created" if row is None else "updated"
        if row is None:
            row = KbArticle(slug=item.slug, language=item.language, department=item.department,
                            title=item.title)
        elif (row.status == ArticleStatus.PUBLISHED and row.department == item.department
              and row.services == item.services and _same(session, row, item)):
            outcome = "unchanged"
        row.department, row.services = item.department, item.services
        workflow.set_working_copy(row, item.content(), actor)
        session.add(row)
        session.flush()
        if outcome != "unchanged":
            workflow.publish_working_copy(session, row, approved_by=actor)
        counts[outcome] += 1
        by_key[(item.slug, item.language)] = row
    for item in articles:
        if item.translation_of:
            row = by_key[(item.slug, item.language)]
            row.translation_of_id = translation_target(session, item)
            session.add(row)
    return counts


def _same(session: Session, row: KbArticle, item: ArticleInput) -> bool:
    version = workflow.current_version(session, row)
    if version is None:
        return False
    return all(getattr(version, key) == value for key, value in item.content().items())


def translation_target(session: Session, item: ArticleInput) -> int | None:
    """The id of the article `item` translates (preferring the English one), if any."""
    rows = session.exec(select(KbArticle).where(
        col(KbArticle.slug) == item.translation_of,
        col(KbArticle.language) != item.language)).all()
    rows = sorted(rows, key=lambda r: (r.language != "en", r.language))
    return rows[0].id if rows else None


def known_slugs(session: Session) -> dict[str, set[str]]:
    known: dict[str, set[str]] = {}
    for slug, language in session.exec(select(KbArticle.slug, KbArticle.language)).all():
        known.setdefault(slug, set()).add(language)
    return known


def export_lines(session: Session) -> Iterator[str]:
    """Every article's current published version, in the import format, one line each."""
    rows = session.exec(select(KbArticle).where(
        col(KbArticle.current_version).is_not(None),
        col(KbArticle.status) != ArticleStatus.ARCHIVED).order_by(
        col(KbArticle.slug), col(KbArticle.language))).all()
    slugs = {r.id: r.slug for r in session.exec(select(KbArticle)).all()}
    for row in rows:
        version = workflow.current_version(session, row)
        assert version is not None
        yield json.dumps(_as_line(row, version, slugs.get(row.translation_of_id or -1)),
                         ensure_ascii=False)


def _as_line(row: KbArticle, version: KbArticleVersion, translation_of: str | None
             ) -> dict[str, Any]:
    line: dict[str, Any] = {
        "slug": row.slug, "language": row.language, "title": version.title,
        "department": row.department, "services": row.services, "body": version.body,
        "short_answer": version.short_answer, "key_facts": version.key_facts,
        "questions": version.questions, "keywords": version.keywords,
        "translation_of": translation_of}
    for key in ("valid_from", "valid_until"):
        value = getattr(version, key)
        if value is not None:
            line[key] = value.isoformat()
    return line

