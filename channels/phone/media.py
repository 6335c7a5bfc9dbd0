"""MMS / WhatsApp media: noted in the webhook, fetched and stored by a worker afterwards.

Twilio wants its webhook answered fast, so the request only stores each MediaUrl<N> next to
the message (a phone_media row, in its own transaction after intake committed; a retried
webhook adds the rows a crash may have missed and nothing twice). The worker then fetches one
file at a time with the account's credentials (as the twilio REST client sends them), keeps it
by hash as an attachment of the message, and retries network trouble and Twilio outages with
back-off. A file that cannot be kept (gone, too large, not a URL, no account, or still failing
after the last try) leaves a note on the case with Twilio's link.
"""

from __future__ import annotations

import datetime as dt
import logging
import mimetypes
import threading
from collections.abc import Mapping
from dataclasses import dataclass

import requests
import sqlalchemy as sa
from sqlmodel import Session, col, select

from caseboard import audit
from caseboard.models import Attachment, Case, Message, utcnow
from caseboard.services import Services
from caseboard.workers import Worker
from channels.phone.errors import retryable_status
from channels.phone.models import PhoneMedia
from channels.phone.rest import rest_client

log = logging.getLogger(__name__)

MAX_MEDIA = 10  # Twilio sends at most ten per message
TIMEOUT_SECONDS = 20
LEASE_SECONDS = 300  # longer than any fetch may take; a worker that died frees the row after
BACKOFF_SECONDS = (10, 60, 300, 1800, 3600)
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1


class Retry(Exception):
    """Try this file again later (network trouble, Twilio answering 5xx or 429)."""


class GiveUp(Exception):
    """This file can never be fetched as it is (404, too large, not a URL)."""


def media_count(form: Mapping[str, str]) -> int:
    try:
        return max(0, min(int(form.get("NumMedia") or 0), MAX_MEDIA))
    except ValueError:
        return 0


def queue_media(services: Services, message_id: int, case_id: int,
                form: Mapping[str, str]) -> int:
    """Store the message's media URLs for the worker; returns how many are new."""
    count = media_count(form)
    if not count:
        return 0
    now = utcnow()
    try:
        with services.database.write() as session:
            known = set(session.execute(select(PhoneMedia.position).where(
                col(PhoneMedia.message_id) == message_id)).scalars())
            rows = [PhoneMedia(message_id=message_id, case_id=case_id, position=index,
                               url=(form.get(f"MediaUrl{index}") or "").strip()[:1000],
                               content_type=(form.get(f"MediaContentType{index}") or "")[:100],
                               next_attempt_at=now, created_at=now)
                    for index in range(count) if index not in known]
            session.add_all(rows)
    except sa.exc.IntegrityError:
        return 0  # the same webhook, delivered twice at once, stored them in the other request
    return len(rows)


@dataclass(frozen=True)
class _Job:
    id: int
    message_id: int
    case_id: int
    position: int
    url: str
    content_type: str
    attempts: int


class MediaFetcher:
    """One step: claim the most overdue pending file, fetch it, store it or note it."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def step(self, now: dt.datetime | None = None) -> bool:
        now = now or utcnow()
        job = self._claim(now)
        if job is None:
            return False
        try:
            data = self._fetch(job.url)
        except GiveUp as error:
            self._fail(job, str(error))
        except Retry as error:
            if job.attempts >= MAX_ATTEMPTS:
                self._fail(job, f"{error} (gave up after {job.attempts} tries)")
            else:
                self._later(job, str(error), now)
        else:
            self._store(job, data)
        return True

    def _claim(self, now: dt.datetime) -> _Job | None:
        database = self.services.database
        with database.write() as session:
            query = (select(PhoneMedia).where(col(PhoneMedia.status) == "pending",
                                              col(PhoneMedia.next_attempt_at) <= now)
                     .order_by(col(PhoneMedia.next_attempt_at), col(PhoneMedia.id)).limit(1))
            if not database.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            row = session.execute(query).scalar_one_or_none()
            if row is None or row.id is None:
                return None
            row.attempts += 1
            row.next_attempt_at = now + dt.timedelta(seconds=LEASE_SECONDS)
            session.add(row)
            return _Job(row.id, row.message_id, row.case_id, row.position, row.url,
                        row.content_type, row.attempts)

    def _fetch(self, url: str) -> bytes:
        config = self.services.config
        if not url.startswith(("https://", "http://")):
            raise GiveUp("not a media URL")
        if not config["twilio.account_sid"]:
            raise GiveUp("not fetched: no Twilio account is configured")
        limit = config["intake.max_attachment_bytes"]
        try:
            # Redirects (Twilio sends media on to its CDN) drop the credentials off-host.
            with requests.get(url, auth=rest_client(config).auth, timeout=TIMEOUT_SECONDS,
                              stream=True) as response:
                _check_status(response.status_code)
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise GiveUp(f"larger than {limit} bytes ({declared} bytes)")
                data = bytearray()
                for chunk in response.iter_content(65536):
                    data += chunk
                    if len(data) > limit:
                        raise GiveUp(f"larger than {limit} bytes")
                return bytes(data)
        except requests.RequestException as error:
            raise Retry(f"could not be fetched: {type(error).__name__}") from None

    def _store(self, job: _Job, data: bytes) -> None:
        digest = self.services.files.put(data)  # on disk before the row pointing at it
        content_type = job.content_type or "application/octet-stream"
        extension = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ".bin"
        name = f"media-{job.position + 1}{extension}"
        with self.services.database.write() as session:
            row = session.get(PhoneMedia, job.id)
            if row is None or row.status != "pending":
                return  # another worker finished it after our lease ran out
            row.status, row.last_error = "stored", ""
            session.add(row)
            session.add(Attachment(message_id=job.message_id, sha256=digest, filename=name,
                                   content_type=content_type, size=len(data)))
            _touch(session, job.case_id)
            audit.record(session, job.case_id, "system", "media_stored", "sms",
                         message_id=job.message_id, filename=name, sha256=digest)

    def _later(self, job: _Job, error: str, now: dt.datetime) -> None:
        wait = BACKOFF_SECONDS[min(job.attempts - 1, len(BACKOFF_SECONDS) - 1)]
        with self.services.database.write() as session:
            row = session.get(PhoneMedia, job.id)
            if row is not None and row.status == "pending":
                row.last_error = error[:500]
                row.next_attempt_at = now + dt.timedelta(seconds=wait)
                session.add(row)

    def _fail(self, job: _Job, error: str) -> None:
        log.info("media %s of message %s not kept: %s", job.position, job.message_id, error)
        with self.services.database.write() as session:
            row = session.get(PhoneMedia, job.id)
            if row is None or row.status != "pending":
                return
            row.status, row.last_error = "failed", error[:500]
            session.add(row)
            session.add(Message(
                case_id=job.case_id, direction="note", channel="internal",
                external_id=f"phone-media:{job.id}", sender="system",
                text=f"Picture {job.position + 1} of a text message could not be kept: "
                     f"{error}. Twilio's link: {job.url or '(none given)'}",
                delivery_status="internal",
                details={"media": {"message_id": job.message_id, "position": job.position,
                                   "url": job.url, "error": error}},
                created_at=utcnow()))
            _touch(session, job.case_id)
            audit.record(session, job.case_id, "system", "media_not_kept", "sms",
                         message_id=job.message_id, url=job.url[:300], error=error[:300])


def _check_status(status: int) -> None:
    if status == 200:
        return
    if retryable_status(status):  # the same mapping as every REST call (errors.py)
        raise Retry(f"Twilio answered {status}")
    raise GiveUp(f"Twilio answered {status}")


def _touch(session: Session, case_id: int) -> None:
    case = session.get(Case, case_id)
    if case is not None:  # the board's live list notices the case changed
        case.updated_at = utcnow()
        session.add(case)


class MediaService:
    """serve's media worker: a small loop around MediaFetcher.step, stopped on SIGTERM."""

    name = "phone-media"

    def __init__(self, services: Services) -> None:
        self.fetcher = MediaFetcher(services)
        self.poll = services.config["outbox.poll_seconds"]
        self._stop = threading.Event()
        self._worker: Worker | None = None

    def start(self) -> None:
        self._worker = Worker(self.name, self.fetcher.step, self.poll, self._stop)
        self._worker.start()

    def stop(self) -> None:
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout=10)
