"""Open311 fixtures: an API key for a reporting app, and a report's form fields."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from caseboard import auth
from caseboard.models import AuditEvent, Case, Citizen, Message, OutboxItem
from caseboard.services import Services


@pytest.fixture
def api_key(services: Services) -> str:
    with services.database.write() as session:
        return auth.create_token(session, "street-app", "intake")


def pothole_report(api_key: str, **changes: str) -> dict[str, str]:
    form = {"api_key": api_key, "service_code": "pothole", "lat": "51.50135",
            "long": "-0.14189", "address_string": "12 High Street, Example",
            "description": "A deep pothole in the cycle lane outside number 12",
            "email": "ana.reporter@mail.example", "first_name": "Ana", "last_name": "Reporter",
            "phone": "+44 7700 900123", "media_url": "https://photos.example/pothole.jpg",
            "attribute[depth]": "deep"}
    form.update(changes)
    return {key: value for key, value in form.items() if value != "<drop>"}


def row_counts(services: Services) -> dict[str, int]:
    with services.database.read() as session:
        return {model.__name__: int(session.execute(
            sa.select(sa.func.count()).select_from(model)).scalar_one())
            for model in (Case, Message, Citizen, AuditEvent, OutboxItem)}
