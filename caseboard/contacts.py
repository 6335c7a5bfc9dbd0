"""The types channels hand to intake: one InboundContact per contact, whatever the channel."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
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


# C0 control characters but tab, line feed and carriage return, and DEL. They mean nothing in
# what a citizen writes, PostgreSQL refuses NUL in text and in JSON, and an agent's screen or a
# reply would carry them on.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def without_controls(contact: InboundContact) -> InboundContact:
    """The contact with control characters removed from every text it carries (sender,
    subject, text, ids, attachment names, the strings in `metadata`), else unchanged.

    The common case costs one regex search over its texts joined; only a contact that has
    some is rebuilt. Raises ValueError when what is left is no contact (an external id or
    sender made of control characters alone)."""
    if CONTROL_CHARACTERS.search("".join(_texts(contact))) is None:
        return contact
    sender = contact.sender
    return dataclasses.replace(
        contact, external_id=_clean(contact.external_id),
        sender=dataclasses.replace(sender, **{
            name: _clean(getattr(sender, name)) for name in _SENDER_FIELDS}),
        text=_clean(contact.text), subject=_clean(contact.subject),
        language=_clean(contact.language),
        attachments=tuple(dataclasses.replace(
            attachment, filename=_clean(attachment.filename),
            content_type=_clean(attachment.content_type))
            for attachment in contact.attachments),
        thread_ids=tuple(_clean(thread_id) for thread_id in contact.thread_ids),
        own_thread_id=_clean(contact.own_thread_id),
        explicit_department=_clean_optional(contact.explicit_department),
        explicit_service=_clean_optional(contact.explicit_service),
        metadata=_clean_json(contact.metadata))


_SENDER_FIELDS = tuple(f.name for f in dataclasses.fields(Sender))


def _texts(contact: InboundContact) -> list[str]:
    sender = contact.sender
    texts = [contact.external_id, contact.text, contact.subject, contact.language,
             contact.own_thread_id, contact.explicit_department or "",
             contact.explicit_service or "", sender.name, sender.email, sender.phone,
             sender.address, sender.postcode, sender.chat_session, *contact.thread_ids]
    for attachment in contact.attachments:
        texts += (attachment.filename, attachment.content_type)
    _json_texts(contact.metadata, texts)
    return texts


def _json_texts(value: Any, texts: list[str]) -> None:
    if isinstance(value, str):
        texts.append(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            texts.append(str(key))
            _json_texts(item, texts)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _json_texts(item, texts)


def _clean(text: str) -> str:
    return CONTROL_CHARACTERS.sub("", text)


def _clean_optional(text: str | None) -> str | None:
    return None if text is None else _clean(text) or None


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, dict):
        return {_clean(str(key)): _clean_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_json(item) for item in value]
    return value


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
