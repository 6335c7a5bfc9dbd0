"""Group commit: contacts that arrive together share one transaction and one disk sync.

A commit that must survive a power cut waits for the disk (about 0.5–2 ms here), far longer
than intake's own work. While one caller's transaction commits, others queue; the next
transaction takes all of them. Nobody's contact is acknowledged before its transaction has
committed, and a failure in one contact never costs the others: if a shared transaction
fails, each of its contacts is run again alone.

There is no extra thread: the first caller to find nobody writing becomes the leader and
writes batches until its own contact is done, then hands the lead to the next waiting caller.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlmodel import Session

from caseboard.db import Database

T = TypeVar("T")


class _Job(Generic[T]):
    def __init__(self, work: Callable[[Session], T]) -> None:
        self.work = work
        self.done = threading.Event()
        self.lead = False  # set instead of a result: this caller takes over writing
        self.value: Any = None
        self.error: BaseException | None = None

    def result(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value


class GroupCommit:
    def __init__(self, database: Database, max_batch: int = 64) -> None:
        self.database = database
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: deque[_Job[Any]] = deque()
        self._writing = False
        self.transactions = 0  # shared transactions committed (for tests and benchmarks)

    def run(self, work: Callable[[Session], T]) -> T:
        """Run work(session) in a committed transaction (perhaps shared) and return its result."""
        job: _Job[T] = _Job(work)
        with self._lock:
            self._queue.append(job)
            lead = not self._writing
            self._writing = True
        if not lead:
            job.done.wait()
            if not job.lead:
                return job.result()
        self._write_until_done(job)
        return job.result()

    def _write_until_done(self, own: _Job[Any]) -> None:
        while True:
            with self._lock:
                if own.done.is_set() and not own.lead:
                    self._hand_over()
                    return
                own.lead = False
            self._write_next_batch()

    def _hand_over(self) -> None:
        """Called with the lock held, once the leader's own job is done."""
        if self._queue:
            successor = self._queue[0]
            successor.lead = True
            successor.done.set()
        else:
            self._writing = False

    def _write_next_batch(self) -> None:
        batch: list[_Job[Any]] = []
        try:
            with self.database.write() as session:
                # Taken once the write lock is ours: callers that queued while another
                # process (a second gunicorn worker) was writing join this transaction.
                batch = self._take_batch()
                values = [job.work(session) for job in batch]
        except BaseException:
            # Someone's contact (or the commit) failed: give each its own transaction, so
            # only the contact at fault gets the error (and each its own error, should the
            # transaction not even have started).
            for job in batch or self._take_batch():
                self._write_alone(job)
            return
        self.transactions += 1
        for job, value in zip(batch, values, strict=True):
            job.value = value
            job.done.set()

    def _take_batch(self) -> list[_Job[Any]]:
        with self._lock:
            return [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]

    def _write_alone(self, job: _Job[Any]) -> None:
        try:
            job.value = self.database.write_retrying(job.work)
        except BaseException as error:  # handed to the caller, raised in its own thread
            job.error = error
        job.done.set()
