"""The outbox transport for "sms" and "whatsapp": Twilio's REST API, or files offline.

With no twilio.account_sid (the demo) each SMS is written to data/outbox-sms/. Twilio's
answers are mapped to retryable or permanent in errors.py. An opted-out number gets
nothing, whatever the kind of message. Acknowledgements get an outbound Message row of their
own (replies already have one), so delivery callbacks have somewhere to land. A satisfaction
question comes due in opening hours (caseboard.satisfaction); one that is late all the same
waits for the next opening: nobody is texted a survey at night.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from sqlmodel import col, select
from twilio.rest import Client

from caseboard.db import Database
from caseboard.models import Message, utcnow
from caseboard.outbox import OutgoingMessage, PermanentSendError, RetryableSendError
from caseboard.timelimits import BusinessCalendar
from channels.phone import keywords, texts
from channels.phone.errors import rest_errors
from channels.phone.rest import rest_client
from channels.phone.sms import opt_out_key
from settings import Config


class SmsTransport:
    def __init__(self, config: Config, database: Database, channel: str = "sms",
                 calendar: BusinessCalendar | None = None) -> None:
        self.config = config
        self.database = database
        self.channel = channel
        self.calendar = calendar or BusinessCalendar.from_config(config)
        self.sms_dir = config.data_dir / "outbox-sms"
        self._client: Client | None = None

    def __call__(self, message: OutgoingMessage) -> str:
        number = message.recipient.strip().removeprefix("whatsapp:")
        if not number.startswith("+") or not number[1:].isdigit():
            raise PermanentSendError(f"not an E.164 phone number: {message.recipient!r}")
        with self.database.read() as session:
            if keywords.is_opted_out(session, opt_out_key(self.channel, number)):
                raise PermanentSendError(f"{number} opted out (STOP): no SMS is sent")
        now = utcnow()
        if message.kind == "survey" and not self.calendar.is_working_time(now):
            raise RetryableSendError("the administration is closed: survey texts wait for "
                                     "opening hours", not_before=self.calendar.next_opening(now))
        text = (texts.acknowledgement(self.config, message.payload)
                if message.kind == "acknowledgement" else texts.reply(message.payload))
        if not text:
            raise PermanentSendError(f"outbox item {message.outbox_id} has no text")
        if len(text) > texts.MAX_SMS_CHARS:
            raise PermanentSendError(f"longer than {texts.MAX_SMS_CHARS} characters")
        to = f"whatsapp:{number}" if self.channel == "whatsapp" else number
        row = self._record(message, text, None, "sending", "")
        try:
            sid = self._send(message, to, text)
        except PermanentSendError as error:
            self._record(message, text, row, "failed", str(error))
            raise
        except RetryableSendError as error:
            self._record(message, text, row, "queued", f"retrying: {error}")
            raise
        self._record(message, text, row, "sent", "", sid)
        return sid

    # ---------------------------------------------------------------- sending

    def client(self) -> Client:
        if self._client is None:
            self._client = rest_client(self.config)
        return self._client

    def _send(self, message: OutgoingMessage, to: str, text: str) -> str:
        if not self.config["twilio.account_sid"]:
            return self._write_file(message, to, text)
        sender = (self.config["phone.whatsapp_from"] if self.channel == "whatsapp"
                  else self.config["phone.from_number"]).strip()
        if not sender:
            raise RetryableSendError(f"no sender number configured for {self.channel}")
        if self.channel == "whatsapp":  # Twilio wants whatsapp: on both ends
            sender = f"whatsapp:{sender.removeprefix('whatsapp:')}"
        options: dict[str, Any] = {"to": to, "from_": sender, "body": text}
        base = self.config["phone.public_url"].rstrip("/")
        if base:
            options["status_callback"] = f"{base}/twilio/status?o={message.outbox_id}"
        with rest_errors():
            created = self.client().messages.create(**options)
        return str(created.sid)

    def _write_file(self, message: OutgoingMessage, to: str, text: str) -> str:
        """Offline: the SMS as a JSON file, written whole or not at all."""
        self.sms_dir.mkdir(parents=True, exist_ok=True)
        name = f"{message.outbox_id}.json"
        fd, tmp = tempfile.mkstemp(dir=self.sms_dir, prefix=".sending-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"to": to, "from": self.config["phone.from_number"], "body": text,
                           "kind": message.kind, "case_id": message.case_id,
                           "written_at": utcnow().isoformat()}, handle, ensure_ascii=False)
            os.replace(tmp, self.sms_dir / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return f"file:{message.outbox_id}"

    # ---------------------------------------------------------------- the case

    def _record(self, message: OutgoingMessage, text: str, row_id: int | None, status: str,
                error: str, sid: str = "") -> int | None:
        """Acknowledgements: an outbound Message on the case (replies have theirs)."""
        if message.message_id is not None:
            return None
        placeholder = f"outbox:{message.outbox_id}"
        with self.database.write() as session:
            row = session.get(Message, row_id) if row_id else session.execute(
                select(Message).where(col(Message.channel) == self.channel,
                                      col(Message.external_id) == placeholder)
            ).scalars().first()
            if row is None:
                row = Message(case_id=message.case_id, direction="out", channel=self.channel,
                              external_id=placeholder, sender=self.config["phone.from_number"],
                              text=text, language=texts.language_of(message.payload),
                              details={"outbox_id": message.outbox_id, "kind": message.kind,
                                       "to": message.recipient}, created_at=utcnow())
            if sid and not sid.startswith("file:"):
                row.external_id = sid
            current = _RANK.get(row.delivery_status, 0)
            if current < _FINAL or current <= _RANK.get(status, 0):
                row.delivery_status = status  # unless a delivery callback came first
            row.delivery_error = error[:1000]
            session.add(row)
            session.flush()
            return row.id


_RANK = {"": 0, "received": 0, "queued": 1, "sending": 2, "sent": 3, "failed": 4,
         "delivered": 4, "undelivered": 4, "read": 5}
_FINAL = 4  # states only Twilio's callbacks report
