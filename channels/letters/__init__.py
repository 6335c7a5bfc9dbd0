"""Scanned letters: the mailroom's inbox folder, the board's upload form and
`app.py ingest-letter` in (OCR, understanding, intake); PDF reply letters out to a print queue.

pages.py loads and straightens scans; ocr.py is the engine interface; reading.py makes page
texts with confidence; understand.py finds reference, sender and dates; ingest.py takes one
letter; inbox.py watches the folder and quarantines; render.py and outbound.py write replies;
web.py is the /board/letters page.
"""

from __future__ import annotations

from typing import Any

from caseboard.navigation import add_link
from caseboard.outbox import register_transport
from caseboard.services import Services


def init_channel(app: Any, services: Services) -> None:
    from channels.letters.inbox import InboxService
    from channels.letters.outbound import LetterTransport
    from channels.letters.web import bp

    register_transport("letter", LetterTransport(services.config, services.database,
                                                 services.files))
    if "letters" not in app.blueprints:
        app.register_blueprint(bp)
        add_link(app, "Letters", "letters.print_queue")
    if not any(s.name == InboxService.name for s in services.background):
        services.background.append(InboxService(services))
