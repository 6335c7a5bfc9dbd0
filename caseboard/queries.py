"""Read-side queries over cases, shared by the API and (later) the board pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from caseboard.models import (
    AuditEvent,
    Case,
    Citizen,
    CitizenIdentity,
    Department,
    IdentitySuggestion,
    Message,
    ServiceType,
)

PAGE_SIZE = 50


@dataclass(frozen=True)
class CaseFilter:
    status: str | None = None
    department: str | None = None
    channel: str | None = None
    text: str | None = None
    # Who may see what (caseboard.case_view.may_see): None is every case; otherwise only
    # these departments' cases and those assigned to `assignee`.
    visible: frozenset[str] | None = None
    assignee: int | None = None


def list_cases(session: Session, filters: CaseFilter, page: int) -> tuple[list[Case], int]:
    """One page of cases, newest first, and the total that match."""
    query = select(Case)
    if filters.visible is not None:
        mine = (col(Case.assigned_user_id) == filters.assignee
                if filters.assignee is not None else sa.false())
        query = query.where(sa.or_(col(Case.department_id).in_(filters.visible), mine))
    if filters.status:
        query = query.where(col(Case.status) == filters.status)
    if filters.department:
        query = query.where(col(Case.department_id) == filters.department)
    if filters.channel:
        query = query.where(col(Case.channel) == filters.channel)
    if filters.text:
        pattern = "%" + filters.text.replace("\\", "\\\\").replace("%", "\\%").replace(
            "_", "\\_") + "%"
        in_messages = select(Message.case_id).where(
            col(Message.text).ilike(pattern, escape="\\"))
        query = query.where(sa.or_(col(Case.subject).ilike(pattern, escape="\\"),
                                   col(Case.reference).ilike(pattern, escape="\\"),
                                   col(Case.id).in_(in_messages)))
    total = session.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    # Newest first by id: ids grow with arrival, and the primary key needs no extra index.
    rows = session.execute(query.order_by(col(Case.id).desc())
                           .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).scalars().all()
    return list(rows), total


def case_by_reference(session: Session, reference: str) -> Case | None:
    return session.execute(select(Case).where(col(Case.reference) == reference.upper())
                           ).scalar_one_or_none()


def case_summary(case: Case) -> dict[str, Any]:
    return {
        "reference": case.reference, "status": case.status, "department": case.department_id,
        "service": case.service_code, "priority": case.priority, "channel": case.channel,
        "subject": case.subject, "created_at": _iso(case.created_at),
    }


def case_detail(session: Session, case: Case) -> dict[str, Any]:
    citizen = session.get(Citizen, case.citizen_id)
    identities = session.execute(
        select(CitizenIdentity.kind, CitizenIdentity.value)
        .where(col(CitizenIdentity.citizen_id) == case.citizen_id)).all()
    messages = session.execute(select(Message).where(col(Message.case_id) == case.id)
                               .order_by(col(Message.id))).scalars()
    events = session.execute(select(AuditEvent).where(col(AuditEvent.case_id) == case.id)
                             .order_by(col(AuditEvent.id))).scalars()
    suggestions = session.execute(select(IdentitySuggestion)
                                  .where(col(IdentitySuggestion.case_id) == case.id)).scalars()
    return {
        **case_summary(case),
        "routing": {"confidence": case.routing_confidence, "reasons": case.routing_reasons},
        "return_count": case.return_count,
        "first_response_due": _iso(case.first_response_due),
        "resolution_due": _iso(case.resolution_due),
        "citizen": {
            "id": case.citizen_id, "name": citizen.name if citizen else "",
            "preferred_language": citizen.preferred_language if citizen else "",
            "preferred_channel": citizen.preferred_channel if citizen else "",
            "identities": [{"kind": k, "value": v} for k, v in identities],
            "suggested_matches": [{"citizen_id": s.suggested_citizen_id, "score": s.score,
                                   "reason": s.reason, "status": s.status} for s in suggestions],
        },
        "messages": [{"direction": m.direction, "channel": m.channel, "text": m.text,
                      "subject": m.subject, "sender": m.sender,
                      "delivery_status": m.delivery_status, "created_at": _iso(m.created_at)}
                     for m in messages],
        "audit": [{"at": _iso(e.at), "actor": e.actor, "channel": e.channel,
                   "action": e.action, "details": e.details} for e in events],
    }


def departments(session: Session) -> list[dict[str, Any]]:
    services: dict[str, list[dict[str, str]]] = {}
    for service in session.execute(select(ServiceType).where(col(ServiceType.active))
                                   .order_by(col(ServiceType.code))).scalars():
        services.setdefault(service.department_id, []).append(
            {"code": service.code, "name": service.name_en, "name_zh": service.name_zh})
    return [{"id": d.id, "name": d.name_en, "name_zh": d.name_zh,
             "services": services.get(d.id, [])}
            for d in session.execute(select(Department).where(col(Department.active))
                                     .order_by(col(Department.id))).scalars()]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
