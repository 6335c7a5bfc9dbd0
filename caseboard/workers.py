"""Background workers as small loops (outbox dispatcher, time-limit monitor, channel jobs)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Worker(threading.Thread):
    """A small loop: do one job; if there was none, sleep until the next poll or until stop."""

    def __init__(self, name: str, step: Callable[[], bool], poll_seconds: float,
                 stop: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self.step = step
        self.poll_seconds = poll_seconds
        self.stop_event = stop

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                busy = self.step()
            except Exception:  # keep the worker alive; the error is logged, the job retried
                log.exception("worker %s failed", self.name)
                busy = False
            if not busy:
                self.stop_event.wait(self.poll_seconds)
