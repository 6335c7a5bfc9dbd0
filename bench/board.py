"""Benchmark: board pages at scale, on SQLite and on PostgreSQL.

Not a test (DESIGN.md §7). It generates a large administration (default 1,000,000 cases with
3 messages each), signs in through the real /login form of the Flask test client, and prints
p50/p95 of: a department queue page, the same queue filtered, searches (a rare word, a
common pair of words, a Chinese pair of characters, a reference), my cases, all queues for a
supervisor, and the case page (/board/case/<ref>) when that route exists. The baseline,
measured in the same run through the same client, is GET /healthz.

    python bench/board.py [--cases 1000000] [--engines sqlite,postgresql] [--requests 100]
                          [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                          [--pg-cases N] [--keep DIR] [--seed 2026]

The data is synthetic but shaped like a contact centre's history: cases over three years,
98 % resolved or closed, 2 % open across twelve departments, Zipf-distributed vocabulary
(so some words are in a few cases and some in a quarter of them), one message in ten in
Chinese. Generation uses bulk inserts (SQLite executemany in one transaction, PostgreSQL
COPY) and then ANALYZE; it takes minutes at full size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa

# The project root, not bench/, first: bench/twilio.py must not shadow the twilio package.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from app import create_app  # noqa: E402
from caseboard import auth  # noqa: E402
from caseboard.case_search import terms  # noqa: E402
from caseboard.services import build_services, prepare_database  # noqa: E402
from settings import load_config  # noqa: E402

PASSWORD = "bench-password-long"
OPEN = ("new", "dispatched", "accepted", "in_progress", "waiting_citizen", "answered")
CHANNELS = ("email", "phone", "sms", "webchat", "letter", "web", "walk_in")
CHUNK = 20_000
START = dt.datetime(2024, 1, 1)
SPAN_SECONDS = 3 * 365 * 86400


BASE_WORDS = ("bin collection pothole street light housing repair rent council tax parking "
              "permit noise complaint water leak flood mould damp heating boiler licence "
              "benefit school road pavement tree park dog fouling graffiti fly tipping "
              "registration birth marriage planning application library recycling")


def vocabulary(rng: random.Random) -> list[str]:
    """5,000 made-up English-looking words; rank decides frequency (Zipf)."""
    base = BASE_WORDS.split(" ")
    syllables = ["ka", "lo", "mi", "ren", "tor", "ash", "el", "vin", "gra", "po", "sul", "de"]
    words = list(base)
    while len(words) < 5000:
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if word not in words:
            words.append(word)
    return words


CHINESE = ("路灯坏了垃圾没有收停车罚单噪音投诉漏水房屋维修租金学校"
           "道路公园树木狗粪便涂鸦申请登记出生婚姻规划图书馆回收暖气")


class Texts:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words = vocabulary(rng)
        weights = [1 / (rank + 1) for rank in range(len(self.words))]
        self.cumulative = list(_accumulate(weights))

    def sentence(self, count: int) -> str:
        if self.rng.random() < 0.1:
            return "".join(self.rng.choice(CHINESE) for _ in range(count * 2))
        chosen = self.rng.choices(self.words, cum_weights=self.cumulative, k=count)
        return " ".join(chosen).capitalize() + "."


def _accumulate(values: list[float]) -> Iterator[float]:
    total = 0.0
    for value in values:
        total += value
        yield total


# ---------------------------------------------------------------- generation


def generate(url: str, cases: int, seed: int, departments: list[str],
             alice_id: int) -> dict[str, Any]:
    """Bulk-load citizens, cases, messages and search terms; returns sample values."""
    rng = random.Random(seed)
    texts = Texts(rng)
    engine = sa.create_engine(url)
    started = time.perf_counter()
    citizens = max(1, cases // 3)
    with engine.begin() as connection:
        loader = Loader(connection)
        loader.rows("citizen", ("id", "name", "address", "postcode", "preferred_language",
                                "preferred_channel", "created_at"),
                    [(i, f"Citizen {i}", "", "", "en", "email", START) for i in
                     range(1, citizens + 1)])
        loader.rows("citizen_identity", ("id", "citizen_id", "kind", "value", "created_at"),
                    [(i, i, "email", f"citizen{i}@mail.example", START) for i in
                     range(1, citizens + 1)])
        sample: dict[str, Any] = {"references": []}
        for block in _blocks(rng, texts, cases, citizens, departments, alice_id, sample):
            loader.rows("cases", CASE_COLUMNS, block[0])
            loader.rows("message", MESSAGE_COLUMNS, block[1])
            loader.rows("case_term", ("term", "case_id"), block[2])
        loader.report()
        if connection.dialect.name == "postgresql":
            for table in ("citizen", "citizen_identity", "cases", "message"):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT max(id) FROM {table}))")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE" if engine.dialect.name == "sqlite"
                                   else "VACUUM ANALYZE")
    engine.dispose()
    sample["seconds"] = time.perf_counter() - started
    sample["words"] = texts.words
    return sample


CASE_COLUMNS = ("id", "reference", "citizen_id", "department_id", "service_code", "status",
                "priority", "channel", "subject", "language", "routing_confidence",
                "routing_reasons", "assigned_user_id", "parent_case_id", "return_count",
                "created_at", "updated_at", "first_response_due", "resolution_due",
                "first_response_at", "resolved_at", "closed_at", "paused_since")
MESSAGE_COLUMNS = ("id", "case_id", "direction", "channel", "external_id", "thread_id",
                   "sender", "subject", "text", "language", "delivery_status",
                   "delivery_error", "author_user_id", "article_slug", "article_version",
                   "details", "created_at")


Block = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]


def _blocks(rng: random.Random, texts: Texts, cases: int, citizens: int,
            departments: list[str], alice_id: int, sample: dict[str, Any]) -> Iterator[Block]:
    """Cases with their messages and search terms, CHUNK cases at a time."""
    now = START + dt.timedelta(seconds=SPAN_SECONDS)
    block: Block = ([], [], [])
    message_id = 0
    for case_id in range(1, cases + 1):
        created = START + dt.timedelta(seconds=SPAN_SECONDS * case_id / cases)
        is_open = rng.random() < 0.02 or case_id > cases - 200
        status = rng.choice(OPEN) if is_open else rng.choice(("resolved", "closed"))
        department = "housing" if is_open and rng.random() < 0.15 else rng.choice(departments)
        channel = rng.choice(CHANNELS)
        subject = texts.sentence(4)
        language = "zh" if re.search(r"[\u4e00-\u9fff]", subject) else "en"
        reference = f"CC-{created.year}-{case_id:07d}"
        answered = None if is_open and rng.random() < 0.7 else created + dt.timedelta(hours=2)
        assigned = (alice_id if is_open and department == "housing"
                    and len(sample["references"]) < 30 else None)
        if assigned is not None:
            sample["references"].append(reference)
        elif not is_open and department == "housing" and "old" not in sample:
            sample["old"] = reference  # a finished case from the first days
        done = None if is_open else created + dt.timedelta(days=3)
        block[0].append((
            case_id, reference, 1 + case_id % citizens, department, None, status,
            rng.choice(("low", "normal", "normal", "high", "urgent")), channel, subject,
            language, 0.8, "[]", assigned, None, 0, created, now if is_open else done,
            created + dt.timedelta(hours=rng.choice((4, 24, 72))),
            created + dt.timedelta(days=10), answered, done,
            done if status == "closed" else None, None))
        found: set[str] = set(terms(subject))
        for number in range(3):
            message_id += 1
            body = texts.sentence(rng.randint(6, 14))
            direction = "out" if number == 1 else "in"  # agents' replies are not indexed
            if direction == "in":
                found.update(terms(body))
            block[1].append((message_id, case_id, direction, channel, f"bench-{message_id}",
                             None, "citizen", subject if number == 0 else "", body, language,
                             "received", "", None, None, None, "{}",
                             created + dt.timedelta(hours=number)))
        block[2].extend((term, case_id) for term in found)
        if len(block[0]) >= CHUNK:
            yield block
            block = ([], [], [])
    if block[0]:
        yield block


class Loader:
    """Bulk inserts: executemany on SQLite, COPY on PostgreSQL, in chunks."""

    def __init__(self, connection: sa.Connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name
        self.raw = cast(Any, connection.connection.driver_connection)
        self.totals: dict[str, tuple[int, float]] = {}
        if self.dialect == "sqlite":
            self.raw.execute("PRAGMA synchronous=OFF")
            self.raw.execute("PRAGMA cache_size=-1000000")

    def rows(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        started = time.perf_counter()
        for first in range(0, len(rows), CHUNK):
            self._write(table, columns, rows[first:first + CHUNK])
        count, seconds = self.totals.get(table, (0, 0.0))
        self.totals[table] = (count + len(rows), seconds + time.perf_counter() - started)

    def report(self) -> None:
        for table, (count, seconds) in self.totals.items():
            print(f"  {table}: {count:,} rows, {seconds:.0f} s writing", flush=True)

    def _write(self, table: str, columns: tuple[str, ...], chunk: list[tuple[Any, ...]]) -> None:
        names = ", ".join(columns)
        if self.dialect == "sqlite":
            marks = ", ".join("?" for _ in columns)
            self.raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})",
                                 [tuple(_sqlite(v) for v in row) for row in chunk])
            return
        with self.raw.cursor() as cursor, cursor.copy(
                f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in chunk:
                copy.write_row(row)


def _sqlite(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(" ", "microseconds")
    return value


# ---------------------------------------------------------------- measuring


def measure(get: Callable[[], Any], requests: int) -> tuple[float, float]:
    for _ in range(3):
        get()
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = get()
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, answer.status_code
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def _getter(client: Any, path: str) -> Callable[[], Any]:
    return lambda: client.get(path)


def signed_in(app: Any, username: str) -> Any:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    answer = client.post("/login", data={"csrf_token": token.group(1), "username": username,
                                         "password": PASSWORD})
    assert answer.status_code == 303, answer.status_code
    return client


def run_engine(name: str, url: str, cases: int, seed: int, requests: int,
               data_dir: Path) -> list[tuple[str, float, float]]:
    config = load_config(env={"CC_DATA_DIR": str(data_dir), "CC_DATABASE_URL": url,
                              "CC_DEMO": "0", "CC_ROUTING_RETRAIN_MINUTES": "0"})
    services = build_services(config)
    prepare_database(services)
    with services.database.write() as session:
        alice = auth.create_user(session, "alice", "agent", PASSWORD,
                                 departments=("housing", "triage"))
        auth.create_user(session, "bob", "supervisor", PASSWORD)
        alice_id = alice.id
    assert alice_id is not None
    departments = [d.id for d in config.departments]
    app = create_app(config, services)  # before generating: a broken app fails in seconds
    print(f"{name}: generating {cases:,} cases, {3 * cases:,} messages", flush=True)
    sample = generate(url, cases, seed, departments, alice_id)
    print(f"{name}: generated in {sample['seconds']:.0f} s", flush=True)
    alice_client, bob_client = signed_in(app, "alice"), signed_in(app, "bob")
    words = sample["words"]
    reference = sample["references"][-1]
    pages: list[tuple[str, Any, str]] = [
        ("baseline GET /healthz", alice_client, "/healthz"),
        ("queue housing", alice_client, "/board/queue?department=housing"),
        ("queue housing, channel=email", alice_client,
         "/board/queue?department=housing&channel=email"),
        ("queue housing, status=closed", alice_client,
         "/board/queue?department=housing&status=closed"),
        ("my cases", alice_client, "/board"),
        ("all queues (supervisor)", bob_client, "/board/all"),
        (f"search rare word ({words[4000]})", alice_client,
         f"/board/queue?department=housing&q={words[4000]}"),
        (f"search common pair ({words[0]} {words[1]})", alice_client,
         f"/board/queue?department=housing&q={words[0]}+{words[1]}"),
        (f"search all queues ({words[40]})", bob_client, f"/board/all?q={words[40]}"),
        # The worst case: a common word whose matches the filter all rejects.
        (f"search common word, filter matching none ({words[0]}, zh)", alice_client,
         f"/board/queue?department=housing&language=zh&q={words[0]}"),
        ("search Chinese (路灯)", alice_client, "/board/queue?department=housing&q=路灯"),
        ("search reference", alice_client, f"/board/queue?department=housing&q={reference}"),
    ]
    if any(rule.rule.startswith("/board/case/") for rule in app.url_map.iter_rules()):
        pages.append((f"case page {reference} (open, hers)", alice_client,
                      f"/board/case/{reference}"))
        pages.append((f"case page {sample['old']} (closed)", alice_client,
                      f"/board/case/{sample['old']}"))
    else:
        print(f"{name}: no /board/case/<reference> route yet: case page not measured")
    results = []
    for label, client, path in pages:
        p50, p95 = measure(_getter(client, path), requests)
        results.append((label, p50, p95))
        print(f"  {label:45} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms", flush=True)
    services.database.dispose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--pg-cases", type=int, default=0,
                        help="cases on PostgreSQL (default: --cases)")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", help="keep the SQLite file in this folder")
    args = parser.parse_args()
    summary: dict[str, list[tuple[str, float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="board-bench-") as temporary:
        folder = Path(args.keep or temporary)
        folder.mkdir(parents=True, exist_ok=True)
        for engine in args.engines.split(","):
            if engine == "sqlite":
                path = folder / f"board-{uuid.uuid4().hex[:8]}.db"
                summary[f"SQLite, {args.cases:,} cases"] = run_engine(
                    "SQLite", f"sqlite:///{path}", args.cases, args.seed, args.requests,
                    folder / "data-sqlite")
            elif engine == "postgresql":
                cases = args.pg_cases or args.cases
                with _pg_database(args.pg_url) as url:
                    summary[f"PostgreSQL, {cases:,} cases"] = run_engine(
                        "PostgreSQL", url, cases, args.seed, args.requests,
                        folder / "data-pg")
    _report(summary)
    return 0


class _pg_database:  # noqa: N801  (used as a context manager like a function)
    def __init__(self, admin_url: str) -> None:
        self.admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.name = f"cc_board_bench_{uuid.uuid4().hex[:8]}"

    def __enter__(self) -> str:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{self.name}"')
        return self.admin.url.set(database=self.name).render_as_string(hide_password=False)

    def __exit__(self, *_exc: object) -> None:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.admin.dispose()


def _report(summary: dict[str, list[tuple[str, float, float]]]) -> None:
    print()
    for engine, results in summary.items():
        baseline = results[0][1]
        print(f"{engine}: goal p95 <= 150 ms per page; baseline /healthz p50 {baseline:.2f} ms")
        for label, p50, p95 in results[1:]:
            verdict = "reached" if p95 <= 150 else "NOT reached"
            print(f"  {label:45} p50 {p50:7.1f} ms ({p50 / baseline:5.0f}x baseline)"
                  f"  p95 {p95:7.1f} ms  {verdict}")
    print(json.dumps({engine: {label: {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1)}
                               for label, p50, p95 in results}
                      for engine, results in summary.items()}, ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
