"""Delivery reports are not cases: a bounce marks our outbound message failed, with the
reason, and the address as bouncing; complaints and read receipts are only logged.

A hard bounce (status 5.x.x or Action: failed) is remembered as a CitizenIdentity of kind
"email_bouncing" next to the citizen's email identity: agents see it with the citizen's
identities, and automatic mail to that address stops (see outbound.py).
"""

from __future__ import annotations

import email
import logging
import re
from dataclasses import dataclass
from email.message import Message as MimePart
from email.policy import compat32
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from caseboard import audit
from caseboard.models import CitizenIdentity, Message, OutboxItem, utcnow
from caseboard.services import Services

if TYPE_CHECKING:
    from channels.email.inbound import EmailOutcome
    from channels.email.parse import ParsedMail

log = logging.getLogger(__name__)
BOUNCING = "email_bouncing"
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
        recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
        if not recipient:
            continue
        address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
        action = str(block.get("Action") or "").strip().lower()
        status = str(block.get("Status") or "").strip()
        diagnostic = " ".join(str(block.get("Diagnostic-Code") or "").split())
        diagnostic = diagnostic.split(";", 1)[-1].strip() if ";" in diagnostic else diagnostic
        failures.append(Failure(address, action or "failed", status[:20],
                                (diagnostic or f"status {status}")[:500]))
    return failures


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
    from caseboard.models import Case

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
            reason = f"bounced ({failure.status or failure.action}): {failure.reason}"
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
        if failure.permanent:
            mark_bouncing(session, failure.address)
    return list(dict.fromkeys(cases))


def _fail_outbox(session: Session, message: Message, reason: str) -> None:
    outbox_id = (message.details or {}).get("outbox_id")
    if isinstance(outbox_id, int):  # an acknowledgement the transport recorded
        item = session.get(OutboxItem, outbox_id)
    else:  # an agent's reply, queued with its message
        item = session.execute(select(OutboxItem).where(
            col(OutboxItem.message_id) == message.id)).scalars().first()
    if item is not None:
        item.status, item.last_error = "failed", reason[:1000]


def mark_bouncing(session: Session, address: str) -> None:
    owner = session.execute(
        select(CitizenIdentity.citizen_id).where(col(CitizenIdentity.kind) == "email",
                                                 col(CitizenIdentity.value) == address)
    ).scalar_one_or_none()
    if owner is None:
        return
    exists = session.execute(
        select(CitizenIdentity.id).where(col(CitizenIdentity.kind) == BOUNCING,
                                         col(CitizenIdentity.value) == address)
    ).scalar_one_or_none()
    if exists is None:
        session.add(CitizenIdentity(citizen_id=owner, kind=BOUNCING, value=address,
                                    created_at=utcnow()))


def is_bouncing(session: Session, address: str) -> bool:
    return session.execute(
        select(CitizenIdentity.id).where(col(CitizenIdentity.kind) == BOUNCING,
                                         col(CitizenIdentity.value) == address.lower())
    ).scalar_one_or_none() is not None
