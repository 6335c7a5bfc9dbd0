"""Fixtures for the phone channel: an app with a Twilio token and public URL, signed posts,
the real webhook bodies from ../shared/data/twilio, and a local HTTP server standing in for
api.twilio.com that records every request."""

from __future__ import annotations

import json
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from flask import Flask
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from caseboard.services import Services, build_services, prepare_database
from settings import Config
from tests.conftest import SHARED_DATA, make_config

TOKEN = "test-auth-token-0123456789"
PUBLIC = "https://contact.city.example"
TWILIO_DATA = SHARED_DATA / "twilio"
MEDIA_BYTES = b"\xff\xd8\xff\xe0 a small jpeg for the MMS test"


def payloads(file_name: str) -> list[dict[str, Any]]:
    data = json.loads((TWILIO_DATA / file_name).read_text(encoding="utf-8"))
    return list(data["payloads"])


def payload(file_name: str, name: str) -> dict[str, str]:
    return dict(next(p for p in payloads(file_name) if p["name"] == name)["params"])


MESSAGING = "courier_twilio_messaging_payloads.json"
VOICE = "mailroom_twilio_voice_payloads.json"


def synthetic(name: str) -> dict[str, str]:
    data = json.loads((TWILIO_DATA / "voice_callback_templates_SYNTHETIC.json").read_text())
    return dict(data["templates"][name])


def twiml(answer: TestResponse) -> ET.Element:
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "text/xml"
    root = ET.fromstring(answer.get_data())
    assert root.tag == "Response"
    return root


@pytest.fixture
def phone_env() -> dict[str, str]:
    return {"CC_TWILIO_AUTH_TOKEN": TOKEN, "CC_TWILIO_PUBLIC_URL": PUBLIC}


def account_env(api: RecordingApi, account: str, **extra: str) -> dict[str, str]:
    """Settings of a Twilio account whose REST API is the local `api` server."""
    return {"CC_TWILIO_AUTH_TOKEN": TOKEN, "CC_TWILIO_PUBLIC_URL": PUBLIC,
            "CC_TWILIO_ACCOUNT_SID": account, "CC_PHONE_API_BASE_URL": api.url, **extra}


@pytest.fixture
def phone_config(tmp_path: Path, db_url: str, phone_env: dict[str, str]) -> Config:
    return make_config(tmp_path, db_url, **phone_env)


@pytest.fixture
def phone_services(phone_config: Config) -> Iterator[Services]:
    built = build_services(phone_config)
    prepare_database(built)
    yield built
    built.database.dispose()


@pytest.fixture
def phone_app(phone_config: Config, phone_services: Services,
              monkeypatch: pytest.MonkeyPatch) -> Flask:
    import app as app_module

    # The phone channel is registered in app.py; only it is loaded here, so these tests
    # do not depend on other channels' state in the shared tree.
    assert "channels.phone" in app_module.CHANNEL_MODULES
    monkeypatch.setattr(app_module, "CHANNEL_MODULES", ("channels.phone",))
    create_app = app_module.create_app
    application = create_app(phone_config, phone_services)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def twilio(phone_app: Flask) -> FlaskClient:
    return phone_app.test_client()


Post = Callable[..., TestResponse]


@pytest.fixture
def post(twilio: FlaskClient) -> Post:
    """post("/twilio/sms", params) signed as Twilio signs it: the public URL it called."""

    def send(path: str, params: dict[str, str], token: str = TOKEN,
             signed_url: str | None = None, sign: bool = True) -> TestResponse:
        url = signed_url if signed_url is not None else PUBLIC + path
        headers = {}
        if sign:
            headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(url, params)
        return twilio.post(path, data=params, headers=headers)

    return send


@dataclass
class RecordingApi:
    """A stand-in for api.twilio.com: records requests, answers from a list of replies."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    replies: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    # GET answers by path ending: given in turn, the last one again and again; else 404.
    media: dict[str, list[tuple[int, bytes]]] = field(
        default_factory=lambda: {"/Media/ME1": [(200, MEDIA_BYTES)]})

    def media_answer(self, path: str) -> tuple[int, bytes]:
        for ending, answers in self.media.items():
            if path.endswith(ending):
                return answers.pop(0) if len(answers) > 1 else answers[0]
        return 404, b""


@pytest.fixture
def twilio_api() -> Iterator[RecordingApi]:
    api = RecordingApi()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            api.requests.append({"path": self.path, "form": dict(parse_qsl(body)),
                                 "authorization": self.headers.get("Authorization", ""),
                                 "content_type": self.headers.get("Content-Type", "")})
            status, answer = api.replies.pop(0) if api.replies else (201, {})
            if status < 300:
                answer = {"sid": f"SM{len(api.requests):032d}", "status": "queued", **answer}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 (media downloads)
            api.requests.append({"path": self.path, "method": "GET",
                                 "authorization": self.headers.get("Authorization", "")})
            status, data = api.media_answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield api
    server.shutdown()
    server.server_close()
