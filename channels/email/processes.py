"""SMTP intake on several processes sharing one port (SO_REUSEPORT).

One process runs intake's Python on one core at a time (the GIL): parsing, routing and
storing a mail cost about ten times what aiosmtpd itself spends on it. With `smtp.processes`
(or `app.py smtp --processes N`) N processes listen on the same port, the kernel spreads the
connections over them, and each has its own database engine and group commit; SQLite writers
of all of them queue on one lock file (caseboard/sqlite_writes.py). Every process answers
250 only after its own commit, as with one.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
import os
import signal
import sys
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from settings import Config

if TYPE_CHECKING:
    from caseboard.services import Services

START_SECONDS = 60.0


class SmtpProcesses:
    """`count` SMTP server processes on one port, as one of `serve`'s background services.

    The database must be migrated before they start (they never migrate themselves)."""

    name = "smtp"

    def __init__(self, config: Config, count: int, host: str | None = None,
                 port: int | None = None, serve: Callable[..., None] | None = None) -> None:
        if count < 1:
            raise ValueError("at least one SMTP process is needed")
        self.config = config
        self.count = count
        self.host = host or config["smtp.host"]
        self.port = port or config["smtp.port"]
        self.serve = serve or _serve  # what each process runs (a benchmark varies it)
        # spawn, not fork: the parent may already run threads (web server, dispatcher).
        self._context = multiprocessing.get_context("spawn")
        self.processes: list[BaseProcess] = []

    def start(self) -> None:
        ready = [self._context.Event() for _ in range(self.count)]
        for event in ready:
            process: BaseProcess = self._context.Process(
                target=self.serve,
                args=(self.config, self.host, self.port, event, os.getpid()),
                name="smtp-intake", daemon=True)
            process.start()
            self.processes.append(process)
        for process, event in zip(self.processes, ready, strict=True):
            if not event.wait(START_SECONDS):
                self.stop()
                raise RuntimeError(f"SMTP process {process.pid} did not start on "
                                   f"{self.host}:{self.port} (exit code {process.exitcode})")

    def stop(self) -> None:
        # A signal, not a shared Event: setting an Event waits for every process that waited
        # on it, and one that was killed never answers.
        for process in self.processes:
            if process.is_alive():
                process.terminate()
        for process in self.processes:
            process.join(30)
            if process.is_alive():  # stuck: the sender's server retries what it was doing
                process.kill()
                process.join(5)
        self.processes = []


def _serve(config: Config, host: str, port: int, ready: multiprocessing.synchronize.Event,
           parent: int) -> None:
    from caseboard.services import build_services

    serve_with(build_services(config), host, port, ready, parent)


def serve_with(services: Services, host: str, port: int,
               ready: multiprocessing.synchronize.Event, parent: int) -> None:
    """One SMTP process's life: serve on the shared port until stopped or orphaned."""
    from channels.email.server import SmtpService

    # The parent decides when to stop (Ctrl-C reaches the whole process group).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit)
    server = SmtpService(services, host, port, shared_port=True)
    server.start()
    ready.set()
    try:
        # Until SIGTERM (stop()), or the parent is gone (killed): nobody would stop us then.
        while os.getppid() == parent:
            time.sleep(1.0)
    finally:
        server.stop()
        services.database.dispose()


def _exit(_signum: int, _frame: Any) -> None:
    sys.exit(0)  # unwinds through _serve's finally: the server stops, the engine closes
