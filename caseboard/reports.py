"""Reports: one CSV row per case for any period (streamed), and the monthly summary.

The CSV walks the cases in id order in chunks (keyset pagination), so memory stays flat at any
size and each chunk is one short read transaction. The monthly summary reads only the per-day
counters and the answered surveys of that month.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from caseboard.db import Database
from caseboard.models import Case, Message, User, table_of
from caseboard.supervisor_models import DailyCounter, Survey

COLUMNS = ("reference", "created_at", "channel", "channels_used", "department", "service",
           "priority", "status", "assigned_to", "first_response_due", "first_response_at",
           "resolution_due", "resolved_at", "closed_at", "returns", "first_response_outcome",
           "resolution_outcome", "satisfaction")
CHUNK = 2000
_cases = table_of(Case)
_CASE_COLUMNS = [_cases.c[name] for name in (
    "id", "reference", "created_at", "channel", "department_id", "service_code", "priority",
    "status", "assigned_user_id", "first_response_due", "first_response_at", "resolution_due",
    "resolved_at", "closed_at", "return_count")]


def outcome(due: dt.datetime | None, done: dt.datetime | None, now: dt.datetime) -> str:
    """met / breached / open (still running) / "" (no limit)."""
    if due is None:
        return ""
    if done is not None:
        return "met" if done <= due else "breached"
    return "breached" if now > due else "open"


def _iso(value: dt.datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value is not None else ""


def case_rows(database: Database, start: dt.datetime, end: dt.datetime,
              now: dt.datetime, chunk: int = CHUNK) -> Iterator[tuple[str, ...]]:
    """Cases created in [start, end), one tuple of COLUMNS each, oldest first."""
    last_id = 0
    usernames: dict[int, str] = {}
    while True:
        with database.read() as session:
            cases = session.execute(
                sa.select(*_CASE_COLUMNS)
                .where(_cases.c.id > last_id, _cases.c.created_at >= start,
                       _cases.c.created_at < end)
                .order_by(_cases.c.id).limit(chunk)).all()
            if not cases:
                return
            ids = [c.id for c in cases]
            used = _channels_used(session, ids)
            scores = _scores(session, ids)
            if not usernames:
                usernames = dict(session.execute(select(User.id, User.username)).all())
        for c in cases:
            channels = sorted(used.get(c.id, set()) | {c.channel})
            yield (c.reference, _iso(c.created_at), c.channel, " ".join(channels),
                   c.department_id, c.service_code or "", c.priority, c.status,
                   usernames.get(c.assigned_user_id, ""), _iso(c.first_response_due),
                   _iso(c.first_response_at), _iso(c.resolution_due), _iso(c.resolved_at),
                   _iso(c.closed_at), str(c.return_count),
                   outcome(c.first_response_due, c.first_response_at, now),
                   outcome(c.resolution_due, c.resolved_at or c.closed_at, now),
                   scores.get(c.id, ""))
        last_id = ids[-1]


def _channels_used(session: Session, ids: list[int]) -> dict[int, set[str]]:
    used: dict[int, set[str]] = defaultdict(set)
    for case_id, channel in session.execute(
            select(Message.case_id, Message.channel).distinct()
            .where(col(Message.case_id).in_(ids), col(Message.direction) == "in")):
        used[case_id].add(channel)
    return used


def _scores(session: Session, ids: list[int]) -> dict[int, str]:
    rows = session.execute(select(Survey.case_id, Survey.score)
                           .where(col(Survey.case_id).in_(ids), col(Survey.score).is_not(None))
                           .order_by(col(Survey.id)))
    return {case_id: str(score) for case_id, score in rows}  # the latest answer wins


def csv_text(rows: Iterator[tuple[str, ...]], flush_every: int = 500) -> Iterator[str]:
    """The CSV as text pieces of a few hundred rows, header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for number, row in enumerate(rows, 1):
        writer.writerow(row)
        if number % flush_every == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


# Reports cover days in this range: beyond it there are no cases, and near the ends of
# Python's calendar the next day or month (or a time zone's offset) does not exist.
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2999, 12, 31)


def month_bounds(month: str, tz: dt.tzinfo) -> tuple[dt.date, dt.date]:
    """'2026-11' → (first day, first day of the next month); ValueError, with a message to
    show, if malformed or outside EARLIEST..LATEST."""
    try:
        first = dt.datetime.strptime(month, "%Y-%m").date()
    except ValueError:
        raise ValueError("The month must look like 2026-11.") from None
    if not EARLIEST <= first <= LATEST:
        raise ValueError(f"The month must be between {EARLIEST:%Y-%m} and {LATEST:%Y-%m}.")
    after = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, after


def period_bounds(first_day: str, last_day: str, tz: dt.tzinfo,
                  max_days: int) -> tuple[dt.datetime, dt.datetime]:
    """Local days 'YYYY-MM-DD' (both included) → the UTC instants [start, end); ValueError,
    with a message to show, if malformed, outside EARLIEST..LATEST, backwards or too long."""
    try:
        first, last = dt.date.fromisoformat(first_day), dt.date.fromisoformat(last_day)
    except ValueError:
        raise ValueError("Dates must look like 2026-11-30.") from None
    if not (EARLIEST <= first <= LATEST and EARLIEST <= last <= LATEST):
        raise ValueError(f"Dates must be between {EARLIEST} and {LATEST}.")
    if last < first or (last - first).days > max_days:
        raise ValueError("The period must run forwards and last at most ten years.")
    start = dt.datetime.combine(first, dt.time(), tz).astimezone(dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.UTC)
    return start, end


def monthly_summary(session: Session, first: dt.date, after: dt.date,
                    tz: dt.tzinfo) -> dict[str, dict[str, Any]]:
    """Per department: created, resolved on time / late, returns, compliance, satisfaction."""
    table: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    for department, metric, value in session.execute(
            select(DailyCounter.department_id, DailyCounter.metric,
                   sa.func.sum(DailyCounter.value))
            .where(col(DailyCounter.day) >= first, col(DailyCounter.day) < after,
                   col(DailyCounter.hour) == -1,
                   col(DailyCounter.metric).in_(("created", "returns", "resolved_on_time",
                                                 "resolved_late")))
            .group_by(col(DailyCounter.department_id), col(DailyCounter.metric))):
        table[department][metric] = int(value)
    start = dt.datetime.combine(first, dt.time(), tz).astimezone(dt.UTC)
    end = dt.datetime.combine(after, dt.time(), tz).astimezone(dt.UTC)
    for department, average, count in session.execute(
            select(Survey.department_id, sa.func.avg(Survey.score), sa.func.count())
            .where(col(Survey.score).is_not(None), col(Survey.answered_at) >= start,
                   col(Survey.answered_at) < end)
            .group_by(col(Survey.department_id))):
        table[department]["satisfaction"] = round(float(average), 2)
        table[department]["surveys"] = int(count)
    for row in table.values():
        done = row["resolved_on_time"] + row["resolved_late"]
        row["compliance"] = round(100 * row["resolved_on_time"] / done, 1) if done else None
    return {k: dict(v) for k, v in sorted(table.items())}
