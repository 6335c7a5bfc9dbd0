"""The CLI as a user runs it: real processes, real config, a real server on a free port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, free_port


def run(args: list[str], env: dict[str, str], stdin: str = "", timeout: float = 120
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "app.py"), *args], input=stdin,
                          capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)


def cli_env(tmp_path: Path, db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CC_")}
    env.update(CC_DATA_DIR=str(tmp_path / "data"), CC_DATABASE_URL=db_url, **extra)
    return env


def http(method: str, url: str, body: Any = None, token: str = "") -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_route_prints_json_for_one_text() -> None:
    result = run(["route", "--json", "There is a deep pothole on Mill Road"], dict(os.environ))
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert set(decision) >= {"department", "service", "confidence", "priority", "reasons"}
    assert (decision["department"], decision["service"]) == ("roads", "pothole")


def test_route_reads_one_text_per_line_from_stdin() -> None:
    texts = "my bin was not collected\n路灯坏了好几天\nburst water main flooding the road\n"
    result = run(["route", "--json", "-"], dict(os.environ), stdin=texts)
    assert result.returncode == 0, result.stderr
    decisions = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["department"] for d in decisions] == ["waste", "roads", "water"]
    assert decisions[2]["priority"] == "urgent"


@pytest.mark.parametrize("env, key", [
    ({"CC_WEB_PORT": "70000"}, "web.port"),
    ({"CC_ADMINISTRATION_TIMEZONE": "Nowhere/City"}, "administration.timezone"),
    ({"CC_ROUTING_TRIAGE_DEPARTMENT": "atlantis"}, "routing.triage_department"),
])
def test_bad_config_stops_with_one_line_and_status_2(tmp_path: Path, env: dict[str, str],
                                                     key: str) -> None:
    result = run(["serve"], cli_env(tmp_path, "", **env), timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and key in lines[0]
    assert not (tmp_path / "data").exists()  # nothing was created


def test_malformed_toml_stops_with_status_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[web\n", encoding="utf-8")
    result = run(["--config", str(bad), "route", "x"], dict(os.environ))
    assert result.returncode == 2 and "malformed TOML" in result.stderr


def test_create_user_and_token(tmp_path: Path, db_url: str) -> None:
    env = cli_env(tmp_path, db_url, CC_DEMO="0")
    made = run(["create-user", "dave", "--role", "agent", "--department", "roads",
                "--password-stdin"], env, stdin="a-long-password\n")
    assert made.returncode == 0, made.stderr
    twice = run(["create-user", "dave", "--role", "agent", "--password-stdin"], env,
                stdin="a-long-password\n")
    assert twice.returncode == 1 and "already exists" in twice.stderr
    short = run(["create-user", "erin", "--role", "agent", "--password-stdin"], env,
                stdin="short\n")
    assert short.returncode == 1 and "at least" in short.stderr
    wrong = run(["create-user", "frank", "--role", "king", "--password-stdin"], env,
                stdin="a-long-password\n")
    assert wrong.returncode == 1 and "unknown role" in wrong.stderr
    token = run(["create-token", "kiosk", "--role", "intake"], env)
    assert token.returncode == 0 and token.stdout.strip().startswith("cc_")


@pytest.mark.ports
def test_serve_seeds_the_demo_answers_and_stops_on_sigterm(tmp_path: Path, db_url: str) -> None:
    port = free_port()
    env = cli_env(tmp_path, db_url, CC_WEB_PORT=str(port), CC_SMTP_PORT=str(free_port()))
    server = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "serve"], env=env,
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert http("GET", base + "/healthz") == (200, {"status": "ok"})
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        token = run(["create-token", "checker", "--role", "supervisor"], env).stdout.strip()
        status, cases = http("GET", base + "/api/v1/cases", token=token)
        assert status == 200 and cases["total"] == 6  # the demo administration's morning
        channels = {c["channel"] for c in cases["cases"]}
        assert {"email", "sms", "webchat", "letter", "phone", "walk_in"} == channels
        status, created = http("POST", base + "/api/v1/contacts", token=token, body={
            "channel": "walk_in", "sender": {"email": "x@mail.example"},
            "text": "Fly-tipping behind the library"})
        assert status == 201 and created["outcome"] == "created"
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output
    assert "stopped" in output
