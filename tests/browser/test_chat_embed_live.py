"""In Chromium: the one-line <script> embed on the administration's own site (another origin,
on the chat's allowed list) opens the widget and chats through it; a site not on the list gets
a clear message and nothing is stored for it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlmodel import col, func, select

from channels.webchat.models import ChatSession
from tests.browser.conftest import LiveServer

HOST_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>City of Example</title>
</head><body><h1>Bins and recycling</h1><p>Collection days, missed bins, bulky waste.</p>
<script src="{chat}/chat/embed.js" async></script></body></html>"""


@pytest.fixture
def host_site(live_server: LiveServer) -> Iterator[str]:
    """The administration's own website on another origin, with the one-line embed."""
    page = HOST_PAGE.format(chat=live_server.url).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="host-site", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _allow(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch, *origins: str) -> None:
    """chat.allowed_origins, as the live app read it from its config."""
    monkeypatch.setattr(live_server.app.extensions["webchat"], "allowed_origins",
                        frozenset(origins))


def _sessions_from(live_server: LiveServer, origin: str) -> int:
    with live_server.services.database.read() as session:
        return int(session.execute(select(func.count()).select_from(ChatSession).where(
            col(ChatSession.origin) == origin)).scalar_one())


def test_the_embed_on_an_allowed_site_chats(live_server: LiveServer, host_site: str,
                                            new_page: Callable[[], Any],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live_server.services.calendar, "is_working_time", lambda _m: True)
    _allow(live_server, monkeypatch, "https://www.city.example", host_site)
    page = new_page()
    page.goto(host_site)
    opener = page.locator("button[aria-expanded]", has_text="Chat")
    opener.click()
    assert opener.get_attribute("aria-expanded") == "true"
    assert page.locator("#cc-question").evaluate("e => e === document.activeElement")
    page.fill("#cc-name", "Eve Embed")
    page.fill("#cc-question", "my bin was not emptied")
    page.wait_for_selector("#cc-suggestions article:has-text('missed bin collection')")
    page.click("#cc-person")
    page.wait_for_selector("#cc-log li.citizen:has-text('my bin was not emptied')")
    page.wait_for_selector("#cc-log li.system:has-text('CC-')")  # the case made from it
    assert _sessions_from(live_server, host_site) == 1  # the chat knows where it came from
    page.click("#cc-end")
    page.wait_for_selector("#cc-status:has-text('The chat has ended')")


def test_the_embed_on_a_site_not_on_the_list_is_refused(live_server: LiveServer,
                                                        host_site: str,
                                                        new_page: Callable[[], Any],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _allow(live_server, monkeypatch, "https://www.city.example")
    page = new_page()
    page.goto(host_site)
    page.locator("button[aria-expanded]", has_text="Chat").click()
    page.fill("#cc-question", "my bin was not emptied")
    page.wait_for_selector("#cc-status:has-text('cannot be reached from here')")
    assert page.locator("#cc-suggestions article").count() == 0
    page.click("#cc-person")
    page.wait_for_timeout(300)
    assert page.locator("#cc-talk").is_hidden()
    assert _sessions_from(live_server, host_site) == 0
