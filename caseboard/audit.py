"""The audit trail: every change to a case, with who, when, what and from which channel."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from caseboard.models import AuditEvent, utcnow


def record(session: Session, case_id: int | None, actor: str, action: str,
           channel: str = "", **details: Any) -> None:
    session.execute(sa.insert(AuditEvent).values(
        case_id=case_id, at=utcnow(), actor=actor, channel=channel, action=action,
        details=details))
