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

from tests.conftest import PG_ADMIN_URL, ROOT, free_port


def run(args: list[str], env: dict[str, str], stdin: str = "", timeout: float = 120
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "app.py"), *args], input=stdin,
                          capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)


def cli_env(tmp_path: Path, db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CC_")}
    env.update({"CC_DATA_DIR": str(tmp_path / "data"), "CC_DATABASE_URL": db_url, **extra})
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
    # Accepted once: serve started, then every worker died of an OverflowError.
    ({"CC_OUTBOX_POLL_SECONDS": "inf"}, "outbox.poll_seconds"),
    ({"CC_LETTERS_POLL_SECONDS": "nan"}, "letters.poll_seconds"),
    ({"CC_CHAT_POLL_SECONDS": "1e308"}, "chat.poll_seconds"),
])
def test_bad_config_stops_with_one_line_and_status_2(tmp_path: Path, env: dict[str, str],
                                                     key: str) -> None:
    result = run(["serve"], cli_env(tmp_path, "", **env), timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and key in lines[0]
    assert not (tmp_path / "data").exists()  # nothing was created


def test_a_misspelt_config_key_stops_with_one_line_naming_it(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text((ROOT / "config.toml").read_text(encoding="utf-8").replace(
        "port = 8080", "prot = 9090", 1), encoding="utf-8")
    result = run(["--config", str(config), "serve"], cli_env(tmp_path, ""), timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "config error: web.prot: unknown key (did you mean web.port?)"]


def test_a_misspelt_cc_variable_is_a_warning(tmp_path: Path) -> None:
    result = run(["route", "pothole"], cli_env(tmp_path, "", CC_ROUTING_MIN_CONFIDENSE="0.9"))
    assert result.returncode == 0, result.stderr
    assert "CC_ROUTING_MIN_CONFIDENSE is not a setting and is ignored " \
           "(did you mean CC_ROUTING_MIN_CONFIDENCE?)" in result.stderr


def unusable_data_folders(tmp_path: Path) -> list[tuple[Path, str]]:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder", encoding="utf-8")
    folders = [(a_file, "it is a file, not a folder"),
               (a_file / "data", "Not a directory")]
    if Path("/proc/self").is_dir():  # a folder nobody may create anything in
        folders.append((Path("/proc/nonexistent"), "No such file or directory"))
    return folders


@pytest.mark.parametrize("command", [
    ["migrate"], ["serve"], ["smtp"], ["seed-demo"], ["kb-search", "bins"],
    ["create-token", "kiosk", "--role", "intake"], ["train-router"],
])
def test_an_unusable_data_folder_stops_every_command_with_one_line(tmp_path: Path,
                                                                   command: list[str]) -> None:
    folders = unusable_data_folders(tmp_path)
    for folder, reason in folders if command == ["migrate"] else folders[:1]:
        env = cli_env(tmp_path, "", CC_DATA_DIR=str(folder), CC_WEB_PORT=str(free_port()),
                      CC_SMTP_PORT=str(free_port()))
        result = run(command, env, timeout=60)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert lines == [f"config error: data.dir: cannot use {folder} as the data folder: "
                         f"{reason}"], result.stderr


@pytest.mark.parametrize("key", ["letters.inbox_dir", "letters.quarantine_dir"])
def test_an_unusable_letters_folder_stops_serve_with_one_line(tmp_path: Path, key: str) -> None:
    a_file = unusable_data_folders(tmp_path)[0][0]
    env = cli_env(tmp_path, "", CC_WEB_PORT=str(free_port()), CC_SMTP_PORT=str(free_port()),
                  **{"CC_" + key.replace(".", "_").upper(): str(a_file)})
    result = run(["serve"], env, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"config error: {key}: cannot use {a_file} as a folder: it is a file, not a folder"]


def test_route_needs_no_data_folder_but_refuses_a_file(tmp_path: Path) -> None:
    missing = run(["route", "pothole"], cli_env(tmp_path, "",
                                                CC_DATA_DIR=str(tmp_path / "none")))
    assert missing.returncode == 0, missing.stderr
    assert not (tmp_path / "none").exists()
    a_file = unusable_data_folders(tmp_path)[0][0]
    refused = run(["route", "pothole"], cli_env(tmp_path, "", CC_DATA_DIR=str(a_file)))
    assert refused.returncode == 2 and "data.dir" in refused.stderr


@pytest.mark.parametrize("command", [["migrate"], ["serve"], ["seed-demo"], ["smtp"],
                                     ["kb-gaps"]])
def test_an_unreachable_database_is_one_line_without_the_password(tmp_path: Path,
                                                                  command: list[str]) -> None:
    closed = f"postgresql+psycopg://postgres:hunter2-secret@127.0.0.1:{free_port()}/cc"
    missing = PG_ADMIN_URL.replace("postgres@", "postgres:hunter2-secret@", 1).rsplit("/", 1)[0]
    for url, reasons in ((closed, ("refused",)),
                         (missing + "/cc_does_not_exist", ("does not exist", "refused"))):
        env = cli_env(tmp_path, url, CC_WEB_PORT=str(free_port()),
                      CC_SMTP_PORT=str(free_port()))
        result = run(command, env, timeout=60)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("config error: database.url: cannot open the database "
                                   "postgresql+psycopg://postgres:***@")
        assert any(reason in lines[0] for reason in reasons), lines[0]
        assert "hunter2" not in result.stderr + result.stdout


def test_a_broken_sqlite_database_is_one_line(tmp_path: Path) -> None:
    not_a_database = tmp_path / "cc.db"
    not_a_database.write_text("hello, this is not SQLite\n" * 100, encoding="utf-8")
    result = run(["migrate"], cli_env(tmp_path, f"sqlite:///{not_a_database}"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"config error: database.url: cannot open the database sqlite:///{not_a_database}: "
        "file is not a database"]


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
    for_dave = run(["create-token", "daves-tool", "--role", "agent", "--user", "dave"], env)
    assert for_dave.returncode == 0 and for_dave.stdout.strip().startswith("cc_")
    above = run(["create-token", "t", "--role", "admin", "--user", "dave"], env)
    assert above.returncode == 1 and "dave is an agent" in above.stderr


@pytest.mark.parametrize("days", ["0", "-5", "3651", "seven"])
def test_create_token_wants_a_positive_number_of_days(tmp_path: Path, days: str) -> None:
    # 0 made a token that never expires, -5 one that had already expired.
    result = run(["create-token", "kiosk", "--role", "intake", "--expires-days", days],
                 cli_env(tmp_path, f"sqlite:///{tmp_path / 'cc.db'}", CC_DEMO="0"))
    assert result.returncode == 2 and result.stdout == ""
    assert "argument --expires-days:" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "cc.db").exists()  # refused before anything was created


def test_create_token_expires_after_the_days_given(tmp_path: Path) -> None:
    import sqlalchemy as sa

    database = tmp_path / "cc.db"
    env = cli_env(tmp_path, f"sqlite:///{database}", CC_DEMO="0")
    for name, extra in (("forever", []), ("month", ["--expires-days", "30"])):
        made = run(["create-token", name, "--role", "intake", *extra], env)
        assert made.returncode == 0, made.stderr
    engine = sa.create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        rows: dict[str, float | None] = {name: days for name, days in connection.execute(
            sa.text("SELECT name, julianday(expires_at) - julianday(created_at) FROM api_token"))}
    engine.dispose()
    assert rows["forever"] is None
    assert rows["month"] == pytest.approx(30)


def test_smtp_processes_option_is_bounded(tmp_path: Path) -> None:
    result = run(["smtp", "--processes", "100000"], cli_env(tmp_path, ""))
    assert result.returncode == 2 and "argument --processes:" in result.stderr
    assert not (tmp_path / "data").exists()


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
