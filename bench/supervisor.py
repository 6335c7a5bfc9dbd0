"""Supervisor dashboard benchmark: render time at N cases and 200 agents, and CSV export rate.

    .venv/bin/python bench/supervisor.py [--cases 1000000] [--agents 200] [--requests 50]
                                          [--only sqlite|postgresql] [--keep DIR]

Bulk-generates citizens, cases (OPEN_SHARE of them open, spread over a year) and one message
per case straight into the tables (COPY on PostgreSQL, executemany on SQLite), counts the
open cases once into the counter tables (CounterFolder.rebuild), then times through the Flask
test client, signed in as a supervisor: GET /healthz (baseline), /supervisor (the full page)
and /supervisor/live (what the page polls), p50/p95 each. Then: the incremental fold rate for
new contacts taken through intake, and the CSV export of every case (rows/s).

--keep DIR keeps the generated data for the next run (generating a million cases takes
minutes): the SQLite database in DIR, the PostgreSQL one as cc_bench_sup_keep_<cases>, which
is not dropped (drop it by hand when done). A kept database is migrated and its counters
rebuilt at every run; each run adds its own 500 contacts for the fold rate.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

# The project root instead of bench/ (whose twilio.py bench would shadow the twilio package).
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from caseboard import auth  # noqa: E402
from caseboard.contacts import InboundContact, Sender  # noqa: E402
from caseboard.dashboard_counters import CounterFolder  # noqa: E402
from caseboard.models import User, UserDepartment  # noqa: E402
from caseboard.services import build_services, prepare_database  # noqa: E402
from settings import load_config  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
OPEN_SHARE = 0.03
CHANNELS = ("email", "phone", "sms", "webchat", "letter", "web", "walk_in")
OPEN_STATUSES = ("new", "dispatched", "accepted", "in_progress", "waiting_citizen", "answered")
NOW = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _citizens(n: int) -> Iterator[tuple[Any, ...]]:
    for i in range(1, n + 1):
        yield (i, f"Citizen {i}", "", "", "", "", NOW)


def _cases(n: int, citizens: int, departments: list[str], agents: list[int]
           ) -> Iterator[tuple[Any, ...]]:
    rnd = random.Random(7)
    for i in range(1, n + 1):
        is_open = rnd.random() < OPEN_SHARE
        # Closed cases spread over a year; the open backlog is the last month's.
        days = 30 if is_open else 365
        created = NOW - dt.timedelta(minutes=rnd.randrange(days * 24 * 60))
        first_due, due = created + dt.timedelta(hours=24), created + dt.timedelta(days=10)
        status = rnd.choice(OPEN_STATUSES) if is_open else "closed"
        assigned = rnd.choice(agents) if status in ("accepted", "in_progress") else None
        answered = None if is_open and status != "answered" else created + dt.timedelta(hours=3)
        done = None if is_open else created + dt.timedelta(days=rnd.choice((2, 5, 12)))
        yield (i, f"CC-2026-{i:07d}", rnd.randrange(1, citizens + 1), rnd.choice(departments),
               None, status, "normal", rnd.choice(CHANNELS), f"Request {i}", "en", 0.9, "[]",
               assigned, None, 0, created, created, first_due, due, answered, done, done, None)


def _messages(n: int) -> Iterator[tuple[Any, ...]]:
    rnd = random.Random(11)
    for i in range(1, n + 1):
        yield (i, i, "in", rnd.choice(CHANNELS), f"bench-{i}", None, "someone", f"Request {i}",
               "Text of the request", "en", "received", "", None, None, None, "{}", NOW)


CASE_COLUMNS = ("id, reference, citizen_id, department_id, service_code, status, priority, "
                "channel, subject, language, routing_confidence, routing_reasons, "
                "assigned_user_id, parent_case_id, return_count, created_at, updated_at, "
                "first_response_due, resolution_due, first_response_at, resolved_at, "
                "closed_at, paused_since")
MESSAGE_COLUMNS = ("id, case_id, direction, channel, external_id, thread_id, sender, subject, "
                   "text, language, delivery_status, delivery_error, author_user_id, "
                   "article_slug, article_version, details, created_at")
CITIZEN_COLUMNS = ("id, name, address, postcode, preferred_language, preferred_channel, "
                   "created_at")


def _load(engine: sa.Engine, table: str, columns: str, rows: Iterator[tuple[Any, ...]]) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT max(id) FROM {table}))")
        else:
            marks = ", ".join("?" for _ in columns.split(","))
            batch: list[tuple[Any, ...]] = []
            for row in rows:
                batch.append(tuple(v.isoformat(" ") if isinstance(v, dt.datetime) else v
                                   for v in row))
                if len(batch) == 50_000:
                    cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", batch)
                    batch.clear()
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", batch)
        raw.commit()
    finally:
        raw.close()


def _agents(services: Any, count: int, departments: list[str]) -> list[int]:
    """One supervisor signed in through the form; agents inserted directly (hashing 200
    argon2 passwords would take longer than the rest of a small run)."""
    with services.database.write() as session:
        auth.create_user(session, "boss", "supervisor", "bench-password-long")
    rnd = random.Random(3)
    now = dt.datetime.now(dt.UTC)
    with services.database.write() as session:
        rows: list[dict[str, Any]] = [{
                 "username": f"agent{i:03d}", "display_name": f"Agent {i}", "role": "agent",
                 "password_hash": "", "languages": ["en"], "skills": [], "capacity": {},
                 "presence": rnd.choice(("available", "busy", "away", "offline")),
                 "presence_since": now, "failed_logins": 0, "active": True,
                 "created_at": now} for i in range(count)]
        session.execute(sa.insert(User), rows)
        ids = list(session.execute(sa.text("SELECT id FROM users WHERE role = 'agent'"))
                   .scalars())
        session.execute(sa.insert(UserDepartment), [
            {"user_id": uid, "department_id": departments[n % len(departments)]}
            for n, uid in enumerate(ids)])
    return [int(i) for i in ids]


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"p50 {statistics.median(ordered) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms"


def _time(client: Any, path: str, requests: int) -> list[float]:
    client.get(path)  # warm
    samples = []
    for _ in range(requests):
        start = time.perf_counter()
        answer = client.get(path)
        samples.append(time.perf_counter() - start)
        assert answer.status_code == 200, (path, answer.status_code)
    return samples


def _generate(services: Any, cases: int, agents: int) -> None:
    departments = [d.id for d in services.config.departments]
    engine = services.database.engine
    started = time.perf_counter()
    agent_ids = _agents(services, agents, departments)
    citizens = max(1, cases // 5)
    _load(engine, "citizen", CITIZEN_COLUMNS, _citizens(citizens))
    _load(engine, "cases", CASE_COLUMNS, _cases(cases, citizens, departments, agent_ids))
    _load(engine, "message", MESSAGE_COLUMNS, _messages(cases))
    with engine.begin() as connection:
        connection.execute(sa.text("ANALYZE"))
    print(f"  generated {cases:,} cases, {cases:,} messages, {citizens:,} citizens, "
          f"{agents} agents in {time.perf_counter() - started:.0f} s")


def _has_cases(services: Any) -> int:
    with services.database.read() as session:
        return int(session.execute(sa.text("SELECT count(*) FROM cases")).scalar_one())


def run(url: str, data_dir: Path, cases: int, agents: int, requests: int) -> None:
    from app import create_app

    config = load_config(env={"CC_DATA_DIR": str(data_dir), "CC_DATABASE_URL": url,
                              "CC_DEMO": "0", "CC_DATABASE_SQLITE_SYNCHRONOUS": "normal"})
    services = build_services(config)
    prepare_database(services)
    engine = services.database.engine
    kept = _has_cases(services)
    if kept:
        print(f"  kept data: {kept:,} cases")
    else:
        _generate(services, cases, agents)
    started = time.perf_counter()
    folder = CounterFolder(services.database, services.calendar,
                           config["time_limits.at_risk_fraction"])
    folder.rebuild()
    if engine.dialect.name == "postgresql":  # what autovacuum does soon after: index-only scans
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE sup_open_case"))
    print(f"  counted the open cases into the counters once in "
          f"{time.perf_counter() - started:.1f} s")
    app = create_app(config, services)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    client.post("/login", data={"csrf_token": token.group(1), "username": "boss",
                                "password": "bench-password-long"})
    baseline = _time(client, "/healthz", requests)
    full = _time(client, "/supervisor", requests)
    live = _time(client, "/supervisor/live", requests)
    base50 = statistics.median(baseline)
    print(f"  /healthz (baseline)  {_percentiles(baseline)}")
    print(f"  /supervisor          {_percentiles(full)}   "
          f"x{statistics.median(full) / base50:.0f} baseline")
    print(f"  /supervisor/live     {_percentiles(live)}   "
          f"x{statistics.median(live) / base50:.0f} baseline")
    _fold_rate(services, folder)
    start = time.perf_counter()
    answer = client.get("/supervisor/reports/cases.csv?from=2025-01-01&to=2027-12-31")
    assert answer.status_code == 200, answer.status_code
    rows = answer.get_data(as_text=True).count("\n") - 1
    seconds = time.perf_counter() - start
    print(f"  CSV export: {rows:,} rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s")
    services.database.dispose()


def _fold_rate(services: Any, folder: CounterFolder, contacts: int = 500) -> None:
    run_id = uuid.uuid4().hex[:8]  # new contacts on a kept database too
    for i in range(contacts):
        services.intake.take(InboundContact(
            "email", f"bench-fold-{run_id}-{i}", Sender(email=f"fold{i}@mail.example"),
            text="The bins were not collected", explicit_department="waste"))
    start = time.perf_counter()
    folder.catch_up()
    seconds = time.perf_counter() - start
    print(f"  incremental fold: {contacts} new contacts' audit events in {seconds:.2f} s "
          f"({contacts / seconds:,.0f} contacts/s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep the generated data in DIR (and PostgreSQL) for next time")
    args = parser.parse_args()
    if args.only != "postgresql":
        with contextlib.ExitStack() as stack:
            folder = _folder(stack, args.keep)
            print(f"SQLite, {args.cases:,} cases")
            run(f"sqlite:///{folder}/cc.db", folder / "data", args.cases, args.agents,
                args.requests)
    if args.only != "sqlite":
        _postgresql(args)
    return 0


def _folder(stack: contextlib.ExitStack, keep: Path | None) -> Path:
    if keep is None:
        return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-sup-")))
    keep.mkdir(parents=True, exist_ok=True)
    return keep.resolve()


def _postgresql(args: argparse.Namespace) -> None:
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = (f"cc_bench_sup_keep_{args.cases}" if args.keep
            else f"cc_bench_sup_{uuid.uuid4().hex[:8]}")
    with admin.connect() as connection:
        exists = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                    {"n": name}).first()
        if not exists:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        with contextlib.ExitStack() as stack:
            folder = _folder(stack, args.keep and args.keep / "postgresql")
            print(f"PostgreSQL, {args.cases:,} cases" + (f" (kept as {name})" if args.keep
                                                          else ""))
            run(admin.url.set(database=name).render_as_string(hide_password=False),
                folder / "data", args.cases, args.agents, args.requests)
    finally:
        if not args.keep:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
