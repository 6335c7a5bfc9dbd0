"""Tables behind the supervisors' pages: counters folded from the audit trail, alerts,
deadline extensions and satisfaction surveys.

Kept out of models.py because only the supervisor side reads them. Migration 0009 imports this
module, so the tables are on SQLModel.metadata whenever the schema is migrated or compared.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from dbtypes import time_field


class AuditCursor(SQLModel, table=True):
    """How far one consumer of the audit trail has read (the counters, the survey sender).

    Its row is locked while a batch is folded, so two workers never fold the same events.
    """

    __tablename__ = "audit_cursor"

    name: str = Field(primary_key=True, max_length=40)
    last_event_id: int = 0
    updated_at: dt.datetime | None = time_field(True, False)


class OpenCaseState(SQLModel, table=True):
    """What the counters last counted for one open case; deleted when the case is done.

    risk_at / breach_at are the moments its earliest running clock becomes at risk and
    breaks its limit (NULL: never, e.g. paused). `counted` is what the at-risk and breach
    counters (LiveCounter) count it as: the counter folder sets it when the case changes, the
    time-limit monitor moves it on when the clock crosses risk_at or breach_at, and the
    (counted, moment) indexes find exactly the cases about to cross.
    """

    __tablename__ = "sup_open_case"
    __table_args__ = (
        sa.Index("ix_sup_open_case_waiting", "waiting", "department_id", "channel",
                 "created_at"),
        sa.Index("ix_sup_open_case_risk", "risk_at", "department_id", "channel", "breach_at"),
        sa.Index("ix_sup_open_case_breach", "breach_at"),
        sa.Index("ix_sup_open_case_cross_risk", "counted", "risk_at"),
        sa.Index("ix_sup_open_case_cross_breach", "counted", "breach_at"),
    )

    case_id: int = Field(primary_key=True, foreign_key="cases.id")
    department_id: str = Field(max_length=40)
    channel: str = Field(max_length=16)
    waiting: bool = False
    held_by: int | None = None
    created_at: dt.datetime = time_field(False, False)
    risk_at: dt.datetime | None = time_field(True, False)
    breach_at: dt.datetime | None = time_field(True, False)
    counted: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


# OpenCaseState.counted
NOT_COUNTED, COUNTED_AT_RISK, COUNTED_BREACHED = 0, 1, 2


class LiveCounter(SQLModel, table=True):
    """Current counts per department and channel (metric: open, waiting, at_risk, breached)."""

    __tablename__ = "sup_live_counter"

    metric: str = Field(primary_key=True, max_length=24)
    department_id: str = Field(primary_key=True, max_length=40)
    channel: str = Field(primary_key=True, max_length=16)
    value: int = 0


class AgentLoad(SQLModel, table=True):
    """Open cases an agent holds per kind of work (phone, chat, email, letter)."""

    __tablename__ = "sup_agent_load"

    user_id: int = Field(primary_key=True)
    work: str = Field(primary_key=True, max_length=16)
    value: int = 0


class DailyCounter(SQLModel, table=True):
    """Counts per local day (or hour, in `hour`: 0-23, -1 for the whole day).

    metrics: contacts, created, returns, resolved, resolved_on_time, resolved_late, backlog.
    """

    __tablename__ = "sup_daily_counter"

    day: dt.date = Field(primary_key=True)
    hour: int = Field(default=-1, primary_key=True)
    metric: str = Field(primary_key=True, max_length=24)
    department_id: str = Field(primary_key=True, max_length=40)
    channel: str = Field(primary_key=True, max_length=16)
    value: int = 0


class SupervisorAlert(SQLModel, table=True):
    """A time-limit reminder to an agent, an escalation to supervisors, or a low score."""

    __tablename__ = "sup_alert"
    __table_args__ = (sa.UniqueConstraint("case_id", "kind", "due", name="uq_sup_alert_once"),
                      sa.Index("ix_sup_alert_open", "resolved", "raised_at"),
                      sa.Index("ix_sup_alert_to_user", "to_user_id", "raised_at"))

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    kind: str = Field(max_length=16)  # reminder / escalation / low_score
    due: dt.datetime | None = time_field(True, False)
    to_user_id: int | None = None  # the agent reminded; NULL: the supervisors
    message: str = ""
    raised_at: dt.datetime = time_field(False, False)
    resolved: bool = False


class AlertRead(SQLModel, table=True):
    """A user has read an alert (an agent their reminder); one row per alert and reader."""

    __tablename__ = "sup_alert_read"

    alert_id: int = Field(primary_key=True, foreign_key="sup_alert.id")
    user_id: int = Field(primary_key=True, foreign_key="users.id")
    read_at: dt.datetime = time_field(False, False)


class DeadlineExtension(SQLModel, table=True):
    """An agent's request for more time on a case, approved or refused by a supervisor."""

    __tablename__ = "sup_extension"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    requested_by: str = Field(max_length=64)
    hours: float
    reason: str = ""
    status: str = Field(default="pending", max_length=12, index=True)
    decided_by: str = ""
    created_at: dt.datetime = time_field(False, False)
    decided_at: dt.datetime | None = time_field(True, False)


class Survey(SQLModel, table=True):
    """One satisfaction question sent after a case was resolved, and its answer."""

    __tablename__ = "sup_survey"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    channel: str = Field(max_length=16)
    department_id: str = Field(max_length=40)
    agent_user_id: int | None = None
    article_slug: str | None = Field(default=None, max_length=120)
    score: int | None = None
    created_at: dt.datetime = time_field(False, False)
    answered_at: dt.datetime | None = time_field(True, False)
    # The outbox item asking now, until it is sent or refused (then the next way is tried):
    # only questions on their way have one, so following them up reads a handful of rows.
    outbox_id: int | None = Field(default=None, index=True)
    asked_on: str = Field(default="", max_length=64)  # the channels tried, in order
