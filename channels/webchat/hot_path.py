"""The statements every citizen line runs inside the shared write transaction.

Intake's group commit runs the writers of a batch one after the other, so what each line
costs there is paid by every line queued behind it: these are built once (no ORM statement
building per line), and the per-minute counts stop at the limit instead of counting all of a
busy address's lines.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from caseboard.db import connection_of
from caseboard.models import Case, table_of
from channels.webchat.models import ChatLine
from dbtypes import UTCDateTime

_lines = table_of(ChatLine)
_cases = table_of(Case)

_SAME_CLIENT_ID = sa.select(
    _lines.c.id, _lines.c.author, _lines.c.author_name, _lines.c.text, _lines.c.created_at,
    _lines.c.client_id,
).where(_lines.c.session_id == sa.bindparam("session_id"),
        _lines.c.client_id == sa.bindparam("client_id"))


def _capped_count(*conditions: sa.ColumnElement[bool]) -> sa.Select[Any]:
    recent = (sa.select(sa.literal(1)).select_from(_lines)
              .where(*conditions, _lines.c.created_at > sa.bindparam("since", type_=UTCDateTime()))
              .limit(sa.bindparam("limit")).subquery())
    return sa.select(sa.func.count()).select_from(recent)


_PER_SESSION = _capped_count(_lines.c.session_id == sa.bindparam("session_id"),
                             _lines.c.author == "citizen")
_PER_ADDRESS = _capped_count(_lines.c.address == sa.bindparam("address"))
_TOUCH_CASE = (sa.update(_cases).where(_cases.c.id == sa.bindparam("case_id"))
               .values(updated_at=sa.bindparam("now", type_=UTCDateTime())))


def same_client_id(session: Session, session_id: str,
                   client_id: str) -> tuple[int, str, str, str, dt.datetime, str] | None:
    """The line already stored with this client id (id, author, name, text, at, client id)."""
    row = connection_of(session).execute(
        _SAME_CLIENT_ID, {"session_id": session_id, "client_id": client_id}).first()
    return None if row is None else (row[0], row[1], row[2], row[3], row[4], row[5])


def lines_since(session: Session, since: dt.datetime, limit: int, *,
                session_id: str = "", address: str = "") -> int:
    """Citizen lines of the chat (or lines from the address) since `since`, up to `limit`."""
    statement, key = ((_PER_SESSION, {"session_id": session_id}) if session_id
                      else (_PER_ADDRESS, {"address": address}))
    return int(connection_of(session).execute(
        statement, {**key, "since": since, "limit": limit}).scalar_one())


def touch_case(session: Session, case_id: int, now: dt.datetime) -> None:
    connection_of(session).execute(
        _TOUCH_CASE, {"case_id": case_id, "now": now})
