"""SMTP intake on several processes sharing one port: every mail stored once, whichever
process took it, and one process dying does not stop the mail."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import col, select

from caseboard.models import Message
from caseboard.services import Services
from channels.email.processes import SmtpProcesses
from settings import Config
from tests.channels.email.conftest import make_mail
from tests.channels.email.test_server import send
from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.ports


def mail(number: int) -> bytes:
    return make_mail(f"My bin number {number} was not collected.",
                     message_id=f"<proc-{number}@mail.example>").as_bytes()


def stored_ids(services: Services) -> list[str]:
    with services.database.read() as session:
        return list(session.execute(select(Message.external_id).where(
            col(Message.channel) == "email", col(Message.direction) == "in")).scalars())


def test_processes_on_one_port_store_each_mail_once_and_survive_one_dying(
        services: Services, config: Config) -> None:
    port = free_port()
    processes = SmtpProcesses(config, 2, port=port)
    processes.start()
    try:
        assert len({p.pid for p in processes.processes}) == 2
        replies = [send(port, mail(i), ["contact@city.example"]) for i in range(20)]
        assert [code for code, _ in replies] == [250] * 20
        assert all(b"created CC-" in reply for _, reply in replies)
        processes.processes[0].kill()
        processes.processes[0].join(10)
        # The kernel gives new connections to the process still listening.
        later = [send(port, mail(i), ["contact@city.example"]) for i in range(20, 30)]
        assert [code for code, _ in later] == [250] * 10
        code, reply = send(port, mail(3), ["contact@city.example"])  # the sender retries
        assert code == 250 and b"duplicate" in reply
    finally:
        processes.stop()
    assert sorted(stored_ids(services)) == sorted(f"<proc-{i}@mail.example>" for i in range(30))


def test_smtp_command_runs_the_processes_asked_for_and_stops_on_sigterm(
        tmp_path: Path, db_url: str) -> None:
    port = free_port()
    env = {**os.environ, "CC_DATA_DIR": str(tmp_path / "data"), "CC_DATABASE_URL": db_url,
           "CC_SMTP_PORT": str(port), "CC_DEMO": "0"}
    server = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "smtp", "--processes",
                               "2"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    assert server.stdout is not None
    try:
        lines = iter(server.stdout.readline, "")
        started = next((line for line in lines if "SMTP intake on" in line), "")
        assert "(2 processes)" in started
        code, reply = send(port, mail(1), ["contact@city.example"])
        assert code == 250 and b"created CC-" in reply
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0 and "stopped" in output


def test_zero_processes_is_refused(config: Config) -> None:
    with pytest.raises(ValueError, match="at least one"):
        SmtpProcesses(config, 0)
