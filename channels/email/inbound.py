"""One received mail → one committed contact (or a processed delivery report).

`handle_message` is the whole inbound channel apart from the socket: the SMTP server calls it
from handle_DATA and answers 250 only after it returns, so a returned outcome means the
contact is in the database. Bad input raises RejectedMail with the SMTP reply to give;
anything else (the database is down) propagates and the server answers 451.

Stored text: Message.text is the readable text with the reply's own words first and the
quoted history after them; details["email"]["reply_chars"] says where the new part ends.
The original bytes are kept as the attachment "original.eml" (stored by hash).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from caseboard.contacts import InboundContact, IncomingAttachment, Sender
from caseboard.intake import IntakeError
from caseboard.models import utcnow
from caseboard.services import Services
from channels.email import bounces
from channels.email.parse import ParsedMail, UnreadableMail, parse_mail
from settings import Config

_EMAIL = re.compile(r"^[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:]+$")


class RejectedMail(ValueError):
    """The mail is refused as it is; `code` and the message are the SMTP reply."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason

    @property
    def smtp_reply(self) -> str:
        status = "5.3.4" if self.code == 552 else "5.6.0" if self.code == 554 else "5.1.0"
        return f"{self.code} {status} {self.reason}"


@dataclass(frozen=True)
class EmailOutcome:
    kind: str  # created / joined / duplicate / bounce / report
    reference: str = ""
    acknowledged: bool = False
    detail: str = ""

    @property
    def smtp_reply(self) -> str:
        if self.reference:
            return f"250 2.0.0 OK {self.kind} {self.reference}"
        return f"250 2.0.0 OK {self.kind}"


def accepts_recipient(config: Config, address: str) -> bool:
    """The main address and one alias per department, on our domain."""
    return recipient_department(config, address) is not None


def recipient_department(config: Config, address: str) -> str | None:
    """"" for the main address, the department id for an alias, None for anything else."""
    local, _, domain = address.strip().strip("<>").lower().rpartition("@")
    if domain != config["smtp.domain"].lower() or not local:
        return None
    if local == config["smtp.mailbox"].lower():
        return ""
    return local if config.department(local) is not None else None


def handle_message(services: Services, raw: bytes, mail_from: str,
                   rcpt_tos: Sequence[str], received_at: dt.datetime | None = None
                   ) -> EmailOutcome:
    """Parse, file and commit one mail; raise RejectedMail for mail we will not take."""
    config = services.config
    if len(raw) > config["smtp.max_message_bytes"]:
        raise RejectedMail(552, f"message larger than {config['smtp.max_message_bytes']} bytes")
    try:
        mail = parse_mail(raw, mail_from)
    except UnreadableMail as error:
        raise RejectedMail(554, str(error)) from None
    if mail.is_report:
        return bounces.handle_report(services, mail)
    sender = _sender_address(mail, mail_from)
    if sender is None:
        raise RejectedMail(550, "no usable sender address in From or MAIL FROM")
    department = next((d for d in (recipient_department(config, r) for r in rcpt_tos) if d),
                      None)
    now = received_at or utcnow()
    if not mail.auto_reason and sender.endswith("@" + config["smtp.domain"].lower()):
        mail.auto_reason = "sent from our own domain"  # never answer ourselves
    contact = build_contact(config, mail, raw, sender, department, now)
    try:
        result = services.intake.take(contact)
    except IntakeError as error:
        raise RejectedMail(554, str(error)) from None
    return EmailOutcome(result.outcome.value, result.reference, result.acknowledged,
                        mail.auto_reason)


def build_contact(config: Config, mail: ParsedMail, raw: bytes, sender: str,
                  department: str | None, now: dt.datetime) -> InboundContact:
    attachments, notes = _attachments(config, mail, raw)
    text = _text(config, mail, notes)
    external_id = mail.message_id or "sha256:" + hashlib.sha256(raw).hexdigest()
    details = {
        "message_id": mail.message_id, "from": mail.from_address, "to": mail.to[:20],
        "cc": mail.cc[:20], "date": mail.date.isoformat() if mail.date else "",
        "in_reply_to": mail.in_reply_to, "references": mail.references[-10:],
        "reply_chars": len(mail.new_text), "html_only": mail.html_only,
        "automatic": mail.auto_reason,
        "not_kept": notes, "defects": mail.defects, "charset": mail.charset,
    }
    thread_ids = tuple(dict.fromkeys([*mail.in_reply_to, *reversed(mail.references)]))
    return InboundContact(
        channel="email", external_id=external_id,
        sender=Sender(name=mail.from_name[:200], email=sender),
        text=text, subject=mail.subject[:998], language=guess_language(mail),
        attachments=tuple(attachments), received_at=now, thread_ids=thread_ids[:30],
        own_thread_id=mail.message_id, explicit_department=department or None,
        automated=bool(mail.auto_reason),
        # Loop guard: a sender acknowledged this often in the last hour gets no more.
        ack_limit_per_hour=config["smtp.ack_limit_per_hour"], metadata={"email": details},
    )


def _sender_address(mail: ParsedMail, mail_from: str) -> str | None:
    for candidate in (mail.from_address, mail_from):
        address = candidate.strip().strip("<>").lower()
        if address and len(address) <= 320 and _EMAIL.match(address):
            return address
    return None


def _attachments(config: Config, mail: ParsedMail, raw: bytes
                 ) -> tuple[list[IncomingAttachment], list[str]]:
    """The attachments to store, within the count and size limits, plus the original.

    Together they may not take more than the mail itself: each enclosed message/rfc822 is
    kept as an .eml of its own, and a message nested eight deep would otherwise be stored
    eight times over. What is left out is still inside original.eml."""
    size_limit = config["intake.max_attachment_bytes"]
    count_limit = config["smtp.max_attachments"]
    kept: list[IncomingAttachment] = []
    notes = list(mail.skipped)
    budget = len(raw)
    for attachment in mail.attachments:
        size = len(attachment.data)
        if size > size_limit:
            notes.append(f"{attachment.filename} ({size} bytes): larger than "
                         f"{size_limit} bytes")
        elif len(kept) >= count_limit:
            notes.append(f"{attachment.filename}: more than {count_limit} attachments")
        elif size > budget:
            notes.append(f"{attachment.filename} ({size} bytes): the attachments would take "
                         "more room than the mail itself (it is in original.eml)")
        else:
            budget -= size
            kept.append(IncomingAttachment(attachment.filename, attachment.content_type,
                                           attachment.data))
    if len(raw) <= size_limit:
        kept.append(IncomingAttachment("original.eml", "message/rfc822", raw))
    else:
        notes.append(f"original.eml ({len(raw)} bytes): larger than {size_limit} bytes")
    return kept, notes


def _text(config: Config, mail: ParsedMail, notes: list[str]) -> str:
    text = mail.text
    if not text.strip():
        names = ", ".join(a.filename for a in mail.attachments[:10])
        text = "(the mail has no text" + (f"; attachments: {names})" if names else ")")
    limit = config["intake.max_text_chars"]
    if len(text) > limit:
        notice = "\n\n[… the text was shortened; the whole mail is kept as original.eml]"
        text = text[:limit - len(notice)] + notice
    if notes:
        footer = "\n\n[not kept: " + "; ".join(notes[:10]) + "]"
        text = text[:limit - len(footer)] + footer
    return text


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA_HANGUL = re.compile(r"[\u3040-\u30ff\uac00-\ud7af]")


def guess_language(mail: ParsedMail) -> str:
    """"zh" when the words are mostly Chinese characters, else "en" (the two we answer in)."""
    sample = f"{mail.subject}\n{mail.new_text}"[:2000]
    han = len(_HAN.findall(sample))
    if not han:  # most mail: no need to count the letters
        return "en"
    letters = sum(map(str.isalpha, sample))
    if han >= letters * 0.3 and not _KANA_HANGUL.search(sample):
        return "zh"
    return "en"
