"""Delivery reports are not cases: a bounce marks our outbound message failed, with the
reason, and the address as bouncing; complaints and read receipts are only logged.

The mark is the bounce itself, on the outbox item it reports (status "failed", last_error
"bounced (5.1.1): …"), so it needs no table of its own and can be neither forged for an
address we never wrote to nor forgotten: an address is bouncing while the newest mail we
got out to it bounced. It clears when a later mail to it is accepted by the relay, or when
the citizen writes to us from it after we sent the mail that bounced. While it holds, no
automatic mail goes there (outbound.py); agents' replies still do, and one that is accepted
clears it.
"""

from __future__ import annotations

import email
import logging
import re
from dataclasses import dataclass
from email.message import Message as MimePart
from email.policy import compat32
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Session, col, select

from caseboard import audit, outbox
from caseboard.contacts import CONTROL_CHARACTERS
from caseboard.models import Case, CitizenIdentity, Message, OutboxItem
from caseboard.services import Services

if TYPE_CHECKING:
    from channels.email.inbound import EmailOutcome
    from channels.email.parse import ParsedMail

log = logging.getLogger(__name__)
BOUNCED = "bounced ("  # how a bounce's reason starts on the outbox item it fails
_ADDRESS = re.compile(r"[A-Za-z0-9._%+'=-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True)
class Failure:
    address: str
    action: str  # failed / delayed / delivered / relayed / expanded
    status: str
    reason: str

    @property
    def permanent(self) -> bool:
        return self.action == "failed" or self.status.startswith("5")


@dataclass(frozen=True)
class Report:
    original_message_id: str
    failures: tuple[Failure, ...]


def read_report(mail: ParsedMail) -> Report:
    """The recipients a delivery report is about, and which of our messages it reports."""
    message = mail.mime
    failures: list[Failure] = []
    original = ""
    if message is not None:
        for part in message.walk():
            ctype = part.get_content_type()
            if ctype == "message/delivery-status":
                failures.extend(_status_blocks(part))
            elif ctype in ("message/rfc822", "text/rfc822-headers",
                           "message/rfc822-headers") and not original:
                original = _original_id(part)
    if not failures:  # a bounce written as prose: take the addresses it names
        status = _STATUS.search(mail.text)
        code = status.group(0) if status else "5.0.0"
        own = mail.from_address.lower()
        for address in dict.fromkeys(a.lower() for a in _ADDRESS.findall(mail.new_text)):
            if address != own and not address.startswith(("mailer-daemon", "postmaster")):
                failures.append(Failure(address, "failed" if code[0] == "5" else "delayed",
                                        code, _first_lines(mail.new_text)))
                break
    if not original:
        found = re.search(r"^Message-ID:\s*(<[^>\s]+>)", mail.text, re.I | re.M)
        original = found.group(1) if found else ""
    return Report(original, tuple(failures[:20]))


def _status_blocks(part: MimePart) -> list[Failure]:
    payload = part.get_payload()
    blocks = [b for b in payload if isinstance(b, MimePart)] if isinstance(payload, list) else []
    if not blocks and isinstance(payload, str):  # unparsed: split on blank lines ourselves
        blocks = [email.message_from_string(chunk, policy=compat32)
                  for chunk in re.split(r"\r?\n\s*\r?\n", payload) if chunk.strip()]
    failures = []
    for block in blocks:
        recipient = _field(block, "Final-Recipient") or _field(block, "Original-Recipient")
        if not recipient:
            continue
        address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
        action = _field(block, "Action").strip().lower()
        status = _field(block, "Status").strip()
        diagnostic = " ".join(_field(block, "Diagnostic-Code").split())
        diagnostic = diagnostic.split(";", 1)[-1].strip() if ";" in diagnostic else diagnostic
        failures.append(Failure(address, action or "failed", status[:20],
                                (diagnostic or f"status {status}")[:500]))
    return failures


def _field(block: MimePart, name: str) -> str:
    # No control characters: the values go into the database (PostgreSQL refuses NUL).
    return CONTROL_CHARACTERS.sub("", str(block.get(name) or ""))


def _original_id(part: MimePart) -> str:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], MimePart):
        headers = payload[0]
    elif isinstance(payload, str):
        headers = email.message_from_string(payload, policy=compat32)
    else:
        return ""
    found = re.search(r"<[^<>\s]+>", str(headers.get("Message-ID") or ""))
    return found.group(0) if found else ""


def _first_lines(text: str) -> str:
    return " ".join(text.split())[:300]


def handle_report(services: Services, mail: ParsedMail) -> EmailOutcome:
    from channels.email.inbound import EmailOutcome

    if mail.report_type != "delivery-status":
        log.info("%s report from %s filed without a case", mail.report_type, mail.from_address)
        return EmailOutcome("report", detail=mail.report_type)
    report = read_report(mail)
    references = services.database.write_retrying(lambda s: _apply(s, report))
    return EmailOutcome("bounce", ", ".join(references),
                        detail="; ".join(f"{f.address} {f.status}" for f in report.failures))


def _apply(session: Session, report: Report) -> list[str]:
    """Fail the outbound message the report is about, and mark hard-bouncing addresses."""
    cases: list[str] = []
    message = None
    if report.original_message_id:
        message = session.execute(
            select(Message).where(col(Message.channel) == "email",
                                  col(Message.direction) == "out",
                                  col(Message.thread_id) == report.original_message_id)
        ).scalars().first()
    for failure in report.failures:
        if message is not None:
            reason = f"{BOUNCED}{failure.status or failure.action}): {failure.reason}"
            if failure.permanent:
                message.delivery_status, message.delivery_error = "failed", reason[:1000]
                _fail_outbox(session, message, reason)
            else:
                message.delivery_error = f"delayed: {reason}"[:1000]
            case = session.get(Case, message.case_id)
            if case is not None:
                cases.append(case.reference)
            audit.record(session, message.case_id, "system",
                         "delivery_failed" if failure.permanent else "delivery_delayed",
                         "email", address=failure.address, status=failure.status,
                         reason=failure.reason, message_id=message.id)
    return list(dict.fromkeys(cases))


def _fail_outbox(session: Session, message: Message, reason: str) -> None:
    outbox_id = (message.details or {}).get("outbox_id")
    if isinstance(outbox_id, int):  # an acknowledgement the transport recorded
        item = session.get(OutboxItem, outbox_id)
    else:  # an agent's reply, queued with its message
        item = session.execute(select(OutboxItem).where(
            col(OutboxItem.message_id) == message.id)).scalars().first()
    if item is not None:  # a reply that bounced is no answer: its case goes back to work
        outbox.give_up(session, item, reason[:1000])


def bounced_mail(session: Session, address: str) -> OutboxItem | None:
    """The bounced outbox item that makes the address bouncing, or None when it is not."""
    address = address.strip().lower()
    owners = (select(CitizenIdentity.citizen_id)
              .where(col(CitizenIdentity.kind) == "email", col(CitizenIdentity.value) == address))
    # Through the citizen's cases: the outbox is indexed by case, not by recipient.
    latest = session.execute(
        select(OutboxItem).join(Case, col(Case.id) == col(OutboxItem.case_id))
        .where(col(Case.citizen_id).in_(owners), col(OutboxItem.channel) == "email",
               sa.func.lower(col(OutboxItem.recipient)) == address,
               sa.or_(col(OutboxItem.status) == "sent",
                      sa.and_(col(OutboxItem.status) == "failed",
                              col(OutboxItem.last_error).startswith(BOUNCED))))
        .order_by(col(OutboxItem.id).desc()).limit(1)
    ).scalars().first()
    if latest is None or latest.status == "sent":
        return None
    sent_at = latest.sent_at or latest.created_at
    wrote_since = session.execute(
        select(Message.id).join(Case, col(Case.id) == col(Message.case_id))
        .where(col(Case.citizen_id).in_(owners), col(Message.direction) == "in",
               col(Message.channel) == "email", col(Message.sender) == address,
               col(Message.created_at) > sent_at).limit(1)
    ).first()
    return None if wrote_since is not None else latest


def is_bouncing(session: Session, address: str) -> bool:
    return bounced_mail(session, address) is not None
