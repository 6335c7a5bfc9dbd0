"""The outbox transport for channel "email": a relay from config, or .eml files offline.

Each outbox item gets a Message-ID derived from its id (a retry resends the same id). Before
sending, that id is recorded as the thread id of an outbound Message on the case, so a reply
whose In-Reply-To names it joins the case even when its subject lost the reference.
SMTP errors map here, in one place: 4xx and connection trouble retry, 5xx fail for good.
A non-ASCII domain is sent as its IDNA (xn--) form; a non-ASCII local part needs a relay
offering SMTPUTF8 (RFC 6531), and fails for good, saying so, when the relay has none:
retrying would never help.
"""

from __future__ import annotations

import email.policy
import email.utils
import logging
import os
import re
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from pathlib import Path

from sqlmodel import Session, col, select

from caseboard.db import Database
from caseboard.models import Case, Message, utcnow
from caseboard.outbox import OutgoingMessage, PermanentSendError, RetryableSendError
from channels.email import bounces, render
from settings import Config

log = logging.getLogger(__name__)
# Mail no person wrote, and its RFC 3834 Auto-Submitted value: a reply to the citizen's own
# mail or request is auto-replied; a survey, sent because a case was resolved, auto-generated.
# Either way auto-responders must not answer it, and a bouncing address gets none of it.
AUTOMATIC_KINDS = {"acknowledgement": "auto-replied", "notification": "auto-replied",
                   "survey": "auto-generated"}
_FILE_POLICY = email.policy.default.clone(utf8=True)
_ADDRESS = re.compile(r"^[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:]+$")


class EmailTransport:
    def __init__(self, config: Config, database: Database) -> None:
        self.config = config
        self.database = database
        self.domain = config["smtp.domain"]
        self.from_address = (config["relay.from_address"]
                             or f"{config['smtp.mailbox']}@{self.domain}")
        self.mail_dir = config.data_dir / "outbox-mail"

    def __call__(self, message: OutgoingMessage) -> str:
        recipient = deliverable_address(message.recipient)
        mail, record = self.build(message)
        self._record(message, mail, record, "sending", "")
        try:
            self._send(mail, recipient)
        except PermanentSendError as error:
            self._record(message, mail, record, "failed", str(error))
            raise
        except RetryableSendError as error:
            self._record(message, mail, record, "queued", f"retrying: {error}")
            raise
        self._record(message, mail, record, "sent", "")
        return str(mail["Message-ID"])

    def build(self, message: OutgoingMessage) -> tuple[EmailMessage, bool]:
        """The mail for an outbox item; the flag says whether the transport records it as a
        Message of its own (acknowledgements have none; replies already do)."""
        payload = message.payload
        with self.database.read() as session:
            case = session.get(Case, message.case_id)
            reference = case.reference if case else str(payload.get("reference", ""))
            automatic = message.kind in AUTOMATIC_KINDS
            if automatic and bounces.is_bouncing(session, message.recipient):
                raise PermanentSendError(f"{message.recipient} bounces: no automatic mail")
            in_reply_to = str(payload.get("in_reply_to") or "") or _last_inbound(session,
                                                                                 message)
        if message.kind == "acknowledgement":
            rendered = render.acknowledgement(self.config, payload)
        else:
            rendered = render.reply(self.config, payload, reference)
            if not rendered.text.strip():
                raise PermanentSendError(f"outbox item {message.outbox_id} has no text")
        mail = EmailMessage()
        mail["Message-ID"] = self.message_id(message, reference)
        mail["Date"] = email.utils.format_datetime(utcnow())
        mail["From"] = email.utils.formataddr((self.config["administration.name"],
                                               self.from_address))
        mail["To"] = deliverable_address(message.recipient)
        mail["Subject"] = rendered.subject
        if in_reply_to:
            references = [str(r) for r in payload.get("references") or [] if r]
            mail["In-Reply-To"] = in_reply_to
            mail["References"] = " ".join(dict.fromkeys([*references, in_reply_to][-10:]))
        if automatic:
            mail["Auto-Submitted"] = AUTOMATIC_KINDS[message.kind]  # RFC 3834: no auto-reply
            mail["X-Auto-Response-Suppress"] = "All"
        mail["Content-Language"] = rendered.language
        mail.set_content(rendered.text)
        mail.add_alternative(rendered.html, subtype="html")
        return mail, message.message_id is None

    def message_id(self, message: OutgoingMessage, reference: str) -> str:
        local = re.sub(r"[^A-Za-z0-9.-]", "", reference).lower() or "case"
        return f"<{local}.{message.outbox_id}@{self.domain}>"

    # ---------------------------------------------------------------- sending

    def _send(self, mail: EmailMessage, recipient: str) -> None:
        if not self.config["relay.host"]:
            self._write_file(mail)
            return
        try:
            with smtplib.SMTP(self.config["relay.host"], self.config["relay.port"],
                              timeout=30, local_hostname=self.domain) as relay:
                relay.ehlo()
                if self.config["relay.starttls"]:
                    relay.starttls(context=ssl.create_default_context())
                    relay.ehlo()
                if self.config["relay.username"]:
                    relay.login(self.config["relay.username"], self.config["relay.password"])
                if not recipient.isascii() and not relay.has_extn("smtputf8"):
                    raise PermanentSendError(
                        f"{recipient} has non-ASCII characters before the @, and the relay "
                        "does not offer SMTPUTF8 to carry them")
                refused = relay.send_message(mail, self.from_address, [recipient])
        except smtplib.SMTPRecipientsRefused as error:
            code, reason = next(iter(error.recipients.values()), (550, b"refused"))
            raise _error(code, reason) from None
        except smtplib.SMTPAuthenticationError as error:
            # A wrong password is fixed in config; the mail must wait for it, not be lost.
            raise RetryableSendError(f"relay login failed: {error.smtp_code} "
                                     f"{_text(error.smtp_error)}") from None
        except smtplib.SMTPResponseException as error:
            raise _error(error.smtp_code, error.smtp_error) from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as error:  # timeouts too
            raise RetryableSendError(f"relay unreachable: {type(error).__name__}: {error}"
                                     ) from None
        if refused:
            code, reason = next(iter(refused.values()))
            raise _error(code, reason)

    def _write_file(self, mail: EmailMessage) -> None:
        """Offline (the demo): the mail as an .eml file, written whole or not at all."""
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9.@-]", "", str(mail["Message-ID"]))
        fd, tmp = tempfile.mkstemp(dir=self.mail_dir, prefix=".sending-")
        try:
            with os.fdopen(fd, "wb") as handle:  # UTF-8 headers as an SMTPUTF8 relay gets them
                handle.write(mail.as_bytes(policy=_FILE_POLICY))
            os.replace(tmp, self.mail_dir / f"{name}.eml")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # ---------------------------------------------------------------- the thread

    def _record(self, message: OutgoingMessage, mail: EmailMessage, own: bool, status: str,
                error: str) -> None:
        """Keep the outbound mail on the case with its Message-ID as the thread id."""
        message_id = str(mail["Message-ID"])
        with self.database.write() as session:
            if not own:  # an agent's reply: the dispatcher keeps its status
                row = session.get(Message, message.message_id)
                if row is not None and not row.thread_id:
                    row.thread_id = message_id
                return
            row = session.execute(select(Message).where(
                col(Message.channel) == "email", col(Message.external_id) == message_id)
            ).scalar_one_or_none()
            if row is None:
                body = mail.get_body(("plain",))
                row = Message(case_id=message.case_id, direction="out", channel="email",
                              external_id=message_id, thread_id=message_id,
                              sender=self.from_address, subject=str(mail["Subject"]),
                              text=body.get_content() if body is not None else "",
                              language=str(mail["Content-Language"] or ""),
                              details={"outbox_id": message.outbox_id, "kind": message.kind,
                                       "to": message.recipient},
                              created_at=utcnow())
                session.add(row)
            row.delivery_status, row.delivery_error = status, error[:1000]


def deliverable_address(address: str) -> str:
    """The address as it goes on the wire: checked, with an ASCII (IDNA) domain."""
    address = address.strip()
    if not _ADDRESS.match(address) or any(ord(c) < 32 or ord(c) == 127 for c in address):
        raise PermanentSendError(f"not an email address: {address!r}")
    local, _, domain = address.rpartition("@")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise PermanentSendError(f"{address!r}: the domain is not a valid "
                                     "internationalised domain name") from None
    return f"{local}@{domain}"


def _last_inbound(session: Session, message: OutgoingMessage) -> str:
    """The citizen's latest mail on the case, so a reply threads in their mail program."""
    thread = session.execute(
        select(Message.thread_id).where(col(Message.case_id) == message.case_id,
                                        col(Message.direction) == "in",
                                        col(Message.channel) == "email",
                                        col(Message.thread_id).is_not(None))
        .order_by(col(Message.id).desc()).limit(1)).scalar_one_or_none()
    return thread or ""


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _error(code: int, reason: bytes | str) -> Exception:
    detail = f"relay answered {code} {_text(reason)}"
    if 500 <= code < 600:
        return PermanentSendError(detail)
    return RetryableSendError(detail)
