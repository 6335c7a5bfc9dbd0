"""The inbox folder the mailroom scanner fills, its quarantine, and the workers that read it.

A file leaves the inbox only after its letter is committed (invariant 1), or into quarantine
with <name>.reason.txt beside it (invariant 8). One bad file never stops the others. Each
file is claimed in the database first (claims.py), so however many workers watch the folder,
a scan is read once.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from caseboard.intake import IntakeError
from caseboard.services import Services
from channels.letters import claims
from channels.letters.claims import ClaimState
from channels.letters.ingest import LetterResult, engine_of, ingest
from channels.letters.pages import BadScan

log = logging.getLogger(__name__)
SETTLE_SECONDS = 1.0  # a file the scanner is still writing is left alone until it settles
ELSEWHERE_RECHECK_SECONDS = 30.0
BEING_READ = "being read by another worker"


def inbox_dir(services: Services) -> Path:
    configured = services.config["letters.inbox_dir"]
    return Path(configured) if configured else services.config.data_dir / "letters" / "inbox"


def quarantine_dir(services: Services) -> Path:
    configured = services.config["letters.quarantine_dir"]
    return (Path(configured) if configured
            else services.config.data_dir / "letters" / "quarantine")


@dataclass(frozen=True)
class FileOutcome:
    path: Path
    letter: LetterResult | None = None
    reason: str = ""  # why the file was quarantined
    skipped: str = ""  # left alone: another worker has it, or it is already gone
    duplicate_of: str = ""  # the same scan is already this case's letter (not read again)

    @property
    def ok(self) -> bool:
        return self.letter is not None or bool(self.duplicate_of)


def quarantine(services: Services, path: Path, data: bytes, reason: str, *,
               move: bool) -> Path:
    """Keep the bad file with a note saying what is wrong; never overwrite an earlier one.
    The note is written first: a file in quarantine always has its reason."""
    folder = quarantine_dir(services)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    stamp = 1
    while target.exists() or target.with_name(target.name + ".reason.txt").exists():
        target = folder / f"{path.stem}-{stamp}{path.suffix}"
        stamp += 1
    target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
    target.write_bytes(data)
    if move:
        path.unlink(missing_ok=True)
    return target


@dataclass(frozen=True)
class Quarantined:
    """A file in quarantine: a letter that did not become a case and needs a person."""

    name: str
    reason: str
    since: float  # when it was quarantined (the file's mtime, seconds since the epoch)


def quarantined(services: Services, limit: int = 100) -> tuple[list[Quarantined], int]:
    """The newest `limit` quarantined files with their reasons, and how many there are."""
    folder = quarantine_dir(services)
    if not folder.is_dir():
        return [], 0
    found: list[tuple[float, Path]] = []
    for entry in folder.iterdir():
        if entry.name.endswith(".reason.txt") or entry.name.startswith("."):
            continue
        with contextlib.suppress(OSError):  # gone meanwhile, or not a file: not listed
            if entry.is_file():
                found.append((entry.stat().st_mtime, entry))
    found.sort(key=lambda item: (-item[0], item[1].name))
    listed = []
    for since, path in found[:limit]:
        try:
            note = path.with_name(path.name + ".reason.txt").read_text(encoding="utf-8",
                                                                       errors="replace")
        except OSError:
            note = ""
        listed.append(Quarantined(path.name, note.strip()[:500] or "no reason recorded",
                                  since))
    return listed, len(found)


def process_file(services: Services, path: Path, *, remove: bool = True) -> FileOutcome:
    """Take one file. With remove (the inbox), it goes away once committed or is quarantined;
    without (a folder given on the command line) the original stays where it was."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if remove:  # another worker finished it between the listing and now
            return FileOutcome(path, skipped="already gone")
        return FileOutcome(path, reason="no such file")
    except OSError as error:
        return FileOutcome(path, reason=f"cannot read the file ({error.strerror})")
    digest = hashlib.sha256(data).hexdigest()
    owner = claims.worker_name()
    claim = claims.take(services.database, digest, path.name, owner)
    if claim.state is ClaimState.BUSY:
        return FileOutcome(path, skipped=BEING_READ)
    if claim.state is ClaimState.DONE:
        if remove:  # the same scan is already a committed letter: safe to let this copy go
            path.unlink(missing_ok=True)
        return FileOutcome(path, duplicate_of=claim.reference)
    if remove and not path.exists():
        # Another worker quarantined it (moved, then released the claim) after our read.
        claims.release(services.database, digest, owner)
        return FileOutcome(path, skipped="already gone")
    try:
        letter = ingest(services, data, path.name, engine_of(services))
    except (BadScan, IntakeError) as error:
        quarantine(services, path, data, str(error), move=remove)
        claims.release(services.database, digest, owner)
        return FileOutcome(path, reason=str(error))
    except BaseException:
        # E.g. the database went down: the file stays for the next attempt. If even the
        # release fails, the lease runs out instead; the first error is the one to see.
        with contextlib.suppress(Exception):
            claims.release(services.database, digest, owner)
        raise
    claims.finish(services.database, digest, letter.result.reference, letter.result.case_id)
    if remove:
        path.unlink(missing_ok=True)  # committed, and stored by hash: safe to let go
    return FileOutcome(path, letter=letter)


def waiting_files(folder: Path, now: float | None = None) -> list[Path]:
    now = now or time.time()
    if not folder.is_dir():
        return []
    files = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or not entry.is_file():
            continue
        try:
            if now - entry.stat().st_mtime >= SETTLE_SECONDS:
                files.append(entry)
        except FileNotFoundError:
            continue
    return files


class InboxService:
    """serve's folder watcher: hands settled files to a pool of OCR workers."""

    name = "letters-inbox"

    def __init__(self, services: Services) -> None:
        self.services = services
        self.folder = inbox_dir(services)
        self.workers = services.config["letters.workers"]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._busy: dict[Path, Future[FileOutcome]] = {}
        self._elsewhere: dict[Path, float] = {}  # claimed by another worker: look again then

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="letters-ocr")
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def scan_once(self) -> int:
        """Queue what waits in the inbox; returns how many files are being read."""
        assert self._pool is not None
        now = time.monotonic()
        for path, future in list(self._busy.items()):
            if future.done():
                del self._busy[path]
                if _log_outcome(future) == "elsewhere":
                    # Another node reads it: gone when they are done, or their claim runs
                    # out. Asking the database again at every poll would only add writes.
                    self._elsewhere[path] = now + ELSEWHERE_RECHECK_SECONDS
        waiting = waiting_files(self.folder)
        self._elsewhere = {p: t for p, t in self._elsewhere.items() if t > now and p in waiting}
        for path in waiting:
            if path not in self._busy and path not in self._elsewhere:
                self._busy[path] = self._pool.submit(process_file, self.services, path)
        return len(self._busy)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.scan_once()
            except Exception:  # the watcher must survive a full disk or a vanished folder
                log.exception("letters inbox scan failed")
            self._stop.wait(self.services.config["letters.poll_seconds"])


def _log_outcome(future: Future[FileOutcome]) -> str:
    """Log how a file went; 'elsewhere' when another worker has its claim."""
    error = future.exception()
    if error is not None:  # e.g. the database is down: the file stays and is tried again
        log.error("letter failed, left in the inbox: %s", error)
        return "failed"
    outcome = future.result()
    if outcome.skipped:
        log.debug("letter %s skipped: %s", outcome.path.name, outcome.skipped)
        return "elsewhere" if outcome.skipped == BEING_READ else "gone"
    if outcome.duplicate_of:
        log.info("letter %s is already %s", outcome.path.name, outcome.duplicate_of)
    elif outcome.letter is not None:
        log.info("letter %s → %s (%s)", outcome.path.name, outcome.letter.result.reference,
                 outcome.letter.result.outcome)
    else:
        log.warning("letter %s quarantined: %s", outcome.path.name, outcome.reason)
    return "done"
