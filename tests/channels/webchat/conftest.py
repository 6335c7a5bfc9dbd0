"""Web chat fixtures: an administration open around the clock (or always closed), alice the
agent (housing, triage), the demo help articles, and a citizen's chat API client."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from caseboard import auth
from caseboard.assignment import set_presence
from caseboard.services import Services, build_services, prepare_database
from settings import Config
from tests.conftest import ROOT, make_config

PASSWORD = "a-long-password"
MOULD = "There is black mould in the bedroom of my council flat"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def config_with_hours(tmp_path: Path, db_url: str, hours: str, **env: str) -> Config:
    """Open `hours` every day; with hours "" closed today and tomorrow (open two days on,
    as a calendar needs one open day)."""
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    later = (dt.datetime.now(zoneinfo.ZoneInfo("Europe/London")).weekday() + 2) % 7
    for index, day in enumerate(DAYS):
        value = hours or ("00:00-23:59" if index == later else "")
        text = re.sub(rf'^{day} = "[^"]*"', f'{day} = "{value}"', text, flags=re.MULTILINE)
    text = re.sub(r"^extra_holidays = .*$", "extra_holidays = []", text, flags=re.MULTILINE)
    text = text.replace('holidays_country = "GB"', 'holidays_country = ""')
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return make_config(tmp_path, db_url, CC_CONFIG=str(path), **env)


@pytest.fixture
def chat_env() -> dict[str, str]:
    return {"CC_CHAT_ALLOWED_ORIGINS": "https://www.city.example"}


@pytest.fixture
def config(tmp_path: Path, db_url: str, chat_env: dict[str, str]) -> Config:
    return config_with_hours(tmp_path, db_url, "00:00-23:59", **chat_env)


@pytest.fixture
def services(config: Config) -> Iterator[Services]:
    built = build_services(config)
    prepare_database(built)
    built.kb.load_demo()
    with built.database.write() as session:
        auth.create_user(session, "alice", "agent", PASSWORD, display_name="Alice Agent",
                         departments=("housing", "triage"))
        set_presence(session, "alice", "available", "alice")
    yield built
    built.database.dispose()


def sign_in(app: Flask, username: str = "alice") -> tuple[FlaskClient, dict[str, str]]:
    """A signed-in agent client and the CSRF header its page's script sends."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.findall(r'name="csrf_token" value="([^"]*)"', page)[0]
    answer = client.post("/login", data={"csrf_token": token, "username": username,
                                         "password": PASSWORD})
    assert answer.status_code == 303
    page = client.get("/board/chats").get_data(as_text=True)
    csrf = re.findall(r'name="csrf-token" content="([^"]*)"', page)[0]
    return client, {"X-CSRFToken": csrf}


class Citizen:
    """The citizen's browser, as far as the API sees it."""

    def __init__(self, client: FlaskClient, name: str = "Ann", language: str = "en",
                 headers: dict[str, str] | None = None) -> None:
        self.client = client
        answer = client.post("/chat/api/sessions", json={"name": name, "language": language},
                             headers=headers or {})
        assert answer.status_code == 201, answer.get_json()
        self.token = answer.get_json()["token"]
        self.headers = {"X-Chat-Token": self.token}
        self.count = 0

    def post(self, path: str, **body: Any) -> Any:
        return self.client.post(f"/chat/api{path}", json=body, headers=self.headers)

    def say(self, text: str, client_id: str | None = None) -> Any:
        self.count += 1
        return self.post("/messages", text=text, client_id=client_id or f"m{self.count}")

    def history(self) -> dict[str, Any]:
        answer = self.client.get("/chat/api/history", headers=self.headers)
        assert answer.status_code == 200, answer.get_json()
        data: dict[str, Any] = answer.get_json()
        return data
