"""The SMTP server: thin. RCPT checks the address, DATA hands the bytes to handle_message
and answers 250 only once the contact is committed (451 when the database fails)."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import ssl
import time
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from caseboard.services import Services
from channels.email.inbound import RejectedMail, accepts_recipient, handle_message
from settings import Config, ConfigError

log = logging.getLogger(__name__)

# A MAIL FROM / RCPT TO path as nearly every client writes it: <dot-atom@dot-atom>, then
# nothing or parameters. aiosmtpd reads each with the stdlib header parser and defines a
# class per call (~70 µs, twice a mail); anything else still goes that way.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_PATH = re.compile(rf"\s*<({_ATEXT}(?:\.{_ATEXT})*@{_ATEXT}(?:\.{_ATEXT})*)>(?:\s+(.*))?",
                         re.DOTALL)


class _SMTP(SMTP):
    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        plain = _PLAIN_PATH.fullmatch(arg) if arg else None
        if plain is None or (plain.group(2) or "").startswith("("):  # a comment: the stdlib
            return super()._getaddr(arg)
        address = plain.group(1)
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, plain.group(2) or ""


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _SMTP(self.handler, **self.SMTP_kwargs)


class Handler:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.config = services.config
        # Database work runs off the event loop, on several threads: mails arriving together
        # then share one intake transaction and its disk sync (caseboard/group_commit.py).
        self.executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="smtp-db")

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if len(envelope.rcpt_tos) >= self.config["smtp.max_recipients"]:
            return "452 4.5.3 Too many recipients"
        if not accepts_recipient(self.config, address):
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        loop = asyncio.get_running_loop()
        try:
            outcome = await loop.run_in_executor(
                self.executor, handle_message, self.services, raw,
                envelope.mail_from or "", list(envelope.rcpt_tos))
        except RejectedMail as error:
            log.info("rejected mail from %s: %s", envelope.mail_from, error.reason)
            return error.smtp_reply
        except Exception:  # the database or disk failed: the sender's server will retry
            log.exception("could not store mail from %s", envelope.mail_from)
            return "451 4.3.0 Temporary failure storing the message, please try again later"
        return outcome.smtp_reply


def tls_context(config: Config) -> ssl.SSLContext | None:
    cert, key = config["smtp.tls_cert"], config["smtp.tls_key"]
    if not cert and not key:
        return None
    if not (cert and key):
        raise ConfigError("smtp.tls_key" if cert else "smtp.tls_cert",
                          "STARTTLS needs both smtp.tls_cert and smtp.tls_key")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as error:
        raise ConfigError("smtp.tls_cert", f"cannot load the certificate: {error}") from None
    return context


class SharedPortController(_Controller):
    """A listener on a port that other processes listen on too (SO_REUSEPORT): the kernel
    spreads new connections over them (channels/email/processes.py)."""

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        return self.loop.create_server(self._factory_invoker, host=self.hostname,
                                       port=self.port, ssl=self.ssl_context, reuse_port=True)

    def _trigger_server(self) -> None:
        # aiosmtpd connects once to see its server answer; here that connection may reach
        # a sibling process, so connect (from a new source port each time) until ours did.
        deadline = time.monotonic() + self.ready_timeout
        while not self._factory_invoked.is_set() and time.monotonic() < deadline:
            with socket.create_connection((self.hostname, self.port), 1.0) as probe:
                probe.recv(1024)
            self._factory_invoked.wait(0.05)


class SmtpService:
    """The SMTP server as one of `serve`'s background services (or alone: `app.py smtp`).

    `shared_port`: one of several processes listening on the same port."""

    name = "smtp"

    def __init__(self, services: Services, host: str | None = None,
                 port: int | None = None, shared_port: bool = False) -> None:
        self.services = services
        self.host = host or services.config["smtp.host"]
        self.port = port or services.config["smtp.port"]
        self.shared_port = shared_port
        self.tls = tls_context(services.config)  # a bad certificate stops start-up here
        self.handler: Handler | None = None
        self.controller: Controller | None = None

    def start(self) -> None:
        config = self.services.config
        options: dict[str, Any] = {"tls_context": self.tls} if self.tls is not None else {}
        self.handler = Handler(self.services)
        kind = SharedPortController if self.shared_port else _Controller
        self.controller = kind(
            self.handler, hostname=self.host, port=self.port,
            server_hostname=config["smtp.domain"], ident="contact centre",
            data_size_limit=config["smtp.max_message_bytes"], decode_data=False,
            enable_SMTPUTF8=True, **options)
        self.controller.start()
        log.info("SMTP on %s:%s", self.host, self.port)

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller.loop.close()
            self.controller = None
        if self.handler is not None:
            self.handler.executor.shutdown(wait=True)
            self.handler = None
