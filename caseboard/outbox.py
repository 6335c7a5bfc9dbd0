"""The outbox: replies are written here in the reply's own transaction, then sent by a worker.

Channels register a transport per channel name; the case board never imports channels.
A transport raises RetryableSendError for outages (the item waits with back-off) and
PermanentSendError for what will never work (a bad address): those fail at once. An agent's
reply that fails for good (here, or later through give_up: a bounce) undoes what sending it
did to the case (workflow.reply_undelivered); automatic mail failing changes no case.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from caseboard import workflow
from caseboard.db import Database, insert_returning_id
from caseboard.models import Message, OutboxItem, utcnow
from caseboard.timelimits import BusinessCalendar

log = logging.getLogger(__name__)

BACKOFF_SECONDS = (5, 30, 120, 600, 1800, 3600)  # then every hour until max_attempts
LEASE_SECONDS = 300


class RetryableSendError(Exception):
    """The channel is unreachable for now (relay down, HTTP 5xx, timeout): try again later;
    not before `not_before` when the transport knows (a survey call waits for opening hours)."""

    def __init__(self, *args: object, not_before: dt.datetime | None = None) -> None:
        super().__init__(*args)
        self.not_before = not_before


class PermanentSendError(Exception):
    """The message can never be delivered as it is (invalid address, rejected content)."""


@dataclass(frozen=True)
class OutgoingMessage:
    outbox_id: int
    case_id: int
    message_id: int | None
    channel: str
    recipient: str
    kind: str
    payload: dict[str, Any]


Transport = Callable[[OutgoingMessage], str | None]  # returns the channel's id for the message
_transports: dict[str, Transport] = {}


def register_transport(channel: str, transport: Transport) -> None:
    _transports[channel] = transport


def registered_channels() -> list[str]:
    return sorted(_transports)


def enqueue(session: Session, *, case_id: int, channel: str, recipient: str, kind: str,
            payload: dict[str, Any], message_id: int | None = None,
            now: dt.datetime | None = None) -> int:
    """Queue a message; call inside the transaction that writes the reply itself."""
    now = now or utcnow()
    return insert_returning_id(session, OutboxItem, dict(
        case_id=case_id, message_id=message_id, channel=channel, recipient=recipient, kind=kind,
        payload=payload, status="pending", attempts=0, next_attempt_at=now, created_at=now,
        last_error="", sent_at=None,
    ))


class Dispatcher:
    """Sends due outbox items one at a time; several dispatchers may run against one database."""

    def __init__(self, database: Database, max_attempts: int,
                 transports: dict[str, Transport] | None = None,
                 calendar: BusinessCalendar | None = None) -> None:
        self.database = database
        self.max_attempts = max_attempts
        self.transports = _transports if transports is None else transports
        self.calendar = calendar  # to resume a case waiting on a reply that never arrived

    def send_one(self, now: dt.datetime | None = None) -> bool:
        """Claim one due item and try to send it. Returns False when nothing is due."""
        now = now or utcnow()
        claimed = self._claim(now)
        if claimed is None:
            return False
        outcome, detail, not_before = self._deliver(claimed)
        self._record(claimed, outcome, detail, utcnow(), not_before)
        return True

    def _claim(self, now: dt.datetime) -> OutgoingMessage | None:
        channels = list(self.transports)
        if not channels:
            return None
        with self.database.write() as session:
            query = (select(OutboxItem)
                     .where(col(OutboxItem.status) == "pending",
                            col(OutboxItem.next_attempt_at) <= now,
                            col(OutboxItem.channel).in_(channels))
                     .order_by(col(OutboxItem.next_attempt_at)).limit(1))
            if not self.database.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            item = session.execute(query).scalar_one_or_none()
            if item is None:
                return None
            # Lease the item for longer than any send may take: other dispatchers leave it
            # alone, and if this worker dies mid-send it becomes due again afterwards.
            item.attempts += 1
            item.next_attempt_at = now + dt.timedelta(seconds=LEASE_SECONDS)
            assert item.id is not None
            return OutgoingMessage(item.id, item.case_id, item.message_id, item.channel,
                                   item.recipient, item.kind, dict(item.payload))

    def _deliver(self, message: OutgoingMessage) -> tuple[str, str, dt.datetime | None]:
        transport = self.transports.get(message.channel)
        if transport is None:
            return "retry", f"no transport for channel {message.channel}", None
        try:
            return "sent", transport(message) or "", None
        except PermanentSendError as error:
            return "failed", str(error) or type(error).__name__, None
        except RetryableSendError as error:
            return "retry", str(error) or type(error).__name__, error.not_before
        except Exception as error:  # an unexpected bug in a transport must not stop the loop
            log.exception("transport for %s crashed", message.channel)
            return "retry", f"{type(error).__name__}: {error}", None

    def _record(self, message: OutgoingMessage, outcome: str, detail: str,
                now: dt.datetime, not_before: dt.datetime | None = None) -> None:
        with self.database.write() as session:
            item = session.get(OutboxItem, message.outbox_id)
            if item is None:
                return
            # A transport that says when to try again is waiting, not failing: not counted.
            if outcome == "retry" and item.attempts >= self.max_attempts and not not_before:
                outcome = "failed"
            if outcome == "sent":
                item.status, item.sent_at, item.last_error = "sent", now, ""
            elif outcome == "failed":
                item.status, item.last_error = "failed", detail
            else:
                item.last_error = detail
                item.next_attempt_at = max(now + dt.timedelta(seconds=_backoff(item.attempts)),
                                           not_before or now)
            if item.message_id is not None:
                _update_message(session, item.message_id, outcome, detail)
            if outcome == "failed":
                workflow.reply_undelivered(session, item, detail, calendar=self.calendar,
                                           now=now)


def give_up(session: Session, item: OutboxItem, reason: str, *,
            calendar: BusinessCalendar | None = None, now: dt.datetime | None = None) -> None:
    """Fail an item for good after it left (a channel learns it later: a bounce); a reply's
    case goes back to work as when the dispatcher gives up, once however often it is told."""
    already = item.status == "failed"
    item.status, item.last_error = "failed", reason
    session.add(item)
    if not already:
        workflow.reply_undelivered(session, item, reason, calendar=calendar, now=now)


def _update_message(session: Session, message_id: int, outcome: str, detail: str) -> None:
    message = session.get(Message, message_id)
    if message is None:
        return
    if outcome == "sent":
        # A fast channel's delivery callback ("delivered", or a carrier's "failed") may have
        # landed before this transaction: never move the message's state backwards.
        if message.delivery_status not in ("delivered", "failed"):
            message.delivery_status, message.delivery_error = "sent", ""
        if detail and not message.external_id:
            message.external_id = detail
    elif outcome == "failed":
        message.delivery_status, message.delivery_error = "failed", detail
    else:
        message.delivery_error = f"retrying: {detail}"


def _backoff(attempts: int) -> int:
    return BACKOFF_SECONDS[min(attempts - 1, len(BACKOFF_SECONDS) - 1)]
