"""GET requests: the public view of cases that were reported through Open311.

Only cases opened through this API are listed (a mail or a call was not made in public, and
a report quoting such a case's reference joins it without making it public), and
only public fields: service, status, department, times, and the location and description
the reporter gave. Never the reporter's name, email, phone or account, and never agents'
notes or replies. Reports of the services in `georeport.private_services` show their status
only. Emails and long digit runs (phone numbers) in descriptions are masked.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from caseboard.models import Case, CaseStatus, Message
from channels.open311.catalogue import name_in
from channels.open311.formats import Open311Error
from channels.open311.submit import CHANNEL, EXTERNAL_PREFIX
from settings import Config

MAX_RESULTS = 1000
MAX_SPAN = dt.timedelta(days=90)
CLOSED = (CaseStatus.RESOLVED.value, CaseStatus.CLOSED.value)
STATUS_NOTES = {
    "en": {"new": "Received; being assigned to the right department.",
           "dispatched": "With the responsible department.",
           "accepted": "Accepted by the responsible department.",
           "in_progress": "Being worked on.",
           "waiting_citizen": "Waiting for more information from the reporter.",
           "answered": "Answered; to be resolved.",
           "resolved": "Resolved.", "closed": "Closed."},
    "zh": {"new": "已受理，正在分派给责任部门。", "dispatched": "已转交责任部门。",
           "accepted": "责任部门已接收。", "in_progress": "正在处理。",
           "waiting_citizen": "正在等待报告人补充信息。", "answered": "已答复，待办结。",
           "resolved": "已办结。", "closed": "已关闭。"},
}
_EMAIL = re.compile(r"[^\s@<>()]+@[^\s@<>()]+\.[^\s@<>()]+")
_DIGITS = re.compile(r"\+?\d[\d\s().-]{6,}\d")


@dataclass(frozen=True)
class RequestFilter:
    references: tuple[str, ...] = ()  # service_request_id: overrides every other filter
    service_codes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()  # open / closed
    start: dt.datetime | None = None
    end: dt.datetime | None = None


def parse_filter(args: Any, config: Config, now: dt.datetime) -> RequestFilter:
    references = _comma_list(args.get("service_request_id"))
    if references:
        return RequestFilter(references=tuple(r.upper() for r in references[:MAX_RESULTS]))
    statuses = _comma_list(args.get("status"))
    unknown = [s for s in statuses if s not in ("open", "closed")]
    if unknown:
        raise Open311Error(400, f"status must be open or closed, not {unknown[0]!r}")
    codes = _comma_list(args.get("service_code"))
    start = _moment(args.get("start_date"), "start_date", config)
    end = _moment(args.get("end_date"), "end_date", config)
    end = end or (start + MAX_SPAN if start else now)
    start = start or end - MAX_SPAN
    if start > end:
        raise Open311Error(400, "start_date is after end_date")
    if end - start > MAX_SPAN:
        raise Open311Error(400, "start_date and end_date may not span more than 90 days")
    return RequestFilter(service_codes=tuple(codes), statuses=tuple(statuses),
                         start=start, end=end)


def find_requests(session: Session, config: Config, wanted: RequestFilter, language: str
                  ) -> list[dict[str, Any]]:
    """The matching requests, newest first, at most MAX_RESULTS."""
    ours = [col(Message.channel) == CHANNEL,
            col(Message.external_id).startswith(EXTERNAL_PREFIX, autoescape=True)]
    if session.get_bind().dialect.name == "sqlite":
        # SQLite compares bytes, so a range on the (channel, external_id) unique index finds
        # Open311's ids (its LIKE ignores case and cannot use the index). On PostgreSQL the
        # database's collation may not order punctuation by code point: LIKE alone is right.
        ours += [col(Message.external_id) >= EXTERNAL_PREFIX,
                 col(Message.external_id) < EXTERNAL_PREFIX[:-1] + ";"]
    first = (select(col(Message.case_id).label("case_id"),
                    sa.func.min(col(Message.id)).label("message_id"))
             .where(*ours).group_by(col(Message.case_id)).subquery())
    earlier = sa.orm.aliased(Message)
    query = (select(Case, Message.details)
             .join(first, first.c.case_id == col(Case.id))
             .join(Message, col(Message.id) == first.c.message_id)
             # Opened through Open311: a report that quoted the reference of a case opened
             # elsewhere joined that case, which stays as private as it was.
             .where(~sa.exists().where(col(earlier.case_id) == col(Case.id),
                                       col(earlier.id) < first.c.message_id)))
    if wanted.references:
        query = query.where(col(Case.reference).in_(wanted.references))
    else:
        query = _filtered(query, wanted)
    rows = session.execute(query.order_by(col(Case.created_at).desc(), col(Case.id).desc())
                           .limit(MAX_RESULTS)).all()
    return [public_request(config, case, details, language) for case, details in rows]


def _filtered(query: Any, wanted: RequestFilter) -> Any:
    if wanted.service_codes:
        query = query.where(col(Case.service_code).in_(wanted.service_codes))
    if wanted.statuses == ("closed",):
        query = query.where(col(Case.status).in_(CLOSED))
    elif wanted.statuses == ("open",):
        query = query.where(col(Case.status).not_in(CLOSED))
    if wanted.start is not None:
        query = query.where(col(Case.created_at) >= wanted.start)
    if wanted.end is not None:
        query = query.where(col(Case.created_at) <= wanted.end)
    return query


def public_request(config: Config, case: Case, details: dict[str, Any] | None,
                   language: str) -> dict[str, Any]:
    reported = (details or {}).get("open311") or {}
    code = case.service_code or reported.get("service_code") or ""
    service = config.service(code)
    department = config.department(case.department_id)
    closed = case.status in CLOSED
    private = code in private_services(config)
    updated = (case.closed_at or case.resolved_at or case.updated_at) if closed \
        else case.updated_at
    return {
        "service_request_id": case.reference,
        "status": "closed" if closed else "open",
        "status_notes": STATUS_NOTES[language].get(case.status),
        "service_name": name_in(service.name, language) if service else None,
        "service_code": code,
        "description": None if private else _masked(reported.get("description") or "") or None,
        "agency_responsible": name_in(department.name, language) if department else None,
        "service_notice": None,
        "requested_datetime": w3c_time(case.created_at, config),
        "updated_datetime": w3c_time(updated, config),
        "expected_datetime": None if closed else w3c_time(case.resolution_due, config),
        "address": None if private else (reported.get("address") or None),
        "address_id": None if private else (reported.get("address_id") or None),
        "zipcode": None,
        "lat": None if private else reported.get("lat"),
        "long": None if private else reported.get("long"),
        "media_url": None if private else (reported.get("media_url") or None),
    }


def private_services(config: Config) -> set[str]:
    return set(_comma_list(config["georeport.private_services"]))


def w3c_time(moment: dt.datetime | None, config: Config) -> str | None:
    """ISO 8601 in the administration's time zone, with its offset (2026-03-01T09:30:00Z)."""
    if moment is None:
        return None
    local = moment.astimezone(config.timezone).isoformat(timespec="seconds")
    return local[:-6] + "Z" if local.endswith("+00:00") else local


def _masked(text: str) -> str:
    return _DIGITS.sub("[number removed]", _EMAIL.sub("[email removed]", text))


def _comma_list(value: Any) -> Sequence[str]:
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


def _moment(value: Any, name: str, config: Config) -> dt.datetime | None:
    """A w3c date or time; one without an offset is read in the administration's zone."""
    text = str(value or "").strip()
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise Open311Error(400, f"{name} must be a w3c date-time such as "
                                "2026-01-01T00:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=config.timezone)
    return moment.astimezone(dt.UTC)
