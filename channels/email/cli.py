"""`python app.py smtp`: the SMTP intake alone, for more intake nodes next to `serve`."""

from __future__ import annotations

import signal
import threading
from typing import Any

from caseboard.services import build_services, prepare_database
from channels.email.processes import SmtpProcesses
from channels.email.server import SmtpService, tls_context
from settings import Config


def run_smtp(config: Config, processes: int | None = None) -> int:
    count = config["smtp.processes"] if processes is None else processes
    if count < 1:
        print("--processes must be at least 1", flush=True)
        return 2
    tls_context(config)  # a bad certificate stops us before anything is created
    services = build_services(config)
    prepare_database(services)  # once, before any process takes mail
    server = smtp_server(services.config, services, count)
    stop = threading.Event()

    def shutdown(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    server.start()
    print(f"SMTP intake on {server.host}:{server.port} for @{config['smtp.domain']}"
          + (f" ({count} processes)" if count > 1 else ""), flush=True)
    stop.wait()
    server.stop()
    services.database.dispose()
    print("stopped", flush=True)
    return 0


def smtp_server(config: Config, services: Any, count: int) -> SmtpService | SmtpProcesses:
    """One server in this process, or `count` processes on one port."""
    if count > 1:
        return SmtpProcesses(config, count)
    return SmtpService(services)
