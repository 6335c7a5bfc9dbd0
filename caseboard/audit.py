"""The audit trail: every change to a case, with who, when, what and from which channel."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from caseboard.db import insert_rows
from caseboard.models import AuditEvent, utcnow


def event(case_id: int | None, actor: str, action: str, channel: str = "",
          **details: Any) -> dict[str, Any]:
    """One audit row, to be written with record_all()."""
    return {"case_id": case_id, "at": utcnow(), "actor": actor, "channel": channel,
            "action": action, "details": details}


def record_all(session: Session, events: list[dict[str, Any]]) -> None:
    insert_rows(session, AuditEvent, events)


def record(session: Session, case_id: int | None, actor: str, action: str,
           channel: str = "", **details: Any) -> None:
    record_all(session, [event(case_id, actor, action, channel, **details)])
