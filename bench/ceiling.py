"""Our path with intake's write transaction taken out: what no storage could beat.

A diagnostic for the channel benchmarks (bench/smtp.py, bench/twilio.py --ceiling): intake
still checks, routes and works out deadlines (Intake.prepare) but stores nothing, so the
"cases" it reports do not exist. Never used outside benchmarks.
"""

from __future__ import annotations

import dataclasses

from caseboard.contacts import InboundContact, IntakeOutcome, IntakeResult
from caseboard.intake import Intake
from caseboard.services import Services


class PrepareOnly:
    def __init__(self, intake: Intake) -> None:
        self.intake = intake

    def take(self, contact: InboundContact) -> IntakeResult:
        self.intake.prepare(contact)
        return IntakeResult(IntakeOutcome.CREATED, "", 0, 0, 0)


def without_storage(services: Services) -> Services:
    return dataclasses.replace(services, intake=PrepareOnly(services.intake))  # type: ignore[arg-type]
