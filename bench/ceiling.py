"""Our path with intake's write transaction taken out: what no storage could beat.

A diagnostic for the channel benchmarks (bench/smtp.py, bench/twilio.py --ceiling): intake
still checks, routes and works out deadlines (Intake.prepare) but stores nothing, so the
"cases" it reports do not exist. Never used outside benchmarks.
"""

from __future__ import annotations

import dataclasses
import multiprocessing.synchronize

from caseboard.contacts import InboundContact, IntakeOutcome, IntakeResult
from caseboard.intake import Intake
from caseboard.services import Services
from settings import Config


class PrepareOnly:
    def __init__(self, intake: Intake) -> None:
        self.intake = intake

    def take(self, contact: InboundContact) -> IntakeResult:
        self.intake.prepare(contact)
        return IntakeResult(IntakeOutcome.CREATED, "", 0, 0, 0)


def without_storage(services: Services) -> Services:
    return dataclasses.replace(services, intake=PrepareOnly(services.intake))  # type: ignore[arg-type]


def serve_without_storage(config: Config, host: str, port: int,
                          ready: multiprocessing.synchronize.Event, parent: int) -> None:
    """An SMTP process of `SmtpProcesses(..., serve=serve_without_storage)`."""
    from caseboard.services import build_services
    from channels.email.processes import serve_with

    serve_with(without_storage(build_services(config)), host, port, ready, parent)
