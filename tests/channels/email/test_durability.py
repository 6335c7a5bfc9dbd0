"""`python app.py smtp` killed under load: every mail that got 250 is stored exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.ports

LOAD = r"""
import smtplib, sys
from email.message import EmailMessage
port = int(sys.argv[1])
for i in range(100000):
    mail = EmailMessage()
    mail["From"] = f"citizen{i % 50}@mail.example"
    mail["To"] = "contact@city.example"
    mail["Subject"] = f"Load {i}"
    mail["Message-ID"] = f"<load-{i}@mail.example>"
    mail.set_content(f"My bin number {i} was not collected this week.")
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            refused = client.send_message(mail)
    except (OSError, smtplib.SMTPException):
        break
    if not refused:
        print(mail["Message-ID"], flush=True)
"""


def start_server(env: dict[str, str]) -> subprocess.Popen[str]:
    server = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "smtp"], env=env,
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    assert server.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if "SMTP intake on" in line:
            return server
        assert line or server.poll() is None, "the SMTP server did not start"
    raise AssertionError("the SMTP server did not start in time")


def stored_ids(db_url: str) -> list[str]:
    engine = sa.create_engine(db_url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT external_id FROM message WHERE channel = 'email' AND direction = 'in'"))
        ids = [row[0] for row in rows]
    engine.dispose()
    return ids


def test_sigkill_under_load_loses_and_duplicates_nothing(tmp_path: Path, db_url: str) -> None:
    port = free_port()
    env = {**os.environ, "CC_DATA_DIR": str(tmp_path / "data"), "CC_DATABASE_URL": db_url,
           "CC_SMTP_PORT": str(port), "CC_DEMO": "0"}
    server = start_server(env)
    load = subprocess.Popen([sys.executable, "-c", LOAD, str(port)], stdout=subprocess.PIPE,
                            text=True)
    assert load.stdout is not None
    acknowledged: list[str] = []
    while len(acknowledged) < 40:
        line = load.stdout.readline()
        assert line, "the load generator stopped early"
        acknowledged.append(line.strip())
    server.send_signal(signal.SIGKILL)  # mid-flight: some mails are half received
    server.communicate(timeout=30)
    rest, _ = load.communicate(timeout=60)
    acknowledged += rest.split()
    restarted = start_server(env)
    try:
        ids = stored_ids(db_url)
        assert len(ids) == len(set(ids)), "a mail was stored twice"
        assert set(acknowledged) <= set(ids), "a mail that got 250 is missing"
        # The senders retry what got no answer, and maybe what did: nothing doubles.
        retry = subprocess.run([sys.executable, "-c", LOAD.replace(
            "range(100000)", f"range({len(acknowledged) + 5})"), str(port)],
            capture_output=True, text=True, timeout=120)
        assert len(retry.stdout.split()) == len(acknowledged) + 5
        after = stored_ids(db_url)
        assert len(after) == len(set(after)) == len(set(ids) | set(retry.stdout.split()))
    finally:
        restarted.send_signal(signal.SIGTERM)
        output, _ = restarted.communicate(timeout=30)
    assert restarted.returncode == 0 and "stopped" in output


def test_a_bad_certificate_stops_the_smtp_command_naming_the_key(tmp_path: Path) -> None:
    env = {**os.environ, "CC_DATA_DIR": str(tmp_path / "data"), "CC_DEMO": "0",
           "CC_SMTP_PORT": str(free_port()), "CC_SMTP_TLS_CERT": str(tmp_path / "no.pem"),
           "CC_SMTP_TLS_KEY": str(tmp_path / "no.key")}
    result = subprocess.run([sys.executable, str(ROOT / "app.py"), "smtp"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "smtp.tls_cert" in lines[0]
    assert not (tmp_path / "data").exists()
