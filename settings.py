"""Configuration in layers: built-in defaults → config.toml (or CC_CONFIG) → CC_ variables.

Every scalar setting is declared once in SETTINGS; the README documents each (a test checks).
Structured parts (departments, calendar, time limits, priority words, demo users) come only
from the TOML file. A wrong value raises ConfigError naming the key; the CLI turns that into
one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import difflib
import logging
import math
import os
import re
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent / "config.toml"

CHANNELS = ("phone", "sms", "whatsapp", "email", "webchat", "letter", "web", "walk_in", "api")
PRIORITIES = ("urgent", "high", "normal", "low")
ROLES = ("agent", "supervisor", "admin")
# Tokens may also carry "intake": a system that may only submit contacts (a kiosk, a web form).
TOKEN_ROLES = (*ROLES, "intake")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
GIB = 1 << 30
# Working hours a time limit may allow at most (about five working years).
MAX_LIMIT_HOURS = 10000
MAX_CAPACITY = 1000

log = logging.getLogger(__name__)


class ConfigError(Exception):
    """A configuration value is wrong; `key` names it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def _port(value: int) -> str | None:
    return None if 1 <= value <= 65535 else "must be a port number between 1 and 65535"


MAX_SMTP_PROCESSES = 256


def _between(low: float, high: float) -> Callable[[Any], str | None]:
    """A check for a number from low to high: a huge value (1e308 seconds, 10**30 bytes) would
    pass "positive" yet break whatever does arithmetic with it (a worker's sleep overflows)."""
    def check(value: float) -> str | None:
        return None if low <= value <= high else f"must be between {low!r} and {high!r}"
    return check


def _fraction(value: float) -> str | None:
    return None if 0 <= value <= 1 else "must be between 0 and 1"


def _timezone(value: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {value!r}"
    return None


def _database_url(value: str) -> str | None:
    if value == "" or value.startswith(("sqlite://", "postgresql")):
        return None
    return "must be a sqlite:/// or postgresql+psycopg:// URL"


def int_argument(low: int, high: int) -> Callable[[str], int]:
    """An argparse type for a command-line number, checked like a setting: argparse turns a
    wrong one into a usage message and exit status 2."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {value}")
        return value
    return parse


@dataclass(frozen=True)
class Setting:
    key: str
    kind: type
    default: Any
    help: str
    check: Callable[[Any], str | None] | None = None
    secret: bool = False
    env: str | None = None

    @property
    def env_var(self) -> str:
        return self.env or "CC_" + self.key.replace(".", "_").upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("administration.name", str, "City of Example", "Name shown to citizens and staff"),
    Setting("administration.timezone", str, "Europe/London",
            "IANA time zone for opening hours and time limits", _timezone),
    Setting("administration.country", str, "GB",
            "Default region for phone numbers written without a country code"),
    Setting("administration.reference_prefix", str, "CC", "Prefix of case references"),
    Setting("database.url", str, "",
            "SQLAlchemy URL; empty means SQLite in the data folder", _database_url),
    Setting("database.sqlite_synchronous", str, "full",
            "SQLite durability: full survives power loss, normal only process crashes",
            lambda v: None if v in ("full", "normal") else "must be full or normal"),
    Setting("data.dir", str, "./data", "Folder for the SQLite database and stored files"),
    Setting("data.inline_max_bytes", int, 131072,
            "Attachments taken by intake up to this size are kept in the database, not as "
            "files (0: always files)", _between(0, GIB)),
    Setting("web.host", str, "127.0.0.1", "Address the web server listens on"),
    Setting("web.port", int, 8080, "Port of the web server", _port),
    Setting("web.secret_key", str, "",
            "Secret for session cookies (if empty: made once and kept in the data folder)",
            secret=True),
    Setting("web.secure_cookies", bool, False,
            "Send the session cookie over HTTPS only (set it behind a TLS proxy)"),
    Setting("web.max_body_bytes", int, 1048576, "Largest accepted HTTP request body",
            _between(1, GIB)),
    Setting("smtp.host", str, "127.0.0.1", "Address the SMTP server listens on"),
    Setting("smtp.port", int, 2525, "Port of the SMTP server", _port),
    Setting("smtp.domain", str, "city.example",
            "Mail domain: contact@ it and <department id>@ it are accepted"),
    Setting("smtp.mailbox", str, "contact", "Local part of the main address"),
    Setting("smtp.max_message_bytes", int, 26214400, "Largest accepted mail (552 beyond it)",
            _between(1, GIB)),
    Setting("smtp.max_recipients", int, 50, "Recipients accepted per mail (452 beyond it)",
            _between(1, 10000)),
    Setting("smtp.max_attachments", int, 20, "Attachments kept per mail (more are noted)",
            _between(1, 10000)),
    Setting("smtp.tls_cert", str, "", "PEM certificate for STARTTLS (empty: no STARTTLS)"),
    Setting("smtp.tls_key", str, "", "PEM private key for STARTTLS"),
    Setting("smtp.ack_limit_per_hour", int, 5,
            "Acknowledgements sent to one address per hour at most", _between(1, 10_000_000)),
    Setting("smtp.processes", int, 1,
            "SMTP intake processes sharing the port (SO_REUSEPORT)",
            _between(1, MAX_SMTP_PROCESSES)),
    Setting("relay.host", str, "",
            "SMTP relay for outgoing mail; empty writes .eml files to data/outbox-mail"),
    Setting("relay.port", int, 587, "Port of the SMTP relay", _port),
    Setting("relay.starttls", bool, True, "Use STARTTLS with the relay"),
    Setting("relay.username", str, "", "Relay login (empty: no login)"),
    Setting("relay.password", str, "", "Relay password", secret=True),
    Setting("relay.from_address", str, "",
            "From address of outgoing mail (empty: smtp.mailbox@smtp.domain)"),
    Setting("twilio.account_sid", str, "", "Twilio account SID"),
    Setting("twilio.auth_token", str, "", "Twilio auth token (checks webhook signatures)",
            secret=True),
    Setting("phone.public_url", str, "",
            "Public base URL Twilio calls (https://…, behind a TLS proxy); empty: the request's",
            env="CC_TWILIO_PUBLIC_URL"),
    Setting("phone.api_base_url", str, "",
            "Base URL of the Twilio REST API (empty: https://api.twilio.com)"),
    Setting("phone.from_number", str, "", "Number outbound SMS are sent from (E.164)"),
    Setting("phone.whatsapp_from", str, "", "WhatsApp sender (whatsapp:+…); empty: no WhatsApp"),
    Setting("phone.wait_limit_seconds", int, 300,
            "Longest wait in a queue before the caller is offered voicemail or a call back",
            _between(1, 86400)),
    Setting("phone.voice_en", str, "en-GB", "Language of English speech and recognition"),
    Setting("phone.voice_zh", str, "cmn-CN", "Language of Mandarin speech and recognition"),
    Setting("phone.kb_min_score", float, 0.6,
            "Knowledge-base score from which the phone menu reads an answer out", _fraction),
    Setting("phone.api_key_sid", str, "", "Twilio API key for Voice SDK access tokens"),
    Setting("phone.api_key_secret", str, "", "Secret of that API key", secret=True),
    Setting("phone.twiml_app_sid", str, "",
            "TwiML app the agents' browsers call through (Voice SDK)"),
    Setting("letters.inbox_dir", str, "",
            "Folder the mailroom scanner drops letters into (empty: <data dir>/letters/inbox)"),
    Setting("letters.quarantine_dir", str, "",
            "Folder for files that cannot be read, each with a .reason.txt "
            "(empty: <data dir>/letters/quarantine)"),
    Setting("letters.workers", int, 2, "OCR workers serve starts (each loads the model once)",
            _between(1, 64)),
    Setting("letters.ocr_engine", str, "rapidocr", "OCR engine: rapidocr or tesseract",
            lambda v: None if v in ("rapidocr", "tesseract") else "must be rapidocr or tesseract"),
    Setting("letters.max_file_bytes", int, 10485760, "Largest scan accepted", _between(1, GIB)),
    Setting("letters.max_pages", int, 20, "Most pages read from one letter", _between(1, 10000)),
    Setting("letters.check_confidence", float, 0.85,
            "A page whose mean line confidence is below this is flagged 'check the text'",
            _fraction),
    Setting("letters.poll_seconds", float, 2.0, "How often the inbox folder is looked at",
            _between(0.01, 3600)),
    Setting("letters.return_address", str, "Town Hall, 1 High Street, Example EX1 1AA",
            "The administration's postal address on reply letters (comma-separated lines)"),
    Setting("letters.phone", str, "0300 123 4567", "Phone number printed on reply letters"),
    Setting("letters.email", str, "contact@city.example", "Email address printed on letters"),
    Setting("letters.cjk_font", str, "",
            "TrueType font for Chinese letters (empty: look for a Noto CJK or WenQuanYi font)"),
    Setting("intake.max_text_chars", int, 100000, "Longest accepted contact text",
            _between(1, 10_000_000)),
    Setting("intake.max_attachment_bytes", int, 10485760, "Largest accepted attachment",
            _between(1, GIB)),
    Setting("chat.allowed_origins", str, "",
            "Sites (comma-separated origins, e.g. https://www.city.example) whose pages may "
            "embed the chat widget; other cross-origin requests are refused"),
    Setting("chat.max_message_chars", int, 2000, "Longest chat message accepted",
            _between(1, 1_000_000)),
    Setting("chat.messages_per_minute", int, 20, "Chat messages accepted per session a minute",
            _between(1, 1_000_000)),
    Setting("chat.messages_per_minute_per_address", int, 120,
            "Chat messages accepted per IP address a minute (all its sessions)",
            _between(1, 1_000_000)),
    Setting("chat.session_hours", float, 12.0,
            "How long a chat session token stays valid after the chat starts",
            _between(0.01, 8760)),
    Setting("chat.poll_seconds", float, 1.0,
            "How often each web process looks for chat lines and typing from other processes",
            _between(0.01, 3600)),
    Setting("georeport.require_api_key", bool, True,
            "Open311 POST requests need an api_key (an API token); false: anyone may report"),
    Setting("georeport.private_services", str,
            "child-protection,elderly-care,disability-support,carers,homelessness,benefits",
            "Service codes whose Open311 requests are listed with their status only"),
    Setting("routing.min_confidence", float, 0.45,
            "Below this confidence a new case goes to triage", _fraction),
    Setting("routing.triage_department", str, "triage",
            "Department that receives cases the router is unsure of"),
    Setting("routing.retrain_minutes", int, 60,
            "How often serve retrains the router when new labelled cases exist (0: never)",
            _between(0, 525600)),
    Setting("outbox.max_attempts", int, 8, "Send attempts before an outbox item fails",
            _between(1, 1000)),
    Setting("outbox.poll_seconds", float, 1.0, "How often idle workers look for work",
            _between(0.01, 3600)),
    Setting("time_limits.at_risk_fraction", float, 0.8,
            "Share of a time limit after which a case is at risk", _fraction),
    Setting("supervisor.public_url", str, "http://127.0.0.1:8080",
            "Address citizens reach the site at, for satisfaction survey links"),
    Setting("supervisor.low_score", int, 2,
            "A satisfaction score at or below this reopens the case for a supervisor",
            lambda v: None if 1 <= v <= 5 else "must be between 1 and 5"),
    Setting("demo.enabled", bool, True,
            "Seed the demo administration (users, cases) on first start", env="CC_DEMO"),
)
SETTINGS_BY_KEY = {s.key: s for s in SETTINGS}


@dataclass(frozen=True)
class ServiceConfig:
    code: str
    department: str
    name: dict[str, str]
    keywords: dict[str, tuple[str, ...]]
    negative: tuple[str, ...] = ()
    priority: str = "normal"
    time_limits: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class DepartmentConfig:
    id: str
    name: dict[str, str]
    services: tuple[ServiceConfig, ...]
    assignment: str = "pull"  # "push": the system assigns agents; "pull": agents claim


@dataclass(frozen=True)
class CalendarConfig:
    opening_hours: dict[str, tuple[tuple[dt.time, dt.time], ...]]  # weekday → intervals
    holidays_country: str
    holidays_subdivision: str
    extra_holidays: tuple[dt.date, ...]


@dataclass(frozen=True)
class DistrictRule:
    """[[routing.district_rules]]: contacts from a postcode area go to a district office."""

    postcode_prefixes: tuple[str, ...]  # upper case, without spaces
    department: str | None = None  # the department (district office) that takes them
    service: str | None = None  # the service they become (must be in `department`)
    only_services: tuple[str, ...] = ()  # apply only to these services (empty: to all)
    office: str = ""  # a name for the reasons ("North district office")


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: str
    departments: tuple[str, ...]
    languages: tuple[str, ...]
    password: str


@dataclass(frozen=True)
class Config:
    values: Mapping[str, Any]
    departments: tuple[DepartmentConfig, ...]
    calendar: CalendarConfig
    time_limits: dict[str, dict[str, float]]  # priority → {"first_response": h, "resolution": h}
    priority_words: dict[str, dict[str, tuple[str, ...]]]  # priority → language → words
    demo_users: tuple[DemoUser, ...]
    source: str
    # Open cases an agent may hold per kind of work (phone, chat, email, letter).
    assignment_capacity: dict[str, int] = field(default_factory=dict)
    district_rules: tuple[DistrictRule, ...] = ()  # [[routing.district_rules]]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def data_dir(self) -> Path:
        return Path(self.values["data.dir"]).expanduser().resolve()

    @property
    def database_url(self) -> str:
        url: str = self.values["database.url"]
        return url or f"sqlite:///{self.data_dir / 'contactcentre.db'}"

    @property
    def timezone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.values["administration.timezone"])

    def department(self, department_id: str) -> DepartmentConfig | None:
        return next((d for d in self.departments if d.id == department_id), None)

    def service(self, code: str) -> ServiceConfig | None:
        return next((s for d in self.departments for s in d.services if s.code == code), None)

    def with_values(self, **changes: Any) -> Config:
        """A copy with some scalar settings changed (keys use __ for dots: web__port)."""
        values = dict(self.values)
        for name, value in changes.items():
            values[name.replace("__", ".")] = value
        return dataclasses.replace(self, values=values)


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read defaults, then the TOML file, then CC_ variables; raise ConfigError if wrong."""
    env = os.environ if env is None else env
    path = Path(path or env.get("CC_CONFIG") or DEFAULT_CONFIG_PATH)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("CC_CONFIG", f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"malformed TOML: {exc}") from None
    _check_keys("", raw, _file_schema())
    _warn_unknown_variables(env)
    values = {s.key: _scalar(s, raw, env) for s in SETTINGS}
    departments = _departments(raw.get("departments", []))
    config = Config(
        values=values,
        departments=departments,
        calendar=_calendar(raw.get("calendar", {})),
        time_limits=_time_limits(raw.get("time_limits", {})),
        priority_words=_priority_words(raw.get("routing", {}).get("priority", {})),
        demo_users=_demo_users(raw.get("demo", {}).get("users", [])),
        source=str(path),
        district_rules=_district_rules(raw.get("routing", {}).get("district_rules", [])),
        assignment_capacity=_capacity(raw.get("assignment", {}).get("capacity", {})),
    )
    _check_references(config)
    return config


_ANY = None  # a value (or a table whose entries are checked where it is read)
_LIMITS = {"first_response": _ANY, "resolution": _ANY}


def _file_schema() -> dict[str, Any]:
    """Every key a config file may hold: a dict is a table, [dict] an array of tables."""
    schema: dict[str, Any] = {}
    for setting in SETTINGS:
        section, _, name = setting.key.partition(".")
        schema.setdefault(section, {})[name] = _ANY
    schema["calendar"] = dict.fromkeys(
        (*WEEKDAYS, "holidays_country", "holidays_subdivision", "extra_holidays"), _ANY)
    schema["time_limits"].update(dict.fromkeys(PRIORITIES, _LIMITS))
    schema["routing"].update(priority=_ANY, district_rules=[dict.fromkeys(
        ("postcode_prefix", "department", "service", "only_services", "office"), _ANY)])
    schema["demo"]["users"] = [dict.fromkeys(
        ("username", "display_name", "role", "departments", "languages", "password"), _ANY)]
    schema["assignment"] = {"capacity": _ANY}
    service = {**dict.fromkeys(("code", "name", "keywords", "negative", "priority"), _ANY),
               "time_limits": _LIMITS}
    schema["departments"] = [{**dict.fromkeys(("id", "name", "assignment"), _ANY),
                              "services": [service]}]
    return schema


def _check_keys(prefix: str, raw: Any, schema: Any) -> None:
    """A misspelt key (`prot = 9090`, `[webb]`) would otherwise be ignored without a word."""
    if isinstance(schema, list):
        for index, item in enumerate(raw if isinstance(raw, list) else ()):
            name = next((item[k] for k in ("id", "code", "username")
                         if isinstance(item, dict) and isinstance(item.get(k), str)), None)
            _check_keys(f"{prefix}.{name}" if name else f"{prefix}[{index}]", item, schema[0])
        return
    if not isinstance(schema, dict) or not isinstance(raw, dict):
        return  # a value, or a wrong type that is reported where the value is read
    for name, value in raw.items():
        key = f"{prefix}.{name}" if prefix else name
        if name not in schema:
            candidates = [f"{prefix}.{known}" if prefix else known for known in schema]
            if not prefix:  # a section name, or a setting written outside its section
                candidates += [s.key for s in SETTINGS]
            close = difflib.get_close_matches(key, candidates, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(key, f"unknown {'key' if prefix else 'section or key'}{hint}")
        _check_keys(key, value, schema[name])


def _warn_unknown_variables(env: Mapping[str, str]) -> None:
    """CC_ variables that name no setting are ignored, with a warning: a misspelt one would
    silently leave the default in force, yet other tools may set CC_ variables of their own,
    so this is not an error. CC_TEST_ variables belong to the test suite."""
    known = {s.env_var for s in SETTINGS} | {"CC_CONFIG"}
    known |= {s.env_var + "_FILE" for s in SETTINGS if s.secret}
    for name in sorted(env):
        if name.startswith("CC_") and name not in known and not name.startswith("CC_TEST_"):
            close = difflib.get_close_matches(name, sorted(known), n=1)
            log.warning("%s is not a setting and is ignored%s", name,
                        f" (did you mean {close[0]}?)" if close else "")


def _scalar(setting: Setting, raw: Mapping[str, Any], env: Mapping[str, str]) -> Any:
    section, _, name = setting.key.partition(".")
    value = raw.get(section, {}).get(name, setting.default)
    if setting.env_var in env:
        value = _parse_env(setting, env[setting.env_var])
    elif setting.secret and setting.env_var + "_FILE" in env:
        secret_path = Path(env[setting.env_var + "_FILE"])
        try:
            value = secret_path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(setting.env_var + "_FILE",
                              f"cannot read {secret_path}: {exc}") from None
    value = _coerce(setting, value)
    problem = setting.check(value) if setting.check else None
    if problem:
        raise ConfigError(setting.key, problem)
    return value


def _parse_env(setting: Setting, text: str) -> Any:
    if setting.kind is bool:
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(setting.env_var, f"expected 0/1/true/false, got {text!r}")
    return text


def _coerce(setting: Setting, value: Any) -> Any:
    if setting.kind is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(setting.key, f"expected true or false, got {value!r}")
    try:
        if setting.kind is int and not isinstance(value, bool):
            if isinstance(value, float):
                raise ValueError
            return int(value)
        if setting.kind is float and not isinstance(value, bool):
            number = float(value)
            if not math.isfinite(number):  # "inf" and "nan" parse, and TOML has them too
                raise ConfigError(setting.key, f"expected a finite number, got {value!r}")
            return number
        if setting.kind is str and isinstance(value, str):
            return value
    except ValueError:
        pass
    raise ConfigError(setting.key, f"expected {setting.kind.__name__}, got {value!r}")


_ID = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


def _names(key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or "en" not in value:
        raise ConfigError(key, "needs a table of names with at least 'en'")
    return {str(lang): str(text) for lang, text in value.items()}


def _word_lists(key: str, value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise ConfigError(key, "needs a table of language → list of words")
    result = {}
    for lang, words in value.items():
        if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
            raise ConfigError(f"{key}.{lang}", "needs a list of non-empty strings")
        result[str(lang)] = tuple(words)
    return result


def _departments(raw: Any) -> tuple[DepartmentConfig, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError("departments", "at least one [[departments]] table is required")
    departments: list[DepartmentConfig] = []
    seen_services: set[str] = set()
    for index, item in enumerate(raw):
        key = f"departments[{index}]"
        dep_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(dep_id, str) or not _ID.match(dep_id):
            raise ConfigError(f"{key}.id", f"invalid department id {dep_id!r}")
        key = f"departments.{dep_id}"
        if any(d.id == dep_id for d in departments):
            raise ConfigError(key, "department id is used twice")
        services = []
        for service in item.get("services", []):
            code = service.get("code")
            if not isinstance(code, str) or not _ID.match(code):
                raise ConfigError(f"{key}.services.code", f"invalid service code {code!r}")
            skey = f"{key}.services.{code}"
            if code in seen_services:
                raise ConfigError(skey, "service code is used twice")
            seen_services.add(code)
            priority = service.get("priority", "normal")
            if priority not in PRIORITIES:
                raise ConfigError(f"{skey}.priority", f"must be one of {', '.join(PRIORITIES)}")
            negative = service.get("negative", [])
            if not isinstance(negative, list):
                raise ConfigError(f"{skey}.negative", "needs a list of words")
            services.append(ServiceConfig(
                code=code, department=dep_id, name=_names(f"{skey}.name", service.get("name")),
                keywords=_word_lists(f"{skey}.keywords", service.get("keywords", {})),
                negative=tuple(str(w) for w in negative), priority=priority,
                time_limits=_limit_pair(f"{skey}.time_limits", service.get("time_limits", {}),
                                        required=False)))
        assignment = item.get("assignment", "pull")
        if assignment not in ("push", "pull"):
            raise ConfigError(f"{key}.assignment", "must be push or pull")
        departments.append(DepartmentConfig(dep_id, _names(f"{key}.name", item.get("name")),
                                            tuple(services), assignment))
    return tuple(departments)


def _hours(key: str, text: Any) -> tuple[tuple[dt.time, dt.time], ...]:
    if not isinstance(text, str):
        raise ConfigError(key, "needs a string such as '08:00-18:00' or ''")
    intervals = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = re.fullmatch(r"(\d\d):(\d\d)-(\d\d):(\d\d)", part)
        if not match:
            raise ConfigError(key, f"bad opening hours {part!r}, expected HH:MM-HH:MM")
        h1, m1, h2, m2 = map(int, match.groups())
        if h2 == 24 and m2 == 0:
            h2, m2 = 23, 59
        try:
            start, end = dt.time(h1, m1), dt.time(h2, m2)
        except ValueError:
            raise ConfigError(key, f"bad time in {part!r}") from None
        if end <= start:
            raise ConfigError(key, f"opening hours {part!r} end before they start")
        intervals.append((start, end))
    return tuple(sorted(intervals))


def _calendar(raw: Mapping[str, Any]) -> CalendarConfig:
    hours = {day: _hours(f"calendar.{day}", raw.get(day, "")) for day in WEEKDAYS}
    if not any(hours.values()):
        raise ConfigError("calendar", "the administration must be open on at least one day")
    extra = []
    for value in raw.get("extra_holidays", []):
        try:
            extra.append(value if isinstance(value, dt.date) else dt.date.fromisoformat(value))
        except (TypeError, ValueError):
            raise ConfigError("calendar.extra_holidays", f"bad date {value!r}") from None
    country = str(raw.get("holidays_country", ""))
    subdivision = str(raw.get("holidays_subdivision", ""))
    if country:
        import holidays

        try:
            holidays.country_holidays(country, subdiv=subdivision or None)
        except (NotImplementedError, KeyError):
            raise ConfigError("calendar.holidays_country",
                              f"unknown country or subdivision {country!r}/{subdivision!r}"
                              ) from None
    return CalendarConfig(hours, country, subdivision, tuple(extra))


def _limit_pair(key: str, raw: Any, required: bool = True) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise ConfigError(key, "needs {first_response = hours, resolution = hours}")
    result = {}
    for name in ("first_response", "resolution"):
        if name not in raw:
            if required:
                raise ConfigError(f"{key}.{name}", "is required")
            continue
        value = raw[name]
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not 0 < value <= MAX_LIMIT_HOURS:  # also refuses TOML's inf and nan
            raise ConfigError(f"{key}.{name}", "must be a positive number of working hours "
                                               f"up to {MAX_LIMIT_HOURS}")
        result[name] = float(value)
    return result


def _time_limits(raw: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    return {p: _limit_pair(f"time_limits.{p}", raw.get(p)) for p in PRIORITIES}


def _priority_words(raw: Mapping[str, Any]) -> dict[str, dict[str, tuple[str, ...]]]:
    unknown = set(raw) - set(PRIORITIES)
    if unknown:
        raise ConfigError(f"routing.priority.{sorted(unknown)[0]}", "is not a priority")
    return {p: _word_lists(f"routing.priority.{p}", raw[p]) for p in raw}


CAPACITY_GROUPS = ("phone", "chat", "email", "letter")


def _capacity(raw: Any) -> dict[str, int]:
    if not isinstance(raw, dict):
        raise ConfigError("assignment.capacity", "needs a table such as {phone = 1, chat = 3}")
    for group, value in raw.items():
        if group not in CAPACITY_GROUPS:
            raise ConfigError(f"assignment.capacity.{group}",
                              f"unknown kind of work (one of {', '.join(CAPACITY_GROUPS)})")
        if isinstance(value, bool) or not isinstance(value, int) \
                or not 0 <= value <= MAX_CAPACITY:
            raise ConfigError(f"assignment.capacity.{group}",
                              f"must be a whole number from 0 to {MAX_CAPACITY}")
    return dict(raw)


def _district_rules(raw: Any) -> tuple[DistrictRule, ...]:
    if not isinstance(raw, list):
        raise ConfigError("routing.district_rules", "needs [[routing.district_rules]] tables")
    rules = []
    for index, item in enumerate(raw):
        key = f"routing.district_rules[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(key, "needs a table")
        prefixes = item.get("postcode_prefix")
        prefixes = [prefixes] if isinstance(prefixes, str) else prefixes
        if not isinstance(prefixes, list) or not prefixes or not all(
                isinstance(p, str) and p.strip() for p in prefixes):
            raise ConfigError(f"{key}.postcode_prefix", "needs a postcode prefix or a list")
        only = item.get("only_services", [])
        if not isinstance(only, list) or not all(isinstance(c, str) for c in only):
            raise ConfigError(f"{key}.only_services", "needs a list of service codes")
        department, service = item.get("department"), item.get("service")
        if department is None and service is None:
            raise ConfigError(key, "needs a department or a service to send contacts to")
        rules.append(DistrictRule(
            tuple("".join(p.split()).upper() for p in prefixes),
            None if department is None else str(department),
            None if service is None else str(service), tuple(only), str(item.get("office", ""))))
    return tuple(rules)


def _demo_users(raw: Any) -> tuple[DemoUser, ...]:
    users = []
    for item in raw:
        name = item.get("username", "")
        key = f"demo.users.{name}"
        if item.get("role") not in ROLES:
            raise ConfigError(f"{key}.role", f"must be one of {', '.join(ROLES)}")
        users.append(DemoUser(name, item.get("display_name", name), item["role"],
                              tuple(item.get("departments", [])),
                              tuple(item.get("languages", ["en"])), item.get("password", "")))
    return tuple(users)


def _check_references(config: Config) -> None:
    ids = {d.id for d in config.departments}
    triage = config["routing.triage_department"]
    if triage not in ids:
        raise ConfigError("routing.triage_department", f"unknown department {triage!r}")
    services = {s.code: s.department for d in config.departments for s in d.services}
    for index, rule in enumerate(config.district_rules):
        key = f"routing.district_rules[{index}]"
        if rule.department is not None and rule.department not in ids:
            raise ConfigError(f"{key}.department", f"unknown department {rule.department!r}")
        for code in (rule.service, *rule.only_services):
            if code is not None and code not in services:
                raise ConfigError(f"{key}.service", f"unknown service {code!r}")
        if rule.service is not None and rule.department is not None \
                and services[rule.service] != rule.department:
            raise ConfigError(f"{key}.service",
                              f"service {rule.service!r} is not in {rule.department!r}")
    for user in config.demo_users:
        for dep in user.departments:
            if dep not in ids:
                raise ConfigError(f"demo.users.{user.username}.departments",
                                  f"unknown department {dep!r}")
