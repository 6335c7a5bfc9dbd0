"""The channel is wired in one place: create_app registers the transport and the server."""

from __future__ import annotations

from flask import Flask

from caseboard.outbox import registered_channels
from caseboard.services import Services


def test_create_app_registers_the_email_transport_and_smtp_service(
        app: Flask, services: Services) -> None:
    assert "email" in registered_channels()
    assert [s.name for s in services.background].count("smtp") == 1
