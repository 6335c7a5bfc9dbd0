"""Benchmark: contacts per second through the real intake, on SQLite and on PostgreSQL.

Not a test (DESIGN.md §7): it prints figures and a ratio to a baseline measured in the same
run on the same engine, a plain SQLAlchemy Core insert of as many message-shaped rows with one
transaction per row, as intake uses one transaction per contact.

    python bench/intake.py [--n 5000] [--runs 3] [--engines sqlite,postgresql]
                           [--threads 1,8]
                           [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                           [--seed 2026] [--profile]

With --threads 1 one caller feeds intake, contact after contact. With more, that many callers
feed it at once, as an SMTP server's or a web server's threads do; contacts that arrive
together then share a transaction and its disk sync (caseboard/group_commit.py). Each thread
has its own seeded mix, and the whole wall time is measured.

The synthetic mix is deterministic (random.Random(seed)): about 65 % new cases, 20 % follow-ups
quoting an earlier case's reference, 15 % re-deliveries of an earlier contact. Follow-ups and
duplicates are made from this run's own results, so every run sees the same stream.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import hashlib
import io
import pstats
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runnable as `python bench/intake.py` from anywhere
    sys.path.insert(0, str(ROOT))

from caseboard.contacts import InboundContact, IntakeOutcome, IntakeResult, Sender  # noqa: E402
from caseboard.db import make_engine  # noqa: E402
from caseboard.services import Services, build_services, prepare_database  # noqa: E402
from settings import load_config  # noqa: E402

ENGINES = ("sqlite", "postgresql")
ENGINE_LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
GOAL = 1000  # contacts/s
NYC_311_RECORD_DAY = 276_827  # contacts, New York 311's busiest day

# --- Synthetic contacts ---

# Per topic: English and Chinese phrasings. Varied wording (synonyms, typos, word order) so
# the router's speller, near and partial matching do the work they do on real text.
TOPICS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "pothole": ((
        "There is a huge pothole on {street}, my car tyre burst on it this morning.",
        "Big hole in the road outside number {num} {street}, cyclists are swerving round it.",
        "The road surface on {street} has broken up and there's a pothol near the bus stop.",
        "Pot hole at the junction of {street} and {street2}, it's getting deeper every week.",
    ), ("{street_zh}路面有个大坑，昨天晚上有人骑车摔倒了。",
        "我家门口的马路坑坑洼洼，下雨天全是积水，请尽快修补。")),
    "missed-collection": ((
        "My bin was not collected on {day} again, {street}.",
        "Bins not emptied on our street ({street}) for {weeks} weeks now.",
        "Missed bin collection at {num} {street} - the lorry drove straight past.",
        "rubbish not collected this week, the wheelie bin is overflowing",
    ), ("{street_zh}的垃圾没人收，已经堆了一个星期了。",
        "垃圾没收，楼下的垃圾桶都满了，味道很大。")),
    "street-light": ((
        "Street light outside {num} {street} has been out for {weeks} weeks.",
        "The streetlight on {street} keeps flickering on and off all night.",
        "Lamp post near the park entrance on {street} is not working, it's very dark.",
        "stret light broken on {street}, feels unsafe walking home",
    ), ("{street_zh}的路灯坏了，晚上走路很不安全。",
        "我们小区门口的路灯不亮已经两个星期了。")),
    "noise": ((
        "Loud music from the flat above every night until 3am, {street}.",
        "My neighbours' dog is barking all day, it's constant noise.",
        "Construction noise on {street} starting at 6am on a Sunday.",
        "Party next door every weekend, the noise is unbearable.",
    ), ("楼上邻居每天晚上放音乐，噪音太大，影响休息。",
        "{street_zh}工地施工噪音扰民，早上六点就开始了。")),
    "damp-mould": ((
        "Black mould is spreading in my children's bedroom, {num} {street}.",
        "Our council flat has damp walls and condensation on every window.",
        "There is mold all over the bathroom ceiling and it keeps coming back.",
        "Damp patch in the living room getting bigger since the winter.",
    ), ("我家墙壁发霉很严重，孩子一直咳嗽。",
        "房子很潮湿，卧室墙体返潮，到处是霉菌。")),
    "property-tax": ((
        "I think my council tax band is wrong for {num} {street}.",
        "I live alone, can I get the single person discount on council tax?",
        "My council tax bill went up this year and I don't understand why.",
        "Question about property tax for the flat I just bought on {street}.",
    ), ("我想咨询一下房产税的减免政策，我一个人住。",
        "今年的税单金额好像算错了，请帮忙核对。")),
    "parking-fine": ((
        "I want to appeal a parking fine I got on {street}, the signs were covered.",
        "I received a penalty charge notice but I was loading, not parking.",
        "Parking ticket issued while I was showing my blue badge, please cancel it.",
        "How do I appeal a PCN? The reference on the ticket is unreadable.",
    ), ("我在{street_zh}收到一张停车罚单，但是那里没有任何标志，我要申诉。",
        "违停罚款不合理，我当时在上下货。")),
    "burst-main": ((
        "Water gushing out of the road on {street}, looks like a burst main.",
        "Burst pipe under the pavement at {num} {street}, water everywhere.",
        "No water supply in the whole of {street} since this morning.",
        "The water main has burst near the school on {street}, the road is flooded.",
    ), ("{street_zh}主水管爆裂，马路上全是水。",
        "我们整栋楼停水了，好像是外面水管爆裂。")),
    "fly-tipping": ((
        "Someone has dumped a mattress and bin bags in the alley behind {street}.",
        "Fly tipping again on {street}, builders rubble left on the verge.",
    ), ("有人在{street_zh}路边乱倒建筑垃圾。",)),
    "housing-repair": ((
        "My boiler is broken and we have no heating, council flat at {num} {street}.",
        "The roof is leaking into my bedroom whenever it rains.",
        "Broken window in the stairwell of our block on {street}, nobody has fixed it.",
    ), ("公租房的锅炉坏了，家里没有暖气，家里有老人。",
        "屋顶漏水，天花板一直滴水。")),
    "pests": ((
        "We have seen rats in the garden and near the bins on {street}.",
        "Cockroaches in the communal kitchen of our building.",
    ), ("小区里老鼠很多，晚上到处跑。",)),
    "blocked-drain": ((
        "The drain on the corner of {street} is blocked and the water won't go down.",
        "Drain cover missing on {street}, someone could fall in.",
    ), ("{street_zh}的下水道堵了，路面积水很深。",)),
    "trees": ((
        "A tree has fallen across the footpath on {street} after the storm.",
        "Overhanging branches from the council tree are blocking our light.",
    ), ("大风把{street_zh}的一棵树刮倒了，挡住了人行道。",)),
    "benefits": ((
        "I need help applying for housing benefit, I lost my job last month.",
        "My council tax support stopped and I don't know why.",
    ), ("我想申请住房补贴，请问需要什么材料？",)),
    "vague": ((
        "Hello, I need to speak to someone about a problem I have.",
        "Please call me back, it's about my neighbour.",
        "Can someone help me? Nobody answers the phone.",
    ), ("你好，我有个问题想找人帮忙。",)),
}
# How often each topic comes up: the everyday complaints dominate, as in any 311 service.
TOPIC_WEIGHTS = {"pothole": 12, "missed-collection": 14, "street-light": 9, "noise": 10,
                 "damp-mould": 6, "property-tax": 7, "parking-fine": 8, "burst-main": 3,
                 "fly-tipping": 5, "housing-repair": 6, "pests": 3, "blocked-drain": 4,
                 "trees": 3, "benefits": 4, "vague": 6}
OPENERS = ("", "", "Hi, ", "Hello, ", "Good morning. ", "Dear Sir or Madam, ", "To whom it may "
           "concern: ")
CLOSERS = ("", "", " Thanks.", " Please sort this out.", " This is the third time I report it.",
           " Kind regards.", " It is urgent.")
FOLLOW_UPS_EN = (
    "Any update on {ref}?",
    "Re {ref}: it's still not fixed, it has been {days} days.",
    "I reported this last week (your reference {ref}) and nothing has happened.",
    "Quoting your reference {ref} - the problem is back again.",
    "Hello, following up on case {ref}, could someone call me back?",
)
FOLLOW_UPS_ZH = ("请问{ref}处理得怎么样了？", "我之前反映的问题（编号{ref}）还没有解决。")

STREETS = ("Mill Road", "Church Lane", "High Street", "Station Road", "Victoria Road",
           "Green Lane", "Manor Road", "Park Avenue", "Queen Street", "Kings Road",
           "Bridge Street", "Albert Road", "Chapel Street", "Orchard Close", "Elm Grove")
STREETS_ZH = ("建设路", "人民路", "解放大道", "和平街", "中山路", "幸福小区", "新华街")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
FIRST = ("Maria", "John", "Aisha", "Tom", "Priya", "David", "Sarah", "Mohammed", "Emma",
         "James", "Olivia", "Liam", "Grace", "Oliver", "Fatima", "Jack", "Chloe", "Daniel")
LAST = ("Lopez", "Smith", "Khan", "Brown", "Patel", "Jones", "Taylor", "Wilson", "Evans",
        "Thomas", "Roberts", "Walker", "Wright", "Green", "Hughes", "Edwards", "Clarke")
NAMES_ZH = ("王芳", "李伟", "张静", "刘洋", "陈敏", "杨磊", "赵丽", "黄强", "周杰", "吴霞")
DOMAINS = ("example.com", "example.org", "example.net", "mail.example")
# Ofcom's numbers reserved for drama (never assigned): 07700 900xxx mobiles, then landlines.
PHONE_BLOCKS = ("+447700900", "+442079460", "+441614960", "+441214960", "+441134960",
                "+441174960", "+441314960", "+441414960", "+441514960", "+441184960")
CHANNEL_WEIGHTS = {"email": 30, "sms": 15, "webchat": 20, "letter": 5, "walk_in": 10, "web": 20}
NEW, FOLLOW_UP, DUPLICATE = 0.65, 0.20, 0.15


@dataclass(frozen=True)
class Citizen:
    name: str
    email: str
    phone: str
    address: str
    postcode: str
    chat: str
    chinese: bool


@dataclass
class ContactMix:
    """Makes the next contact from a seeded RNG and what intake answered so far."""

    rng: random.Random
    citizens: list[Citizen] = field(default_factory=list)
    cases: list[tuple[str, Citizen]] = field(default_factory=list)  # (reference, citizen)
    originals: list[InboundContact] = field(default_factory=list)
    _pending: tuple[InboundContact, Citizen] | None = None
    _sequence: int = 0

    def next_contact(self) -> InboundContact:
        draw = self.rng.random()
        if draw >= NEW + FOLLOW_UP and self.originals:
            # Webhook retries and mail re-deliveries come soon after the first delivery.
            return self.rng.choice(self.originals[-200:])
        if draw >= NEW and self.cases:
            reference, citizen = self.rng.choice(self.cases)
            contact = self._follow_up(reference, citizen)
        else:
            citizen = self._citizen()
            contact = self._new_case(citizen)
        self._pending = (contact, citizen)
        self.originals.append(contact)
        return contact

    def record(self, result: IntakeResult) -> None:
        """Remember new cases, so later follow-ups can quote their references."""
        if self._pending is not None and result.outcome is IntakeOutcome.CREATED:
            self.cases.append((result.reference, self._pending[1]))
        self._pending = None

    def _citizen(self) -> Citizen:
        # One new case in six comes from someone who has written before.
        if self.citizens and self.rng.random() < 1 / 6:
            return self.rng.choice(self.citizens)
        citizen = _make_citizen(self.rng, len(self.citizens))
        self.citizens.append(citizen)
        return citizen

    def _new_case(self, citizen: Citizen) -> InboundContact:
        topic = self.rng.choices(list(TOPIC_WEIGHTS), weights=list(TOPIC_WEIGHTS.values()))[0]
        english, chinese = TOPICS[topic]
        template = self.rng.choice(chinese if citizen.chinese else english)
        core = _fill(self.rng, template)
        body = core if citizen.chinese else _wrap(self.rng, core)
        channel = _pick_channel(self.rng)
        # Citizens' subject lines: the gist of the first clause, or nothing at all.
        gist = core.split(",")[0].split(".")[0].split("，")[0][:60]
        subject = gist if channel == "email" and self.rng.random() < 0.8 else ""
        return self._contact(channel, citizen, body, subject)

    def _follow_up(self, reference: str, citizen: Citizen) -> InboundContact:
        quoted = reference if self.rng.random() < 0.85 else reference.replace("-", " ").lower()
        templates = FOLLOW_UPS_ZH if citizen.chinese else FOLLOW_UPS_EN
        body = self.rng.choice(templates).format(ref=quoted, days=self.rng.randint(3, 30))
        channel = _pick_channel(self.rng)
        subject = f"Re: {reference}" if channel == "email" and self.rng.random() < 0.5 else ""
        return self._contact(channel, citizen, body, subject)

    def _contact(self, channel: str, citizen: Citizen, text: str,
                 subject: str) -> InboundContact:
        self._sequence += 1
        token = f"{self.rng.getrandbits(96):024x}"
        language = ("zh" if citizen.chinese else "en") if channel in ("webchat", "web") else ""
        if channel == "letter":
            text = f"{citizen.name}\n{citizen.address}\n{citizen.postcode}\n\n{text}"
            # A letter's id is its scan's SHA-256.
            external_id = hashlib.sha256(f"{self._sequence}\n{text}".encode()).hexdigest()
        else:
            external_id = {"email": f"<{token}@{citizen.email.split('@')[1]}>",
                           "sms": f"SM{token}", "webchat": f"chat-{token}",
                           "walk_in": f"desk-{token}", "web": f"form-{token}"}[channel]
        return InboundContact(channel, external_id, _sender(channel, citizen, self.rng), text,
                              subject=subject, language=language,
                              own_thread_id=external_id if channel == "email" else "")


def _make_citizen(rng: random.Random, index: int) -> Citizen:
    chinese = rng.random() < 0.15
    first, last = rng.choice(FIRST), rng.choice(LAST)
    name = rng.choice(NAMES_ZH) if chinese else f"{first} {last}"
    block = PHONE_BLOCKS[(index // 1000) % len(PHONE_BLOCKS)]
    postcode = f"EX{rng.randint(1, 9)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}" \
               f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
    return Citizen(
        name=name,
        email=f"{first.lower()}.{last.lower()}{index}@{rng.choice(DOMAINS)}",
        phone=f"{block}{index % 1000:03d}",
        address=f"{rng.randint(1, 240)} {rng.choice(STREETS)}, Exampleton",
        postcode=postcode,
        chat=f"wc-{index:06d}-{rng.getrandbits(32):08x}",
        chinese=chinese,
    )


def _sender(channel: str, citizen: Citizen, rng: random.Random) -> Sender:
    """What each channel knows about the sender, as the real channel adapters see it."""
    if channel == "email":
        return Sender(name=citizen.name, email=citizen.email)
    if channel == "sms":
        return Sender(phone=citizen.phone)
    if channel == "webchat":
        return Sender(name=citizen.name, chat_session=citizen.chat,
                      email=citizen.email if rng.random() < 0.5 else "")
    if channel == "letter":
        return Sender(name=citizen.name, address=citizen.address, postcode=citizen.postcode)
    if channel == "walk_in":
        return Sender(name=citizen.name, phone=citizen.phone, address=citizen.address,
                      postcode=citizen.postcode)
    return Sender(name=citizen.name, email=citizen.email,
                  phone=citizen.phone if rng.random() < 0.3 else "")


def _wrap(rng: random.Random, core: str) -> str:
    """Greeting and sign-off around the complaint, as people write them."""
    opener = rng.choice(OPENERS)
    if opener.endswith(", "):
        core = core[0].lower() + core[1:]
    return opener + core + rng.choice(CLOSERS)


def _pick_channel(rng: random.Random) -> str:
    return rng.choices(list(CHANNEL_WEIGHTS), weights=list(CHANNEL_WEIGHTS.values()))[0]


def _fill(rng: random.Random, template: str) -> str:
    street, street2 = rng.sample(STREETS, 2)
    return template.format(street=street, street2=street2, street_zh=rng.choice(STREETS_ZH),
                           num=rng.randint(1, 240), day=rng.choice(DAYS),
                           weeks=rng.randint(2, 6))


# --- Databases ---


@contextlib.contextmanager
def fresh_database(engine: str, pg_url: str, name: str) -> Iterator[str]:
    """A URL to a new, empty database, removed afterwards: a temp file or a PG database."""
    if engine == "sqlite":
        with tempfile.TemporaryDirectory(prefix="cc-bench-") as folder:
            yield f"sqlite:///{Path(folder) / f'{name}.db'}"
        return
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    database = f"cc_bench_{name}_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{database}"'))
        try:
            yield admin.url.set(database=database).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    finally:
        admin.dispose()


def postgres_problem(pg_url: str) -> str | None:
    """Why PostgreSQL cannot be used, or None if it answers."""
    engine = sa.create_engine(pg_url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as error:  # any failure means: skip PostgreSQL, keep SQLite
        return str(error).splitlines()[0]
    finally:
        engine.dispose()
    return None


# --- Measurements ---

Row = dict[str, object]


@dataclass
class IntakeRun:
    seconds: float
    outcomes: Counter[str]
    rows: list[Row]  # what the baseline inserts: the same messages, shaped as a plain table


def open_services(url: str, data_dir: str) -> Services:
    config = load_config(env={"CC_DATA_DIR": data_dir, "CC_DATABASE_URL": url, "CC_DEMO": "0"})
    services = build_services(config)
    prepare_database(services)  # migrations and department sync: not timed
    return services


def take_all(services: Services, n: int, seed: int) -> IntakeRun:
    """Push n contacts through intake; only the take() calls are timed, not the generator."""
    mix = ContactMix(random.Random(seed))
    outcomes: Counter[str] = Counter()
    rows: list[Row] = []
    elapsed = 0.0
    clock = time.perf_counter
    for _ in range(n):
        contact = mix.next_contact()
        started = clock()
        result = services.intake.take(contact)
        elapsed += clock() - started
        mix.record(result)
        outcomes[result.outcome.value] += 1
        rows.append({"case_id": result.case_id, "channel": contact.channel,
                     "external_id": contact.external_id, "text": contact.text})
    return IntakeRun(elapsed, outcomes, rows)


def take_concurrently(services: Services, n: int, seed: int, threads: int) -> IntakeRun:
    """n contacts from `threads` callers at once; the wall time of the whole run counts."""
    parts: list[IntakeRun] = []
    lock = threading.Lock()

    def feed(index: int) -> None:
        part = take_all(services, n // threads, seed + index)
        with lock:
            parts.append(part)

    workers = [threading.Thread(target=feed, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    outcomes: Counter[str] = Counter()
    for part in parts:
        outcomes.update(part.outcomes)
    return IntakeRun(seconds, outcomes, [row for part in parts for row in part.rows])


def run_intake(engine: str, pg_url: str, n: int, seed: int, threads: int) -> IntakeRun:
    with tempfile.TemporaryDirectory(prefix="cc-bench-data-") as data_dir, \
            fresh_database(engine, pg_url, "intake") as url:
        services = open_services(url, data_dir)
        try:
            if threads == 1:
                return take_all(services, n, seed)
            return take_concurrently(services, n, seed, threads)
        finally:
            services.database.dispose()


def _baseline_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "message", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(255)),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def run_baseline(engine_name: str, pg_url: str, rows: list[Row]) -> float:
    """Seconds to insert the rows with Core, one transaction each, into a fresh database."""
    with fresh_database(engine_name, pg_url, "baseline") as url:
        # The project's engine factory: same WAL/synchronous pragmas and pool as intake, so
        # the ratio measures intake's own work rather than a different durability setting.
        engine = make_engine(url)
        try:
            table = _baseline_table(sa.MetaData())
            table.metadata.create_all(engine)
            insert = sa.insert(table)
            clock = time.perf_counter
            started = clock()
            for row in rows:
                with engine.begin() as connection:
                    connection.execute(insert, {**row, "created_at": dt.datetime.now(dt.UTC)})
            return clock() - started
        finally:
            engine.dispose()


@dataclass
class EngineResult:
    engine: str
    threads: int
    intake: list[IntakeRun]
    baseline_seconds: list[float]

    def intake_rates(self) -> list[float]:
        return [len(run.rows) / run.seconds for run in self.intake]

    def baseline_rates(self) -> list[float]:
        return [len(run.rows) / s for run, s in zip(self.intake, self.baseline_seconds,
                                                    strict=True)]


def measure(engine: str, pg_url: str, n: int, runs: int, seed: int,
            threads: int) -> EngineResult:
    result = EngineResult(engine, threads, [], [])
    for number in range(1, runs + 1):
        # Intake and baseline alternate, so drift (other load, cache warmth) hits both alike.
        intake = run_intake(engine, pg_url, n, seed, threads)
        result.intake.append(intake)
        result.baseline_seconds.append(run_baseline(engine, pg_url, intake.rows))
        print(f"  {ENGINE_LABELS[engine]} ×{threads} run {number}/{runs}: "
              f"{result.intake_rates()[-1]:,.0f} contacts/s, "
              f"baseline {result.baseline_rates()[-1]:,.0f} rows/s", flush=True)
    return result


# --- Report ---


def print_table(results: list[EngineResult]) -> None:
    header = (f"{'engine':<11}{'callers':>8}{'run':>4}{'intake s':>10}{'contacts/s':>12}"
              f"{'created':>9}{'joined':>8}{'duplicate':>10}{'Core rows/s':>13}{'ratio':>8}")
    print()
    print(header)
    print("-" * len(header))
    for result in results:
        rates, baselines = result.intake_rates(), result.baseline_rates()
        for i, run in enumerate(result.intake):
            print(f"{ENGINE_LABELS[result.engine]:<11}{result.threads:>8}{i + 1:>4}"
                  f"{run.seconds:>10.2f}"
                  f"{rates[i]:>12,.0f}{run.outcomes['created']:>9}{run.outcomes['joined']:>8}"
                  f"{run.outcomes['duplicate']:>10}{baselines[i]:>13,.0f}"
                  f"{rates[i] / baselines[i]:>7.2f}×")
        print(f"{ENGINE_LABELS[result.engine]:<11}{result.threads:>8}{'med':>4}{'':>10}"
              f"{statistics.median(rates):>12,.0f}{'':>27}"
              f"{statistics.median(baselines):>13,.0f}"
              f"{statistics.median(rates) / statistics.median(baselines):>7.2f}×")
    print()


def summary_line(result: EngineResult) -> str:
    rate = statistics.median(result.intake_rates())
    ratio = rate / statistics.median(result.baseline_rates())
    verdict = "reached" if rate >= GOAL else "not reached"
    return (f"{ENGINE_LABELS[result.engine]}, {result.threads} caller(s): {rate:,.0f} "
            f"contacts/s (median of "
            f"{len(result.intake)}), {ratio:.2f}× plain Core insert; "
            f"goal ≥ {GOAL} contacts/s: {verdict}")


def nyc_line(rate: float) -> str:
    seconds = NYC_311_RECORD_DAY / rate
    minutes, rest = divmod(round(seconds), 60)
    return (f"New York 311's record day ({NYC_311_RECORD_DAY:,} contacts) at the SQLite rate: "
            f"{minutes} min {rest:02d} s of intake time ({seconds / 864:.1f} % of a day)")


# --- Profiling (outside the timed runs) ---


def profile_sqlite(n: int, seed: int, top: int = 30) -> None:
    """One extra SQLite pass under cProfile; prints the most expensive functions."""
    profiler = cProfile.Profile()
    with tempfile.TemporaryDirectory(prefix="cc-bench-profile-") as folder:
        services = open_services(f"sqlite:///{Path(folder) / 'profile.db'}", folder)
        try:
            profiler.runcall(take_all, services, n, seed)
        finally:
            services.database.dispose()
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(top)
        print(f"\ncProfile of {n} SQLite contacts, top {top} by {order}:")
        print(out.getvalue())


# --- Command line ---


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=5000, help="contacts per run (default 5000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per engine (default 3)")
    parser.add_argument("--engines", default="sqlite,postgresql",
                        help="comma-separated: sqlite, postgresql")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL,
                        help="an admin URL; each run creates and drops its own database")
    parser.add_argument("--threads", type=_thread_counts, default=[1, 8],
                        help="callers feeding intake at once, comma-separated (default 1,8)")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the synthetic mix")
    parser.add_argument("--profile", action="store_true",
                        help="also profile one SQLite pass with cProfile (not timed)")
    args = parser.parse_args(argv)
    if args.n < 1 or args.runs < 1:
        parser.error("--n and --runs must be at least 1")
    return args


def _thread_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of whole numbers: {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("thread counts must be 1 or more")
    return counts


def chosen_engines(text: str) -> list[str] | None:
    engines = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in engines if name not in ENGINES]
    if unknown or not engines:
        print(f"unknown engine {', '.join(unknown) or repr(text)}: "
              f"choose from {', '.join(ENGINES)}", file=sys.stderr)
        return None
    return list(dict.fromkeys(engines))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    engines = chosen_engines(args.engines)
    if engines is None:
        return 2
    if "postgresql" in engines:
        problem = postgres_problem(args.pg_url)
        if problem is not None:
            shown = sa.engine.make_url(args.pg_url).render_as_string(hide_password=True)
            print(f"PostgreSQL is not reachable at {shown}: {problem}; "
                  "skipping it and measuring SQLite only", flush=True)
            engines = [e for e in engines if e != "postgresql"] or ["sqlite"]
    print(f"intake benchmark: {args.n:,} contacts per run, {args.runs} run(s) per engine, "
          f"seed {args.seed}", flush=True)
    results = [measure(engine, args.pg_url, args.n, args.runs, args.seed, threads)
               for engine in engines for threads in args.threads]
    print_table(results)
    for result in results:
        print(summary_line(result))
    sqlite = [r for r in results if r.engine == "sqlite"]
    if sqlite:
        print(nyc_line(max(statistics.median(r.intake_rates()) for r in sqlite)))
    if args.profile:
        profile_sqlite(args.n, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
