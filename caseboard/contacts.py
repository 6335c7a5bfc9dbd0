"""The types channels hand to intake: one InboundContact per contact, whatever the channel."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

from settings import CHANNELS


@dataclass(frozen=True)
class Sender:
    """Who sent the contact, as far as the channel knows. At least one identity is needed."""

    name: str = ""
    email: str = ""
    phone: str = ""
    address: str = ""
    postcode: str = ""
    chat_session: str = ""

    def has_identity(self) -> bool:
        return any((self.email, self.phone, self.address, self.chat_session))


@dataclass(frozen=True)
class IncomingAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class InboundContact:
    """One contact as a channel saw it.

    `external_id` is the channel's own id (Message-ID, MessageSid, the letter's SHA-256...):
    intake uses (channel, external_id) to make repeated deliveries harmless.
    `thread_ids` are the channel's pointers to earlier messages (email In-Reply-To/References);
    `own_thread_id` is this message's id in that scheme, so later replies can point at it.
    """

    channel: str
    external_id: str
    sender: Sender
    text: str
    subject: str = ""
    language: str = ""
    attachments: tuple[IncomingAttachment, ...] = ()
    received_at: dt.datetime | None = None
    thread_ids: tuple[str, ...] = ()
    own_thread_id: str = ""
    explicit_department: str | None = None
    explicit_service: str | None = None
    automated: bool = False  # auto-replies and bounces: filed, never acknowledged
    # A loop guard (> 0): no acknowledgement to a recipient who had this many in the last
    # hour. Counted inside intake's write transaction, so mails arriving together cannot
    # all slip under the limit.
    ack_limit_per_hour: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}")
        if not self.external_id:
            raise ValueError("a contact needs its channel's external id")
        if not self.sender.has_identity():
            raise ValueError("a contact needs at least one sender identity")


class IntakeOutcome(enum.StrEnum):
    CREATED = "created"
    JOINED = "joined"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class IntakeResult:
    outcome: IntakeOutcome
    reference: str
    case_id: int
    message_id: int
    citizen_id: int
    acknowledged: bool = False  # an acknowledgement was queued for the citizen
