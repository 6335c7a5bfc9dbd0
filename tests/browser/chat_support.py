"""Steps the chat's browser tests share: an agent of their own (the live server is shared by
the whole run, so each test makes its agent and names its citizens, and never picks "the
first waiting chat"), a citizen asking for a person, an agent taking that citizen's chat."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest

from caseboard import auth
from caseboard.assignment import set_presence
from tests.browser.conftest import LiveServer

PASSWORD = "a-long-test-password"
MOULD = "There is black mould in the bedroom of my council flat"


def office_open(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The administration's clock, not the test's: whenever this runs, the office is open."""
    monkeypatch.setattr(live_server.services.calendar, "is_working_time", lambda _m: True)


def make_agent(live_server: LiveServer, username: str, display_name: str = "",
               capacity: dict[str, int] | None = None) -> None:
    """An available agent in housing and triage (where the test questions are routed)."""
    with live_server.services.database.write() as session:
        user = auth.create_user(session, username, "agent", PASSWORD,
                                display_name=display_name, departments=("housing", "triage"),
                                languages=("en", "zh"))
        if capacity is not None:
            user.capacity = capacity
            session.add(user)
        session.flush()
        set_presence(session, username, "available", username)


def leave(live_server: LiveServer, username: str) -> None:
    """The agent goes offline, so later tests' chats are not handed to them."""
    with live_server.services.database.write() as session:
        set_presence(session, username, "offline", username)


def sign_in(new_page: Callable[[], Any], username: str) -> Any:
    page = new_page()
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_load_state()
    assert "/login" not in page.url, f"{username} could not sign in"
    page.goto("/board/chats")
    return page


def citizen_asks(page: Any, name: str, question: str = MOULD, path: str = "/chat") -> Any:
    """The citizen opens the widget, gives a name and asks for a person; returns the page."""
    page.goto(path)
    page.fill("#cc-name", name)
    page.fill("#cc-question", question)
    page.click("#cc-person")
    page.wait_for_selector("#cc-talk:not([hidden])")
    return page


def take(agent: Any, name: str) -> Any:
    """The agent takes the waiting chat of the citizen called `name`; returns its pane."""
    waiting = agent.locator("#chat-waiting li", has_text=name)
    waiting.locator("button.take").click()
    pane = pane_of(agent, name)
    pane.wait_for()
    return pane


def pane_of(agent: Any, name: str) -> Any:
    return agent.locator("section.chat", has=agent.locator("h3", has_text=name))


def agent_says(pane: Any, text: str) -> None:
    pane.locator("textarea").fill(text)
    pane.locator("textarea").press("Enter")
    pane.locator("li.agent", has_text=text).wait_for()


class CuttableProxy:
    """A TCP relay in front of the live server whose connections the test can drop: cut()
    closes every open connection (the chat's event stream among them) and refuses new ones
    until restore(), as a train going into a tunnel does to a phone's browser."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.up = True
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._closed = False
        threading.Thread(target=self._accept, name="cuttable-proxy", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self._open.update((client, upstream))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                self._drop(sock)

    def _drop(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def cut(self) -> None:
        self.up = False
        with self._lock:
            socks = list(self._open)
        for sock in socks:
            self._drop(sock)

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self._closed = True
        self.cut()
        self.listener.close()
