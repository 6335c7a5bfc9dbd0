"""`python app.py smtp`: the SMTP intake alone, for more intake nodes next to `serve`."""

from __future__ import annotations

import signal
import threading
from typing import Any

from caseboard.services import build_services, prepare_database
from channels.email.server import SmtpService, tls_context
from settings import Config


def run_smtp(config: Config) -> int:
    tls_context(config)  # a bad certificate stops us before anything is created
    services = build_services(config)
    prepare_database(services)
    server = SmtpService(services)
    stop = threading.Event()

    def shutdown(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    server.start()
    print(f"SMTP intake on {server.host}:{server.port} for @{config['smtp.domain']}",
          flush=True)
    stop.wait()
    server.stop()
    services.database.dispose()
    print("stopped", flush=True)
    return 0
