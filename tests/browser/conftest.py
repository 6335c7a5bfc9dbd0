"""Fixtures for end-to-end tests in a real browser: Debian's Chromium driven by Playwright.

`live_server` serves the real app (demo administration on SQLite, the outbox dispatcher
running) on a free port; `signed_in_page("alice")` opens a fresh browser context signed in
through the real /login form. Outside CI a missing Chromium or Playwright skips these tests
with the reason shown; with CI=true they fail.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from caseboard.services import Services, build_services
from settings import Config, load_config
from tests.conftest import free_port, require_or_skip

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without these flags Chromium keeps dialling Google's hosts, which this closed network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
DEMO_PASSWORDS = {"alice": "alice-demo-password", "bob": "bob-demo-password",
                  "carol": "carol-demo-password"}

# Set by any citizen payload that manages to run; pages must never set it.
XSS_MARKER = "__xss_ran"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.ports)


@dataclass
class LiveServer:
    url: str
    config: Config
    services: Services
    app: Any  # the Flask app, for a test to look at (or adjust) what it serves


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The whole app on 127.0.0.1:<free port>, seeded with the demo administration."""
    from app import create_app

    data = tmp_path_factory.mktemp("live")
    port = free_port()
    config = load_config(env={"CC_DATA_DIR": str(data / "data"),
                              "CC_DATABASE_URL": f"sqlite:///{data / 'cc.db'}",
                              "CC_DEMO": "1", "CC_WEB_PORT": str(port)})
    services = build_services(config)
    app = create_app(config, services)
    server = make_server("127.0.0.1", port, app, threaded=True)
    stop = threading.Event()
    threads = [threading.Thread(target=server.serve_forever, name="live-web", daemon=True),
               threading.Thread(target=_dispatch_until, args=(services, stop),
                                name="live-outbox", daemon=True)]
    for thread in threads:
        thread.start()
    yield LiveServer(url=f"http://127.0.0.1:{port}", config=config, services=services, app=app)
    stop.set()
    server.shutdown()
    for thread in threads:
        thread.join(timeout=10)
    services.database.dispose()


def _dispatch_until(services: Services, stop: threading.Event) -> None:
    """The outbox dispatcher as `serve` runs it, polling fast so tests see sends quickly."""
    while not stop.is_set():
        if not services.dispatcher.send_one():
            stop.wait(0.2)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        require_or_skip(False, "Playwright is not installed (pip install -e '.[test]')")
        return
    require_or_skip(Path(CHROMIUM).exists(),
                    f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser: Any, live_server: LiveServer) -> Iterator[Callable[[], Any]]:
    """new_page() → a page in a fresh browser context (own cookies), closed after the test."""
    contexts: list[Any] = []

    def make() -> Any:
        context = browser.new_context(base_url=live_server.url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        _watch_for_scripts(page)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def signed_in_page(new_page: Callable[[], Any]) -> Callable[[str], Any]:
    """signed_in_page("alice") → a page in its own context, signed in through /login."""

    def sign_in(username: str) -> Any:
        page = new_page()
        page.goto("/login")
        page.fill("#username", username)
        page.fill("#password", DEMO_PASSWORDS[username])
        page.click("button:has-text('Sign in')")
        page.wait_for_load_state()
        assert "/login" not in page.url, f"{username} could not sign in"
        return page

    return sign_in


def _watch_for_scripts(page: Any) -> None:
    """Record every dialog (alert/confirm/prompt) a page opens; payloads use alert()."""
    page.dialogs_seen = []

    def on_dialog(dialog: Any) -> None:
        page.dialogs_seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)


def assert_no_script_ran(page: Any) -> None:
    """No citizen payload executed: no dialog opened and the marker global was never set."""
    assert page.dialogs_seen == [], f"a script opened dialogs: {page.dialogs_seen}"
    assert page.evaluate(f"() => window.{XSS_MARKER} === undefined"), "a payload ran"


def xss_payloads() -> dict[str, str]:
    """Citizen text that would run if a page ever rendered it as HTML."""
    mark = f"window.{XSS_MARKER}=1;alert(1)"
    return {
        "script": f"<script>{mark}</script>",
        "img": f'<img src=x onerror="{mark}">',
        "link": f'<a href="javascript:{mark}">click me</a>',
        "svg": f'<svg onload="{mark}"></svg>',
    }
