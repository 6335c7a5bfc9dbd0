"""What the case page shows: access, the timeline, the citizen panel, clocks, audit, viewers.

Read-only: every function takes the caller's session and returns plain data for the template.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from caseboard.case_models import CaseLink, CaseMerge, CaseViewer
from caseboard.models import (
    Attachment,
    AuditEvent,
    Case,
    Citizen,
    CitizenIdentity,
    IdentitySuggestion,
    Message,
    OutboxItem,
    User,
    UserDepartment,
)
from caseboard.timelimits import BusinessCalendar, clock_state
from knowledge_base.render_markdown import safe_href

VIEWER_FRESH_SECONDS = 20  # the page says it is still open every 5 s


class CaseAccessError(PermissionError):
    """The user may not see this case; the message says why."""


def may_see(session: Session, user: User, case: Case) -> bool:
    """Supervisors and admins see every case; an agent their departments' and their own."""
    if user.role in ("supervisor", "admin") or case.assigned_user_id == user.id:
        return True
    return session.execute(select(UserDepartment.user_id).where(
        col(UserDepartment.user_id) == user.id,
        col(UserDepartment.department_id) == case.department_id)).first() is not None


def check_access(session: Session, user: User, case: Case) -> None:
    if not may_see(session, user, case):
        raise CaseAccessError(f"{case.reference} belongs to the {case.department_id} department,"
                              " which you do not work for.")


@dataclass
class TimelineEntry:
    message: Message
    attachments: list[Attachment] = field(default_factory=list)
    outbox: OutboxItem | None = None
    recording: dict[str, Any] | None = None
    letter: dict[str, Any] | None = None
    author: str = ""
    chat: list[dict[str, str]] = field(default_factory=list)


def timeline(session: Session, case: Case) -> list[TimelineEntry]:
    messages = list(session.execute(select(Message).where(col(Message.case_id) == case.id)
                                    .order_by(col(Message.created_at), col(Message.id))).scalars())
    ids = [m.id for m in messages]
    files: dict[int, list[Attachment]] = {}
    sends: dict[int, OutboxItem] = {}
    if ids:
        for attachment in session.execute(select(Attachment).where(
                col(Attachment.message_id).in_(ids)).order_by(col(Attachment.id))).scalars():
            files.setdefault(attachment.message_id, []).append(attachment)
        # By case (indexed), not by message id (the outbox has no index on it).
        for item in session.execute(select(OutboxItem).where(
                col(OutboxItem.case_id) == case.id)).scalars():
            if item.message_id is not None:
                sends[item.message_id] = item
    authors = _usernames(session, {m.author_user_id for m in messages})
    return [TimelineEntry(m, files.get(m.id or 0, []), sends.get(m.id or 0),
                          _recording(m.details), _letter(m.details),
                          authors.get(m.author_user_id or 0, ""), chat_lines(m.details))
            for m in messages]


def _recording(details: dict[str, Any]) -> dict[str, Any] | None:
    recording = details.get("recording") if isinstance(details, dict) else None
    if not isinstance(recording, dict):
        return None
    # Only http(s) links: a javascript: URL from a webhook must never become a link.
    url = safe_href(str(recording.get("url") or ""))
    return {"url": url if url and url.startswith(("http://", "https://")) else None,
            "duration": recording.get("duration"),
            "transcript": str(recording.get("transcript") or "")}


def _letter(details: dict[str, Any]) -> dict[str, Any] | None:
    letter = details.get("letter") if isinstance(details, dict) else None
    if not isinstance(letter, dict):
        return None
    scan = str(letter.get("scan_sha256") or "")
    pages = []
    for page in letter.get("pages") or []:
        if isinstance(page, dict):
            # Each page's own PNG preview when the letters channel made one, else the scan.
            image = str(page.get("image_sha256") or "")
            pages.append({**page, "image": image if _is_sha256(image) else
                          (scan if _is_sha256(scan) else "")})
    return {"pages": pages, "scan_sha256": scan if _is_sha256(scan) else ""}


def letter_images(details: dict[str, Any]) -> set[str]:
    """The hashes of a letter message's scan and page images (served from the case page)."""
    letter = _letter(details)
    if letter is None:
        return set()
    return {p["image"] for p in letter["pages"] if p["image"]} | (
        {letter["scan_sha256"]} if letter["scan_sha256"] else set())


def chat_lines(details: dict[str, Any]) -> list[dict[str, str]]:
    lines = details.get("chat_transcript") if isinstance(details, dict) else None
    if not isinstance(lines, list):
        return []
    return [{"author": str(line.get("name") or line.get("author") or ""),
             "text": str(line.get("text") or ""), "at": str(line.get("at") or "")[11:19]}
            for line in lines if isinstance(line, dict)]


def _is_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _usernames(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.username).where(col(User.id).in_(wanted)))
    return {user_id: name for user_id, name in rows}


@dataclass
class CitizenPanel:
    citizen: Citizen | None
    identities: list[CitizenIdentity]
    earlier_cases: list[Case]
    suggestions: list[tuple[IdentitySuggestion, Citizen | None, list[CitizenIdentity]]]


def citizen_panel(session: Session, case: Case) -> CitizenPanel:
    citizen = session.get(Citizen, case.citizen_id)
    identities = list(session.execute(select(CitizenIdentity).where(
        col(CitizenIdentity.citizen_id) == case.citizen_id)
        .order_by(col(CitizenIdentity.kind), col(CitizenIdentity.id))).scalars())
    earlier = list(session.execute(select(Case).where(
        col(Case.citizen_id) == case.citizen_id, col(Case.id) != case.id)
        .order_by(col(Case.id).desc()).limit(50)).scalars())
    suggestions = []
    for suggestion in session.execute(select(IdentitySuggestion).where(
            col(IdentitySuggestion.case_id) == case.id,
            col(IdentitySuggestion.status) == "pending")).scalars():
        other = session.get(Citizen, suggestion.suggested_citizen_id)
        other_ids = list(session.execute(select(CitizenIdentity).where(
            col(CitizenIdentity.citizen_id) == suggestion.suggested_citizen_id)).scalars())
        suggestions.append((suggestion, other, other_ids))
    return CitizenPanel(citizen, identities, earlier, suggestions)


@dataclass(frozen=True)
class Clock:
    name: str
    due: dt.datetime | None
    state: str
    done_at: dt.datetime | None


def clocks(case: Case, calendar: BusinessCalendar, now: dt.datetime,
           at_risk_fraction: float) -> list[Clock]:
    result = []
    for name, due, done in (("First response", case.first_response_due, case.first_response_at),
                            ("Resolution", case.resolution_due, case.resolved_at)):
        if due is None:
            result.append(Clock(name, None, "none", done))
            continue
        state = clock_state(calendar, case.created_at, due, now, done, at_risk_fraction,
                            paused_since=case.paused_since)
        result.append(Clock(name, due, state.value, done))
    return result


def audit_trail(session: Session, case: Case) -> list[AuditEvent]:
    return list(session.execute(select(AuditEvent).where(col(AuditEvent.case_id) == case.id)
                                .order_by(col(AuditEvent.id))).scalars())


def changes_since(session: Session, case: Case, since: dt.datetime) -> list[AuditEvent]:
    """What happened to the case after the agent loaded the page (for 'look again')."""
    return [e for e in audit_trail(session, case) if e.at > since]


def other_viewers(session: Session, case: Case, user: User, now: dt.datetime) -> list[str]:
    fresh = now - dt.timedelta(seconds=VIEWER_FRESH_SECONDS)
    rows = session.execute(
        select(User.username).join(CaseViewer, col(CaseViewer.user_id) == col(User.id))
        .where(col(CaseViewer.case_id) == case.id, col(CaseViewer.user_id) != user.id,
               col(CaseViewer.seen_at) >= fresh).order_by(col(User.username))).scalars()
    return list(rows)


def mark_viewing(session: Session, case: Case, user: User, now: dt.datetime) -> None:
    """Upsert: this user has the case open now (no change to the case itself)."""
    table = CaseViewer.__table__  # type: ignore[attr-defined]
    updated = session.execute(sa.update(table).where(
        table.c.case_id == case.id, table.c.user_id == user.id).values(seen_at=now))
    if getattr(updated, "rowcount", 0) == 0:
        session.add(CaseViewer(case_id=case.id or 0, user_id=user.id or 0, seen_at=now))


def related(session: Session, case: Case, user: User | None = None) -> dict[str, Any]:
    """Linked cases, the case this one follows up, and merges in and out; `hidden` holds the
    ids of those the user may not open (shown by reference only, never their subject)."""
    links = session.execute(select(CaseLink).where(sa.or_(
        col(CaseLink.case_id) == case.id, col(CaseLink.other_case_id) == case.id))).scalars()
    linked_ids = [lk.other_case_id if lk.case_id == case.id else lk.case_id for lk in links]
    merges = list(session.execute(select(CaseMerge).where(
        sa.or_(col(CaseMerge.source_case_id) == case.id,
               col(CaseMerge.target_case_id) == case.id),
        col(CaseMerge.undone_at).is_(None)).order_by(col(CaseMerge.id))).scalars())
    ids = set(linked_ids) | {m.source_case_id for m in merges} | {m.target_case_id for m in merges}
    if case.parent_case_id:
        ids.add(case.parent_case_id)
    refs = {c.id: c for c in session.execute(select(Case).where(col(Case.id).in_(ids))).scalars()}
    hidden = {i for i, c in refs.items() if user is not None and not may_see(session, user, c)}
    return {
        "hidden": hidden,
        "links": [refs[i] for i in linked_ids if i in refs],
        "parent": refs.get(case.parent_case_id or 0),
        "merged_into": next((refs[m.target_case_id] for m in merges
                             if m.source_case_id == case.id), None),
        "merged_here": [(m, refs[m.source_case_id]) for m in merges
                        if m.target_case_id == case.id],
    }
