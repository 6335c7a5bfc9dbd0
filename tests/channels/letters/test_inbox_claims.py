"""Several workers on one inbox folder (two serve processes, or serve and ingest-letter):
each scan is claimed in the database, read once and becomes one letter; a failed read
releases its claim and a dead worker's claim is taken over when its lease runs out."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from caseboard.models import Message
from caseboard.services import Services, build_services
from channels.letters import claims, inbox, ingest
from channels.letters.claims import ClaimState
from channels.letters.inbox import InboxService, inbox_dir, process_file, quarantine_dir
from channels.letters.models import LetterClaim
from settings import Config, load_config
from tests.channels.letters.conftest import as_jpeg, english_letter, letter_image

NOW = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)
SENDERS = [("Margaret Thornton", "14 Willow Crescent", "01632 960 123"),
           ("Harold Pike", "2 Mill Lane", "01632 960 456"),
           ("Agnes Brewer", "9 Station Road", "01632 960 789")]


def _counting_reads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count every OCR of a scan (by its hash); a little slower than life, so two workers
    that both went for the same file would overlap."""
    reads: Counter[str] = Counter()
    lock = threading.Lock()
    real = ingest.read_letter

    def counting(services: Services, data: bytes, engine: Any = None) -> Any:
        with lock:
            reads[hashlib.sha256(data).hexdigest()] += 1
        time.sleep(0.3)
        return real(services, data, engine)

    monkeypatch.setattr(ingest, "read_letter", counting)
    return reads


def _fill_inbox(folder: Path) -> list[bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    scans = [as_jpeg(letter_image(english_letter(name=name, street=street, phone=phone),
                                  seed=number))
             for number, (name, street, phone) in enumerate(SENDERS)]
    for number, scan in enumerate(scans):
        (folder / f"letter-{number}.jpg").write_bytes(scan)
    (folder / "letter-0-scanned-again.jpg").write_bytes(scans[0])  # the same paper twice
    settled = time.time() - 60
    for path in folder.iterdir():
        os.utime(path, (settled, settled))
    return scans


def _worker_config(config: Config) -> Config:
    return load_config(env={"CC_DATA_DIR": str(config.data_dir),
                            "CC_DATABASE_URL": config["database.url"], "CC_DEMO": "0",
                            "CC_LETTERS_WORKERS": "2", "CC_LETTERS_POLL_SECONDS": "0.05"})


def test_two_inbox_watchers_read_each_file_once(services: Services, config: Config,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    reads = _counting_reads(monkeypatch)
    # The second copy of letter 0 is looked at again once the other watcher is done with it;
    # a second here instead of serve's 30 keeps the test short.
    monkeypatch.setattr(inbox, "ELSEWHERE_RECHECK_SECONDS", 1.0)
    scans = _fill_inbox(inbox_dir(services))
    # Two "serve processes": their own engines and pools of two OCR workers each.
    first, second = (build_services(_worker_config(config)) for _ in range(2))
    watchers = [InboxService(first), InboxService(second)]
    try:
        for watcher in watchers:
            watcher.start()
        deadline = time.monotonic() + 180
        while any(inbox_dir(services).iterdir()) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        for watcher in watchers:
            watcher.stop()
        first.database.dispose()
        second.database.dispose()
    assert list(inbox_dir(services).iterdir()) == []
    assert not quarantine_dir(services).exists()
    assert reads == Counter({hashlib.sha256(scan).hexdigest(): 1 for scan in scans})
    with services.database.read() as session:
        letters = session.exec(select(Message).where(col(Message.channel) == "letter")).all()
        done = session.exec(select(LetterClaim)).all()
    assert sorted(str(m.external_id) for m in letters) == sorted(reads)
    assert len({m.case_id for m in letters}) == 3
    assert {c.status for c in done} == {"done"} and len(done) == 3


def test_claims_lease_release_and_done(services: Services) -> None:
    database, digest = services.database, "a" * 64
    assert claims.take(database, digest, "scan.pdf", "serve-1", NOW).state is ClaimState.TAKEN
    assert claims.take(database, digest, "scan.pdf", "serve-2", NOW).state is ClaimState.BUSY
    # serve-1 died: once its lease has run out, serve-2 takes the file over.
    later = NOW + dt.timedelta(seconds=claims.LEASE_SECONDS + 1)
    assert claims.take(database, digest, "scan.pdf", "serve-2", later).state is ClaimState.TAKEN
    claims.release(database, digest, "serve-1")  # a late release by the dead one: ignored
    assert claims.take(database, digest, "scan.pdf", "cli", later).state is ClaimState.BUSY
    claims.release(database, digest, "serve-2")  # serve-2's read failed
    assert claims.take(database, digest, "scan.pdf", "cli", later).state is ClaimState.TAKEN
    claims.finish(database, digest, "CC-2026-000042", None)
    again = claims.take(database, digest, "copy.pdf", "serve-1", later + dt.timedelta(days=9))
    assert (again.state, again.reference) == (ClaimState.DONE, "CC-2026-000042")


def test_a_failed_read_leaves_the_file_for_the_next_attempt(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = inbox_dir(services)
    inbox.mkdir(parents=True)
    scan = inbox / "letter.jpg"
    scan.write_bytes(as_jpeg(letter_image(english_letter())))
    real = ingest.read_letter

    def database_gone(*args: Any) -> Any:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(ingest, "read_letter", database_gone)
    with pytest.raises(ConnectionError):
        process_file(services, scan)
    assert scan.exists()
    with services.database.read() as session:
        assert session.exec(select(LetterClaim)).first() is None  # released at once
    monkeypatch.setattr(ingest, "read_letter", real)
    outcome = process_file(services, scan)
    assert outcome.letter is not None and not scan.exists()


# SKIP LOCKED is PostgreSQL's; SQLite lets one writer at a time (BEGIN IMMEDIATE).
@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_a_stale_claim_another_worker_holds_is_skipped(services: Services) -> None:
    database, digest = services.database, "b" * 64
    claims.take(database, digest, "scan.pdf", "dead-worker", NOW)
    later = NOW + dt.timedelta(seconds=claims.LEASE_SECONDS + 1)
    result: list[claims.Claim] = []
    with database.write() as holder:  # another worker is deciding about this claim now
        holder.execute(select(LetterClaim).where(col(LetterClaim.sha256) == digest)
                       .with_for_update())
        worker = threading.Thread(
            target=lambda: result.append(claims.take(database, digest, "scan.pdf", "w2", later)))
        worker.start()
        worker.join(10)
        assert not worker.is_alive(), "take() waited for the locked claim"
    assert result[0].state is ClaimState.BUSY
    assert claims.take(database, digest, "scan.pdf", "w2", later).state is ClaimState.TAKEN
