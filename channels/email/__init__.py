"""The email channel: our own SMTP server in, replies out through a relay (or .eml files).

parse.py and charsets.py read real-world mail; text.py makes it readable; inbound.py turns
one mail into one committed contact; bounces.py handles delivery reports; render.py and
outbound.py write acknowledgements and replies; server.py is the thin aiosmtpd front.
"""

from __future__ import annotations

from typing import Any

from caseboard.outbox import register_transport
from caseboard.services import Services


def init_channel(app: Any, services: Services) -> None:
    from channels.email.cli import smtp_server
    from channels.email.outbound import EmailTransport

    register_transport("email", EmailTransport(services.config, services.database))
    if not any(s.name == "smtp" for s in services.background):
        # serve migrates before it starts background services, so processes may take mail.
        services.background.append(
            smtp_server(services.config, services, services.config["smtp.processes"]))
