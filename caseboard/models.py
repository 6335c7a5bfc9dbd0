"""The domain model: departments, citizens, cases, messages, users, audit and outbox.

Times are stored as naive UTC (SQLite has no time zones) and come back as aware UTC, through
the UTCDateTime column type. Schema changes go through Alembic (caseboard/migrations).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field, SQLModel

from dbtypes import UTCDateTime, time_field, utcnow

__all__ = ["UTCDateTime", "utcnow"]  # re-exported: migrations and intake use them from here


def table_of(model: type[SQLModel]) -> sa.Table:
    """The Core table behind a model, for the fast statements of the intake hot path."""
    return model.__table__  # type: ignore[attr-defined]


def _time(nullable: bool = True, index: bool = False) -> Any:
    return time_field(nullable, index)


class CaseStatus(enum.StrEnum):
    NEW = "new"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    WAITING_CITIZEN = "waiting_citizen"
    ANSWERED = "answered"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"
    NOTE = "note"


class IdentityKind(enum.StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    CHAT = "chat"
    ADDRESS = "address"


class Department(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=40)
    name_en: str
    name_zh: str = ""
    active: bool = True


class ServiceType(SQLModel, table=True):
    __tablename__ = "service_type"

    code: str = Field(primary_key=True, max_length=40)
    department_id: str = Field(foreign_key="department.id", index=True)
    name_en: str
    name_zh: str = ""
    priority: str = "normal"
    active: bool = True


class Citizen(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = ""
    address: str = ""
    postcode: str = Field(default="", index=True)
    preferred_language: str = ""
    preferred_channel: str = ""
    created_at: dt.datetime = _time(nullable=False)


class CitizenIdentity(SQLModel, table=True):
    """One way to reach a citizen; (kind, value) is unique so one address means one citizen."""

    __tablename__ = "citizen_identity"
    # Value first: intake looks identities up by value (the index serves that lookup).
    __table_args__ = (sa.UniqueConstraint("value", "kind", name="uq_identity_value_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    citizen_id: int = Field(foreign_key="citizen.id", index=True)
    kind: str = Field(max_length=16)
    value: str = Field(max_length=320)
    created_at: dt.datetime = _time(nullable=False)


class IdentitySuggestion(SQLModel, table=True):
    """A possible match (e.g. same name and postcode) for an agent to confirm or reject."""

    __tablename__ = "identity_suggestion"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    citizen_id: int = Field(foreign_key="citizen.id")
    suggested_citizen_id: int = Field(foreign_key="citizen.id")
    score: float
    reason: str
    status: str = "pending"  # pending / confirmed / rejected
    created_at: dt.datetime = _time(nullable=False)


class Case(SQLModel, table=True):
    # Few indexes on purpose: each one is a page written to the WAL on every intake commit.
    __tablename__ = "cases"
    __table_args__ = (sa.Index("ix_cases_department_status", "department_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, max_length=32)
    citizen_id: int = Field(foreign_key="citizen.id", index=True)
    department_id: str = Field(foreign_key="department.id")
    service_code: str | None = Field(default=None, foreign_key="service_type.code")
    status: str = Field(default=CaseStatus.NEW, max_length=20)
    priority: str = Field(default="normal", max_length=10)
    channel: str = Field(max_length=16)
    subject: str = ""
    language: str = ""
    routing_confidence: float = 0.0
    routing_reasons: list[str] = Field(default_factory=list, sa_type=JSON)
    assigned_user_id: int | None = Field(default=None, foreign_key="users.id")
    parent_case_id: int | None = Field(default=None, foreign_key="cases.id")
    return_count: int = 0
    created_at: dt.datetime = _time(nullable=False)
    updated_at: dt.datetime = _time(nullable=False)
    first_response_due: dt.datetime | None = _time()
    resolution_due: dt.datetime | None = _time()
    first_response_at: dt.datetime | None = _time()
    resolved_at: dt.datetime | None = _time()
    closed_at: dt.datetime | None = _time()
    paused_since: dt.datetime | None = _time()


class Message(SQLModel, table=True):
    """A message on a case: inbound, outbound or an internal note.

    (channel, external_id) is unique: the same delivery twice is one message. NULL external
    ids (notes, replies before sending) are distinct on both SQLite and PostgreSQL.
    """

    __table_args__ = (
        sa.UniqueConstraint("channel", "external_id", name="uq_message_channel_external_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    direction: str = Field(max_length=8)
    channel: str = Field(max_length=16)
    external_id: str | None = Field(default=None, max_length=255)
    thread_id: str | None = Field(default=None, max_length=255, index=True)
    sender: str = ""
    subject: str = ""
    text: str = ""
    language: str = ""
    delivery_status: str = "received"  # received / queued / sent / delivered / failed
    delivery_error: str = ""
    author_user_id: int | None = Field(default=None, foreign_key="users.id")
    article_slug: str | None = None
    article_version: int | None = None
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: dt.datetime = _time(nullable=False)


class Attachment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    sha256: str = Field(max_length=64, index=True)
    filename: str
    content_type: str
    size: int


class StoredBlob(SQLModel, table=True):
    """Small stored content (a mail's original, a small attachment) kept in the database
    instead of a file: written in the transaction of the row that points at it, it is as
    durable as that row and costs no disk syncs of its own (caseboard/files.py)."""

    __tablename__ = "stored_blob"

    sha256: str = Field(primary_key=True, max_length=64)
    size: int
    data: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    at: dt.datetime = _time(nullable=False)
    actor: str  # a username, "citizen", or "system"
    channel: str = ""
    action: str
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=64)
    display_name: str = ""
    role: str = Field(max_length=16)  # agent / supervisor / admin
    password_hash: str = ""
    languages: list[str] = Field(default_factory=list, sa_type=JSON)
    skills: list[str] = Field(default_factory=list, sa_type=JSON)
    capacity: dict[str, int] = Field(default_factory=dict, sa_type=JSON)  # channel → cases
    presence: str = "offline"  # available / busy / away / offline
    presence_since: dt.datetime = _time(nullable=False)
    last_assigned_at: dt.datetime | None = _time()
    failed_logins: int = 0
    locked_until: dt.datetime | None = _time()
    active: bool = True
    created_at: dt.datetime = _time(nullable=False)


class UserDepartment(SQLModel, table=True):
    __tablename__ = "user_department"

    user_id: int = Field(foreign_key="users.id", primary_key=True)
    department_id: str = Field(foreign_key="department.id", primary_key=True)


class ApiToken(SQLModel, table=True):
    """A bearer token for the API; only its SHA-256 is stored, the token is shown once."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    role: str = Field(max_length=16)
    # The user the token acts for: it reads the cases that user sees on the board. NULL for
    # intake tokens and for tokens made before tokens had users (see caseboard/auth.py).
    user_id: int | None = Field(default=None, foreign_key="users.id")
    token_hash: str = Field(unique=True, max_length=64)
    created_at: dt.datetime = _time(nullable=False)
    expires_at: dt.datetime | None = _time()
    revoked_at: dt.datetime | None = _time()
    last_used_at: dt.datetime | None = _time()


class OutboxItem(SQLModel, table=True):
    """A message waiting to leave through a channel; written with the reply, sent by a worker."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    message_id: int | None = Field(default=None, foreign_key="message.id")
    channel: str = Field(max_length=16)
    recipient: str
    kind: str = "reply"  # acknowledgement / reply / notification
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default="pending")  # pending / sent / failed
    attempts: int = 0
    next_attempt_at: dt.datetime = _time(nullable=False)
    last_error: str = ""
    created_at: dt.datetime = _time(nullable=False)
    sent_at: dt.datetime | None = _time()


class ReferenceCounter(SQLModel, table=True):
    """The last case number used per year; incremented under a row lock."""

    __tablename__ = "reference_counter"

    year: int = Field(primary_key=True)
    last_number: int = 0
