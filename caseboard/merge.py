"""Merging duplicate cases (and undoing it), linking related cases, confirming identities.

A merge moves the duplicate's messages to the survivor and closes the duplicate, which then
points to the survivor through its CaseMerge row; undo moves exactly those messages back and
restores the duplicate's status. Both cases' audit trails say who did it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlmodel import Session, col, select

from caseboard import audit, case_search
from caseboard.case_models import CaseLink, CaseMerge
from caseboard.models import (
    Case,
    CaseStatus,
    CitizenIdentity,
    IdentitySuggestion,
    Message,
    OutboxItem,
    table_of,
    utcnow,
)


class CaseActionError(ValueError):
    """The merge, link or confirmation is not possible; the message says why."""


def _reindex(session: Session, case: Case) -> None:
    texts = session.execute(select(Message.text).where(
        col(Message.case_id) == case.id, col(Message.direction) == "in")).scalars()
    case_search.reindex_case(session, case.id or 0, case.subject, *texts)


def merge(session: Session, duplicate: Case, survivor: Case, actor: str,
          now: dt.datetime | None = None, channel: str = "board", reason: str = ""
          ) -> CaseMerge:
    now = now or utcnow()
    if duplicate.id == survivor.id:
        raise CaseActionError("a case cannot be merged into itself")
    for case in (duplicate, survivor):
        if case.status == CaseStatus.CLOSED:
            raise CaseActionError(f"{case.reference} is closed: reopen work on an open case")
    moved = list(session.execute(select(Message.id).where(
        col(Message.case_id) == duplicate.id)).scalars())
    messages = table_of(Message)
    session.execute(sa.update(messages).where(messages.c.case_id == duplicate.id)
                    .values(case_id=survivor.id))
    _move_outbox(session, moved, survivor)
    record = CaseMerge(source_case_id=duplicate.id or 0, target_case_id=survivor.id or 0,
                       message_ids=[m for m in moved if m is not None],
                       source_state={"status": duplicate.status,
                                     "assigned_user_id": duplicate.assigned_user_id},
                       merged_by=actor, merged_at=now)
    session.add(record)
    duplicate.status, duplicate.closed_at = CaseStatus.CLOSED, now
    duplicate.assigned_user_id = None
    for case in (duplicate, survivor):
        case.updated_at = now
        session.add(case)
    session.flush()
    _reindex(session, survivor)
    _reindex(session, duplicate)
    why = {"reason": reason} if reason else {}
    audit.record(session, duplicate.id, actor, "merged_into", channel,
                 into=survivor.reference, messages=len(moved), **why)
    audit.record(session, survivor.id, actor, "merged_from", channel,
                 source=duplicate.reference, messages=len(moved), **why)
    return record


def undo_merge(session: Session, record: CaseMerge, actor: str,
               now: dt.datetime | None = None) -> tuple[Case, Case]:
    now = now or utcnow()
    if record.undone_at is not None:
        raise CaseActionError("this merge was already undone")
    duplicate = session.get(Case, record.source_case_id)
    survivor = session.get(Case, record.target_case_id)
    assert duplicate is not None and survivor is not None
    messages = table_of(Message)
    if record.message_ids:
        session.execute(sa.update(messages).where(
            messages.c.id.in_(record.message_ids), messages.c.case_id == survivor.id)
            .values(case_id=duplicate.id))
        _move_outbox(session, record.message_ids, duplicate)
    duplicate.status = str(record.source_state.get("status") or CaseStatus.NEW)
    duplicate.closed_at = None
    assigned = record.source_state.get("assigned_user_id")
    duplicate.assigned_user_id = assigned if isinstance(assigned, int) else None
    record.undone_at, record.undone_by = now, actor
    for row in (duplicate, survivor):
        row.updated_at = now
        session.add(row)
    session.add(record)
    session.flush()
    _reindex(session, survivor)
    _reindex(session, duplicate)
    audit.record(session, duplicate.id, actor, "merge_undone", "board", was_in=survivor.reference)
    audit.record(session, survivor.id, actor, "merge_undone", "board",
                 split_off=duplicate.reference)
    return duplicate, survivor


def _move_outbox(session: Session, message_ids: Sequence[int | None], case: Case) -> None:
    """Replies travel with their messages, so the timeline keeps showing their delivery."""
    wanted = [m for m in message_ids if m is not None]
    if wanted:
        items = table_of(OutboxItem)
        session.execute(sa.update(items).where(items.c.message_id.in_(wanted))
                        .values(case_id=case.id))


def link(session: Session, case: Case, other: Case, actor: str) -> None:
    if case.id == other.id:
        raise CaseActionError("a case cannot be linked to itself")
    low, high = sorted((case.id or 0, other.id or 0))
    exists = session.execute(select(CaseLink.id).where(
        col(CaseLink.case_id) == low, col(CaseLink.other_case_id) == high)).first()
    if exists:
        raise CaseActionError(f"{case.reference} and {other.reference} are already linked")
    session.add(CaseLink(case_id=low, other_case_id=high, created_by=actor, created_at=utcnow()))
    for row, peer in ((case, other), (other, case)):
        audit.record(session, row.id, actor, "linked", "board", to=peer.reference)


def unlink(session: Session, case: Case, other: Case, actor: str) -> None:
    low, high = sorted((case.id or 0, other.id or 0))
    found = session.execute(select(CaseLink).where(
        col(CaseLink.case_id) == low, col(CaseLink.other_case_id) == high)).scalar_one_or_none()
    if found is None:
        raise CaseActionError(f"{case.reference} and {other.reference} are not linked")
    session.delete(found)
    for row, peer in ((case, other), (other, case)):
        audit.record(session, row.id, actor, "unlinked", "board", to=peer.reference)


def decide_identity(session: Session, case: Case, suggestion_id: int, confirm: bool,
                    actor: str) -> None:
    """Confirm: the two citizen records are one person (identities and cases move to the
    suggested citizen). Reject: they are different people; nothing else changes."""
    suggestion = session.get(IdentitySuggestion, suggestion_id)
    if suggestion is None or suggestion.case_id != case.id or suggestion.status != "pending":
        raise CaseActionError("that identity suggestion is not open on this case")
    suggestion.status = "confirmed" if confirm else "rejected"
    session.add(suggestion)
    if confirm:
        keep, drop = suggestion.suggested_citizen_id, suggestion.citizen_id
        for model in (CitizenIdentity, Case):
            table = table_of(model)
            session.execute(sa.update(table).where(table.c.citizen_id == drop)
                            .values(citizen_id=keep))
        case.updated_at = utcnow()
        session.add(case)
    session.flush()
    audit.record(session, case.id, actor,
                 "identity_confirmed" if confirm else "identity_rejected", "board",
                 citizen=suggestion.citizen_id, suggested=suggestion.suggested_citizen_id)
