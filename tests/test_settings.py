"""Configuration layers, fail-fast errors, and the README's settings table."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from settings import SETTINGS, ConfigError, Setting, load_config

ROOT = Path(__file__).resolve().parent.parent
CONFIG_TEXT = (ROOT / "config.toml").read_text(encoding="utf-8")


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_then_file_then_environment(tmp_path: Path) -> None:
    base = load_config(env={})
    assert base["web.port"] == 8080 and base["smtp.port"] == 2525
    assert base.database_url.startswith("sqlite:///") and base.database_url.endswith(
        "contactcentre.db")
    path = write_config(tmp_path, CONFIG_TEXT.replace("port = 8080", "port = 9090"))
    from_file = load_config(env={"CC_CONFIG": str(path)})
    assert from_file["web.port"] == 9090
    from_env = load_config(env={"CC_CONFIG": str(path), "CC_WEB_PORT": "7070",
                                "CC_WEB_HOST": "0.0.0.0", "CC_SMTP_PORT": "2626",
                                "CC_DATA_DIR": str(tmp_path / "d"),
                                "CC_DATABASE_URL": "postgresql+psycopg://x@h/db",
                                "CC_TWILIO_AUTH_TOKEN": "abc", "CC_DEMO": "0"})
    assert (from_env["web.port"], from_env["web.host"], from_env["smtp.port"]) == (
        7070, "0.0.0.0", 2626)
    assert from_env.data_dir == (tmp_path / "d").resolve()
    assert from_env.database_url == "postgresql+psycopg://x@h/db"
    assert from_env["twilio.auth_token"] == "abc" and from_env["demo.enabled"] is False


def test_secrets_can_come_from_files(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("s3cret-from-file\n", encoding="utf-8")
    config = load_config(env={"CC_TWILIO_AUTH_TOKEN_FILE": str(secret)})
    assert config["twilio.auth_token"] == "s3cret-from-file"
    with pytest.raises(ConfigError, match="CC_TWILIO_AUTH_TOKEN_FILE"):
        load_config(env={"CC_TWILIO_AUTH_TOKEN_FILE": str(tmp_path / "missing")})


@pytest.mark.parametrize("env, key", [
    ({"CC_WEB_PORT": "99999"}, "web.port"),
    ({"CC_WEB_PORT": "eighty"}, "web.port"),
    ({"CC_SMTP_PORT": "0"}, "smtp.port"),
    ({"CC_ADMINISTRATION_TIMEZONE": "Mars/Olympus"}, "administration.timezone"),
    ({"CC_DEMO": "maybe"}, "CC_DEMO"),
    ({"CC_ROUTING_TRIAGE_DEPARTMENT": "nowhere"}, "routing.triage_department"),
    ({"CC_ROUTING_MIN_CONFIDENCE": "2"}, "routing.min_confidence"),
    ({"CC_DATABASE_URL": "mysql://x"}, "database.url"),
    ({"CC_CONFIG": "/nonexistent/config.toml"}, "CC_CONFIG"),
])
def test_wrong_values_name_their_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(env=env)
    assert caught.value.key == key


@pytest.mark.parametrize("old, new, key", [
    ('departments = ["housing", "triage"]', 'departments = ["housing", "atlantis"]',
     "demo.users.alice.departments"),
    ('timezone = "Europe/London"', 'timezone = "Europe/Lundon"', "administration.timezone"),
    ('mon = "08:00-18:00"', 'mon = "18:00-08:00"', "calendar.mon"),
    ('code = "pothole"', 'code = "street-light"', "departments.roads.services.street-light"),
    ("urgent = { first_response = 1, resolution = 8 }", "urgent = { first_response = 1 }",
     "time_limits.urgent.resolution"),
    ('role = "agent"', 'role = "wizard"', "demo.users.alice.role"),
    ('assignment = "push"', 'assignment = "shove"', "departments.housing.assignment"),
    ("capacity = { phone = 1,", "capacity = { fax = 1,", "assignment.capacity.fax"),
    ("capacity = { phone = 1,", "capacity = { phone = -1,", "assignment.capacity.phone"),
])
def test_wrong_config_file_values_name_their_key(tmp_path: Path, old: str, new: str,
                                                  key: str) -> None:
    assert old in CONFIG_TEXT
    path = write_config(tmp_path, CONFIG_TEXT.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert caught.value.key == key


def test_malformed_toml_is_a_config_error(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[web\nport = 1")
    with pytest.raises(ConfigError, match="malformed TOML"):
        load_config(path, env={})


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table_rows = re.findall(r"^\| `([a-z_.]+)` \| `(CC_[A-Z_]+)` \|", readme, re.MULTILINE)
    documented = dict(table_rows)
    for setting in SETTINGS:
        assert documented.get(setting.key) == setting.env_var, (
            f"README's settings table lacks {setting.key} / {setting.env_var}")
    assert set(documented) == {s.key for s in SETTINGS}, "README documents unknown settings"


NUMERIC = [s for s in SETTINGS if s.kind in (int, float)]


@pytest.mark.parametrize("setting", NUMERIC, ids=lambda s: s.key)
def test_every_number_setting_refuses_absurd_values(setting: Setting) -> None:
    # 1e308 seconds passed "greater than 0", then every worker's sleep overflowed.
    absurd = ["9" * 30, "-1"] if setting.kind is int else ["inf", "nan", "-inf", "1e308"]
    for text in absurd:
        with pytest.raises(ConfigError) as caught:
            load_config(env={setting.env_var: text})
        assert caught.value.key == setting.key, text
    assert load_config(env={setting.env_var: str(setting.default)})[setting.key] \
        == setting.default


@pytest.mark.parametrize("env, message", [
    ({"CC_OUTBOX_POLL_SECONDS": "inf"}, "finite"),
    ({"CC_OUTBOX_POLL_SECONDS": "0"}, "between 0.01 and 3600"),
    ({"CC_CHAT_SESSION_HOURS": "1e9"}, "between 0.01 and 8760"),
    ({"CC_WEB_MAX_BODY_BYTES": "2000000000"}, "between 1 and 1073741824"),
])
def test_number_errors_say_what_is_allowed(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(env=env)


@pytest.mark.parametrize("old, new, key", [
    ("poll_seconds = 1.0", "poll_seconds = inf", "outbox.poll_seconds"),
    ("poll_seconds = 1.0", "poll_seconds = nan", "outbox.poll_seconds"),
    ("urgent = { first_response = 1,", "urgent = { first_response = inf,",
     "time_limits.urgent.first_response"),
    ("urgent = { first_response = 1,", "urgent = { first_response = nan,",
     "time_limits.urgent.first_response"),
    ("urgent = { first_response = 1,", "urgent = { first_response = 1e9,",
     "time_limits.urgent.first_response"),
    ("capacity = { phone = 1,", "capacity = { phone = 1000000000,", "assignment.capacity.phone"),
])
def test_config_file_numbers_must_be_finite_and_sensible(tmp_path: Path, old: str, new: str,
                                                         key: str) -> None:
    assert old in CONFIG_TEXT
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, CONFIG_TEXT.replace(old, new, 1)), env={})
    assert caught.value.key == key


@pytest.mark.parametrize("old, new, key, suggestion", [
    ("port = 8080", "prot = 9090", "web.prot", "web.port"),
    ("[web]", "[webb]", "webb", "web"),
    ("[outbox]\nmax_attempts", "[outbox]\nmax_atempts", "outbox.max_atempts",
     "outbox.max_attempts"),
    ('holidays_country = "GB"', 'holiday_country = "GB"', "calendar.holiday_country",
     "calendar.holidays_country"),
    ("urgent = { first_response = 1,", "urgent = { first_respons = 1,",
     "time_limits.urgent.first_respons", "time_limits.urgent.first_response"),
    ('code = "pothole"', 'code = "pothole"\n  keywrods = {}',
     "departments.roads.services.pothole.keywrods",
     "departments.roads.services.pothole.keywords"),
    ('username = "alice"', 'username = "alice"\npasword = "x"', "demo.users.alice.pasword",
     "demo.users.alice.password"),
])
def test_unknown_config_file_keys_stop_start_up(tmp_path: Path, old: str, new: str, key: str,
                                                suggestion: str) -> None:
    assert old in CONFIG_TEXT
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, CONFIG_TEXT.replace(old, new, 1)), env={})
    assert caught.value.key == key
    assert f"did you mean {suggestion}?" in caught.value.message


def test_the_shipped_config_uses_only_known_keys() -> None:
    assert load_config(env={})["web.port"] == 8080


def test_unknown_cc_variables_are_ignored_with_a_warning(caplog: pytest.LogCaptureFixture
                                                         ) -> None:
    with caplog.at_level(logging.WARNING, logger="settings"):
        config = load_config(env={"CC_WEB_PROT": "9090", "CC_TEST_POSTGRES_URL": "x",
                                  "CC_RELAY_PASSWORD_FILE_X": "y", "CC": "gcc"})
    assert config["web.port"] == 8080
    warned = [r.getMessage() for r in caplog.records]
    assert any("CC_WEB_PROT" in m and "did you mean CC_WEB_PORT?" in m for m in warned)
    assert not any("CC_TEST_POSTGRES_URL" in m for m in warned)
    assert not any(m.startswith("CC ") for m in warned)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="settings"):
        load_config(env={"CC_WEB_PORT": "9090", "CC_RELAY_PASSWORD_FILE": "/dev/null"})
    assert caplog.records == []
