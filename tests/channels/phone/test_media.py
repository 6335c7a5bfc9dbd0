"""MMS media: the webhook only notes the URLs and answers; the media worker then fetches each
file with the account's credentials from a local server standing in for Twilio, stores it by
hash, retries outages, and leaves a note on the case for what cannot be kept."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from sqlmodel import col, select

from caseboard.models import Attachment, AuditEvent, Message, utcnow
from caseboard.services import Services
from channels.phone.media import MAX_ATTEMPTS, MediaFetcher
from channels.phone.models import PhoneMedia
from tests.channels.phone.conftest import (
    MEDIA_BYTES,
    MESSAGING,
    PUBLIC,
    TOKEN,
    Post,
    RecordingApi,
    account_env,
    payload,
    twiml,
)

ACCOUNT = "AC" + "b" * 32
pytestmark = pytest.mark.ports


@pytest.fixture
def phone_env(twilio_api: RecordingApi) -> dict[str, str]:
    return account_env(twilio_api, ACCOUNT, CC_INTAKE_MAX_ATTACHMENT_BYTES="1000")


def mms(api: RecordingApi, *names: str) -> dict[str, str]:
    """The real MMS webhook body, its media pointing at the local server."""
    params = payload(MESSAGING, "receiveMediaWithMsg")
    params.pop("MediaUrl1", None)
    base = f"{api.url}/2010-04-01/Accounts/{ACCOUNT}/Messages/MM1/Media/"
    params["NumMedia"] = str(len(names))
    for index, name in enumerate(names):
        params[f"MediaUrl{index}"] = base + name
        params[f"MediaContentType{index}"] = "image/jpeg"
    return params


def media_rows(services: Services) -> list[PhoneMedia]:
    with services.database.read() as session:
        return list(session.execute(select(PhoneMedia).order_by(col(PhoneMedia.position)))
                    .scalars())


def attachments(services: Services) -> list[Attachment]:
    with services.database.read() as session:
        return list(session.execute(select(Attachment)).scalars())


def notes(services: Services) -> list[Message]:
    with services.database.read() as session:
        return list(session.execute(select(Message).where(col(Message.direction) == "note"))
                    .scalars())


def run_worker(services: Services, at: dt.datetime | None = None) -> int:
    fetcher, done = MediaFetcher(services), 0
    while fetcher.step(at):
        done += 1
    return done


def test_a_plain_text_notes_no_media(post: Post, phone_services: Services,
                                    twilio_api: RecordingApi) -> None:
    params = mms(twilio_api, "ME1")
    params["NumMedia"] = "0"  # a stray MediaUrl0 is not counted: Twilio says there is none
    twiml(post("/twilio/sms", params))
    assert media_rows(phone_services) == [] and twilio_api.requests == []


def test_the_webhook_answers_without_contacting_the_media_server(
        post: Post, phone_services: Services, twilio_api: RecordingApi) -> None:
    twiml(post("/twilio/sms", mms(twilio_api, "ME1", "ME2")))
    assert twilio_api.requests == []  # nothing fetched while Twilio waits for the answer
    rows = media_rows(phone_services)
    assert [(r.position, r.url.rsplit("/", 1)[1], r.status) for r in rows] == [
        (0, "ME1", "pending"), (1, "ME2", "pending")]
    assert attachments(phone_services) == []
    with phone_services.database.read() as session:
        message = session.execute(select(Message)).scalar_one()
    assert message.text == "Msg" and rows[0].message_id == message.id
    # Twilio retries the webhook: still one message and two files to fetch.
    twiml(post("/twilio/sms", mms(twilio_api, "ME1", "ME2")))
    assert len(media_rows(phone_services)) == 2


def test_at_most_ten_files_are_taken_and_one_worker_has_each(
        post: Post, phone_services: Services, twilio_api: RecordingApi) -> None:
    twiml(post("/twilio/sms", mms(twilio_api, *[f"ME{i}" for i in range(1, 13)])))
    assert len(media_rows(phone_services)) == 10
    first, second = MediaFetcher(phone_services), MediaFetcher(phone_services)
    now = utcnow()
    claimed = [first._claim(now), second._claim(now)]  # two workers, as on two machines
    assert all(claimed) and claimed[0] != claimed[1]
    assert {c.position for c in claimed if c} == {0, 1}


def test_the_worker_stores_the_file_and_notes_the_one_twilio_lost(
        post: Post, phone_services: Services, twilio_api: RecordingApi) -> None:
    twiml(post("/twilio/sms", mms(twilio_api, "ME1", "ME2")))
    assert run_worker(phone_services) == 2
    kept = attachments(phone_services)
    assert [(a.filename, a.size, a.content_type) for a in kept] == [
        ("media-1.jpg", len(MEDIA_BYTES), "image/jpeg")]
    assert phone_services.files.get(kept[0].sha256) == MEDIA_BYTES
    credentials = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    assert [r["authorization"] for r in twilio_api.requests] == [f"Basic {credentials}"] * 2
    [note] = notes(phone_services)
    assert "Picture 2" in note.text and "Twilio answered 404" in note.text
    assert note.text.endswith("/Media/ME2")
    assert [r.status for r in media_rows(phone_services)] == ["stored", "failed"]
    # A 404 is final: the worker has nothing left to do, now or later.
    assert run_worker(phone_services, utcnow() + dt.timedelta(days=1)) == 0
    assert len(twilio_api.requests) == 2


def test_an_oversize_file_is_noted_not_stored(post: Post, phone_services: Services,
                                              twilio_api: RecordingApi) -> None:
    twilio_api.media["/Media/BIG"] = [(200, b"x" * 1001)]
    twiml(post("/twilio/sms", mms(twilio_api, "BIG")))
    assert run_worker(phone_services) == 1
    assert attachments(phone_services) == []
    [note] = notes(phone_services)
    assert "larger than 1000 bytes" in note.text
    assert run_worker(phone_services, utcnow() + dt.timedelta(days=1)) == 0
    with phone_services.database.read() as session:
        actions = session.execute(select(AuditEvent.action)).scalars().all()
    assert "media_not_kept" in actions


def test_an_outage_is_retried_later_then_the_file_is_stored(
        post: Post, phone_services: Services, twilio_api: RecordingApi) -> None:
    twilio_api.media["/Media/ME9"] = [(503, b""), (200, MEDIA_BYTES)]
    twiml(post("/twilio/sms", mms(twilio_api, "ME9")))
    assert run_worker(phone_services) == 1
    [row] = media_rows(phone_services)
    assert row.status == "pending" and row.attempts == 1 and "503" in row.last_error
    assert run_worker(phone_services) == 0  # not due yet: it waits its back-off
    assert run_worker(phone_services, utcnow() + dt.timedelta(minutes=2)) == 1
    assert [a.size for a in attachments(phone_services)] == [len(MEDIA_BYTES)]
    assert notes(phone_services) == []


def test_a_file_still_failing_after_the_last_try_is_noted(
        post: Post, phone_services: Services, twilio_api: RecordingApi) -> None:
    twilio_api.media["/Media/ME7"] = [(500, b"")]
    twiml(post("/twilio/sms", mms(twilio_api, "ME7")))
    later = utcnow()
    for _ in range(MAX_ATTEMPTS):
        later += dt.timedelta(hours=2)
        assert run_worker(phone_services, later) == 1
    [row] = media_rows(phone_services)
    assert row.status == "failed" and row.attempts == MAX_ATTEMPTS
    [note] = notes(phone_services)
    assert f"gave up after {MAX_ATTEMPTS} tries" in note.text
    assert run_worker(phone_services, later + dt.timedelta(days=1)) == 0


class TestWithoutAccount:
    @pytest.fixture
    def phone_env(self) -> dict[str, str]:
        return {"CC_TWILIO_AUTH_TOKEN": TOKEN, "CC_TWILIO_PUBLIC_URL": PUBLIC}

    def test_media_are_noted_on_the_case_not_lost(self, post: Post,
                                                  phone_services: Services) -> None:
        twiml(post("/twilio/sms", payload(MESSAGING, "receiveMediaWithMsg")))
        with phone_services.database.read() as session:
            stored = session.execute(select(Message)).scalar_one()
        assert stored.text == "Msg"
        assert stored.details["sms"]["media"] == ["cat.jpg", "dog.jpg"]
        assert run_worker(phone_services) == 2
        texts = sorted(n.text for n in notes(phone_services))
        assert len(texts) == 2 and all("not a media URL" in t for t in texts)
        assert all(n.case_id == stored.case_id for n in notes(phone_services))
