"""The queue lists: which cases a view shows, in which order, with filters and search.

Open cases are ordered by time-limit urgency (the first-response deadline while no one has
answered, then the resolution deadline), then by age. Resolved and closed cases have no urgency
left: they come newest first, which the (department, status) index gives without a sort.
A search reads the posting list of its rarest term backwards (newest cases first, at most
SCAN_CAP of them) and checks the other terms and the filters case by case.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from caseboard.board_models import CaseTerm
from caseboard.case_search import query_terms
from caseboard.models import Case, CaseStatus, table_of

OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.DISPATCHED, CaseStatus.ACCEPTED,
                 CaseStatus.IN_PROGRESS, CaseStatus.WAITING_CITIZEN, CaseStatus.ANSWERED)
DONE_STATUSES = (CaseStatus.RESOLVED, CaseStatus.CLOSED)
PAGE_SIZE = 50
SCAN_CAP = 3_000  # a search looks at most at this many cases per term (the newest)
COUNT_PROBE = 5_000  # postings counted per term to find the rarest one
COUNT_CAP = 1000  # beyond this a count says "1000+": counting 100,000 matches costs time
FILTERS = ("channel", "status", "service", "priority", "language")
_REFERENCE = re.compile(r"^[A-Z]{1,6}-\d{4}-\d{3,9}$")

_cases = table_of(Case)
_terms = table_of(CaseTerm)


@dataclass(frozen=True)
class Scope:
    """Whose cases a view may show: departments (None = all) and/or one assignee."""

    departments: frozenset[str] | None = None
    assignee: int | None = None


@dataclass(frozen=True)
class QueueFilter:
    channel: str = ""
    status: str = ""
    service: str = ""
    priority: str = ""
    language: str = ""
    text: str = ""

    @classmethod
    def from_args(cls, args: dict[str, str]) -> QueueFilter:
        values = {name: args.get(name, "").strip()[:40] for name in FILTERS}
        return cls(**values, text=args.get("q", "").strip()[:200])

    def as_args(self) -> dict[str, str]:
        values = {name: getattr(self, name) for name in FILTERS if getattr(self, name)}
        return {**values, **({"q": self.text} if self.text else {})}


@dataclass
class QueuePage:
    rows: list[sa.Row[tuple[object, ...]]] = field(default_factory=list)
    total: int = 0
    capped: bool = False
    search_terms: list[str] = field(default_factory=list)
    newest_only: bool = False  # the search looked only at the newest SCAN_CAP matches


_COLUMNS = (_cases.c.id, _cases.c.reference, _cases.c.subject, _cases.c.channel,
            _cases.c.status, _cases.c.priority, _cases.c.language, _cases.c.department_id,
            _cases.c.service_code, _cases.c.assigned_user_id, _cases.c.created_at,
            _cases.c.updated_at, _cases.c.first_response_due, _cases.c.resolution_due,
            _cases.c.first_response_at, _cases.c.paused_since)


def _conditions(scope: Scope, filters: QueueFilter) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if scope.departments is not None:
        where.append(_cases.c.department_id.in_(sorted(scope.departments)))
    if scope.assignee is not None:
        where.append(_cases.c.assigned_user_id == scope.assignee)
    if filters.status:
        where.append(_cases.c.status == filters.status)
    elif not filters.text:  # a search also finds finished cases; a queue shows open work
        where.append(_cases.c.status.in_(OPEN_STATUSES))
    for name in ("channel", "priority", "language"):
        if getattr(filters, name):
            where.append(_cases.c[name] == getattr(filters, name))
    if filters.service:
        where.append(_cases.c.service_code == filters.service)
    return where


def urgency() -> sa.ColumnElement[dt.datetime]:
    """The deadline that matters now: first response until someone answered, then resolution."""
    return sa.case((_cases.c.first_response_at.is_(None), _cases.c.first_response_due),
                   else_=_cases.c.resolution_due)


def list_queue(session: Session, scope: Scope, filters: QueueFilter, page: int = 1) -> QueuePage:
    if filters.text:
        return _search(session, scope, filters, page)
    where = _conditions(scope, filters)
    if filters.status in DONE_STATUSES:
        order: list[sa.ColumnElement[Any]] = [_cases.c.id.desc()]
    else:
        order = [urgency().is_(None), urgency(), _cases.c.created_at, _cases.c.id]
    query = (sa.select(*_COLUMNS).where(*where).order_by(*order)
             .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))
    rows = list(session.execute(query))
    total, capped = _count(session, sa.select(_cases.c.id).where(*where), page, len(rows))
    return QueuePage(rows, total, capped)


def _count(session: Session, query: sa.Select[tuple[int]], page: int = 1,
           shown: int = PAGE_SIZE) -> tuple[int, bool]:
    if shown < PAGE_SIZE and (shown or page == 1):  # the last page: no need to count again
        return (page - 1) * PAGE_SIZE + shown, False
    limited = query.limit(COUNT_CAP + 1).subquery()
    total = session.execute(sa.select(sa.func.count()).select_from(limited)).scalar_one()
    return min(total, COUNT_CAP), total > COUNT_CAP


def _search(session: Session, scope: Scope, filters: QueueFilter, page: int) -> QueuePage:
    where = _conditions(scope, filters)
    reference = filters.text.upper()
    if _REFERENCE.match(reference):
        query = sa.select(*_COLUMNS).where(_cases.c.reference == reference, *where)
        rows = list(session.execute(query))
        return QueuePage(rows, len(rows), False, [reference])
    wanted = query_terms(filters.text)
    if not wanted:
        return QueuePage(search_terms=[])
    counts = {term: _postings(session, term) for term in wanted}
    driver, *others = sorted(wanted, key=counts.__getitem__)
    # Only the newest SCAN_CAP cases holding the rarest term are looked at: a common word
    # with a filter that matches none of them must not read a posting list of 300,000.
    oldest = _oldest_scanned(session, driver) if counts[driver] >= COUNT_PROBE else None
    for term in others:
        other = _terms.alias()
        probe = [other.c.term == term, other.c.case_id == _cases.c.id]
        if oldest is not None:  # the same window, so the planner never reads a whole list
            probe.append(other.c.case_id >= oldest)
        where.append(sa.exists().where(*probe))
    posting = _terms.alias("posting")
    where.append(posting.c.term == driver)
    if oldest is not None:
        where.append(posting.c.case_id >= oldest)
    base = (sa.select(*_COLUMNS).select_from(posting.join(_cases, _cases.c.id == posting.c.case_id))
            .where(*where))
    rows = list(session.execute(base.order_by(posting.c.case_id.desc())
                                .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    # Counted in the same order as the rows, so the count also stops at the newest matches.
    total, capped = _count(session, base.with_only_columns(_cases.c.id)
                           .order_by(posting.c.case_id.desc()), page, len(rows))
    return QueuePage(rows, total, capped, wanted, newest_only=oldest is not None)


def _oldest_scanned(session: Session, term: str) -> int | None:
    """The case id SCAN_CAP postings back from the newest, or None if the list is shorter."""
    value: int | None = session.execute(
        sa.select(_terms.c.case_id).where(_terms.c.term == term)
        .order_by(_terms.c.case_id.desc()).offset(SCAN_CAP - 1).limit(1)).scalar_one_or_none()
    return value


def _postings(session: Session, term: str, cap: int = COUNT_PROBE) -> int:
    """How many cases hold the term (up to cap): the rarest term drives the search."""
    limited = sa.select(_terms.c.case_id).where(_terms.c.term == term).limit(cap).subquery()
    return int(session.execute(sa.select(sa.func.count()).select_from(limited)).scalar_one())


def changes_since(session: Session, since: dt.datetime, scope: Scope,
                  limit: int = 200) -> list[tuple[int, str, dt.datetime]]:
    """Cases in scope changed after `since` (id, reference, updated_at), oldest change first."""
    query = sa.select(_cases.c.id, _cases.c.reference, _cases.c.updated_at).where(
        _cases.c.updated_at > since)
    if scope.departments is not None:
        query = query.where(_cases.c.department_id.in_(sorted(scope.departments)))
    if scope.assignee is not None:
        query = query.where(_cases.c.assigned_user_id == scope.assignee)
    rows = session.execute(query.order_by(_cases.c.updated_at).limit(limit))
    return [(row.id, row.reference, row.updated_at) for row in rows]


def latest_change(session: Session) -> dt.datetime | None:
    value: dt.datetime | None = session.execute(
        sa.select(sa.func.max(_cases.c.updated_at))).scalar_one()
    return value
