"""Benchmark: live web chat against `python app.py serve` on SQLite.

Not a test (DESIGN.md §7). Starts the real server as a subprocess on free ports with a
temporary data folder (demo administration, opening hours around the clock so the result
does not depend on the time of day), signs agents in through /login, and runs N chat
sessions with aiohttp: each citizen opens /chat's event stream, asks for a person, an agent
takes the chat, then the citizen sends one message a second. The agents' pages listen on
/board/chats/events. Printed: messages sent, accepted, delivered to the agent, lost (must be
0), and delivery latency citizen → agent (p50/p95/max), next to the baseline of GET /healthz
on the same server in the same run. Goal: p95 <= 250 ms and 0 lost at 200 sessions.

    python bench/chat.py [--sessions 200] [--seconds 60] [--agents 10] [--no-citizen-streams]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

from tests.conftest import free_port  # noqa: E402

QUESTION = "There is black mould in the bedroom of my council flat"
PASSWORD = "bench-agent-password"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def prepare(data: Path, agents: int, capacity: int) -> dict[str, str]:
    """Config file open around the clock, env for the server, and the agents in the database."""
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    for day in DAYS:
        text = re.sub(rf'^{day} = "[^"]*"', f'{day} = "00:00-23:59"', text, flags=re.M)
    text = re.sub(r"^extra_holidays = .*$", "extra_holidays = []", text, flags=re.M)
    text = text.replace('holidays_country = "GB"', 'holidays_country = ""')
    (data / "config.toml").write_text(text, encoding="utf-8")
    env = {**os.environ, "CC_CONFIG": str(data / "config.toml"), "CC_DATA_DIR": str(data),
           "CC_DATABASE_URL": "", "CC_WEB_PORT": str(free_port()),
           "CC_SMTP_PORT": str(free_port()), "CC_DEMO": "1", "CC_ROUTING_RETRAIN_MINUTES": "0",
           "CC_LETTERS_WORKERS": "1", "CC_CHAT_MESSAGES_PER_MINUTE": "1000"}
    from caseboard import auth
    from caseboard.assignment import set_presence
    from caseboard.services import build_services, prepare_database
    from settings import load_config

    services = build_services(load_config(env=env))
    prepare_database(services)
    with services.database.write() as session:
        for n in range(agents):
            user = auth.create_user(session, f"bench{n}", "agent", PASSWORD,
                                    display_name=f"Bench Agent {n}",
                                    departments=("housing", "triage"))
            user.capacity = {"chat": capacity}
            session.add(user)
            session.flush()
            set_presence(session, f"bench{n}", "available", "bench")
    services.database.dispose()
    return env


def start_server(env: dict[str, str], data: Path) -> tuple[subprocess.Popen[bytes], str]:
    log = open(data / "serve.log", "wb")  # noqa: SIM115 - lives as long as the server
    server = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "serve"], env=env,
                              cwd=str(ROOT), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{env['CC_WEB_PORT']}"
    return server, url


async def wait_ready(http: aiohttp.ClientSession, url: str) -> None:
    for _ in range(600):
        try:
            async with http.get(url + "/healthz") as answer:
                if answer.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("the server did not start (see serve.log)")


async def events(response: aiohttp.ClientResponse) -> Any:
    """Parse a text/event-stream into (event, data) pairs."""
    name, data = "message", ""
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if not line:
            if data:
                yield name, json.loads(data)
            name, data = "message", ""
        elif line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data += line[6:]


class Agent:
    def __init__(self, url: str, name: str) -> None:
        self.url, self.name = url, name
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                          timeout=aiohttp.ClientTimeout(total=None))
        self.csrf = ""
        self.received: dict[str, float] = {}

    async def sign_in(self) -> None:
        async with self.http.get(self.url + "/login") as answer:
            token = re.findall(r'name="csrf_token" value="([^"]*)"', await answer.text())[0]
        form = {"csrf_token": token, "username": self.name, "password": PASSWORD}
        async with self.http.post(self.url + "/login", data=form,
                                  allow_redirects=False) as answer:
            assert answer.status == 303, await answer.text()
        async with self.http.get(self.url + "/board/chats") as answer:
            self.csrf = re.findall(r'name="csrf-token" content="([^"]*)"',
                                   await answer.text())[0]

    async def listen(self) -> None:
        async with self.http.get(self.url + "/board/chats/events") as answer:
            async for name, data in events(answer):
                if name == "line" and data["author"] == "citizen":
                    self.received.setdefault(data["client_id"], time.perf_counter())

    async def take_waiting(self) -> int:
        """Take what the page offers (push departments may have given us some already)."""
        async with self.http.get(self.url + "/board/chats/state") as answer:
            state = await answer.json()
        for chat in state["waiting"][:max(0, state["capacity"] - len(state["mine"]))]:
            async with self.http.post(f"{self.url}/board/chats/{chat['id']}/take",
                                      headers={"X-CSRFToken": self.csrf}) as answer:
                await answer.read()
        async with self.http.get(self.url + "/board/chats/state") as answer:
            return len((await answer.json())["mine"])


async def take_all(agents: list[Agent], total: int) -> None:
    for _ in range(100):
        held = await asyncio.gather(*(a.take_waiting() for a in agents))
        if sum(held) >= total:
            return
        await asyncio.sleep(0.2)
    raise SystemExit(f"only {sum(held)} of {total} chats were taken")


def citizen_http(number: int) -> aiohttp.ClientSession:
    """Each citizen from its own loopback address (127.0.0.0/8 is all loopback), as citizens
    on the internet are: the per-address limit stays at its default and counts one citizen."""
    address = f"127.0.{number // 250}.{number % 250 + 2}"
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, local_addr=(address, 0)),
                                 timeout=aiohttp.ClientTimeout(total=None))


class Citizen:
    def __init__(self, http: aiohttp.ClientSession, url: str, number: int) -> None:
        self.http, self.url, self.number = http, url, number
        self.token = self.session_id = ""
        self.sent: dict[str, float] = {}
        self.accepted: set[str] = set()
        self.refused: list[str] = []
        self.ack_ms: list[float] = []

    async def start(self) -> None:
        async with self.http.post(self.url + "/chat/api/sessions",
                                  json={"name": f"Citizen {self.number}"}) as answer:
            self.token = (await answer.json())["token"]
        payload = self.token.split(".")[0]
        self.session_id = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        async with self.http.post(self.url + "/chat/api/handover", headers=self.headers,
                                  json={"text": QUESTION, "client_id": "q"}) as answer:
            assert answer.status == 200, await answer.text()

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Chat-Token": self.token}

    async def listen(self) -> None:
        async with self.http.get(f"{self.url}/chat/api/events?token={self.token}") as answer:
            async for _name, _data in events(answer):
                pass

    async def talk(self, seconds: int) -> None:
        await asyncio.sleep(self.number % 100 / 100)  # spread the sends over the second
        begin = time.perf_counter()
        for n in range(seconds):
            client_id = f"c{self.number}-{n}"
            self.sent[client_id] = time.perf_counter()
            async with self.http.post(self.url + "/chat/api/messages", headers=self.headers,
                                      json={"text": f"message {n} from {self.number}",
                                            "client_id": client_id}) as answer:
                if answer.status == 201:
                    self.accepted.add(client_id)
                else:
                    self.refused.append(f"{answer.status} {await answer.text()}")
            self.ack_ms.append((time.perf_counter() - self.sent[client_id]) * 1000)
            await asyncio.sleep(max(0.0, begin + n + 1 - time.perf_counter()))


async def healthz_ms(http: aiohttp.ClientSession, url: str, count: int = 200) -> list[float]:
    times = []
    for _ in range(count):
        begin = time.perf_counter()
        async with http.get(url + "/healthz") as answer:
            await answer.read()
        times.append((time.perf_counter() - begin) * 1000)
    return times


async def run(args: argparse.Namespace, url: str) -> int:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=None)) as http:
        await wait_ready(http, url)
        baseline = await healthz_ms(http, url)
        agents = [Agent(url, f"bench{n}") for n in range(args.agents)]
        await asyncio.gather(*(a.sign_in() for a in agents))
        listeners = [asyncio.create_task(a.listen()) for a in agents]
        citizens = [Citizen(citizen_http(n), url, n) for n in range(args.sessions)]
        for batch in range(0, len(citizens), 20):
            await asyncio.gather(*(c.start() for c in citizens[batch:batch + 20]))
        await take_all(agents, len(citizens))
        streams = ([asyncio.create_task(c.listen()) for c in citizens]
                   if args.citizen_streams else [])
        await asyncio.sleep(1)
        print(f"{len(citizens)} chats live with {len(agents)} agents; talking for "
              f"{args.seconds} s", flush=True)
        await asyncio.gather(*(c.talk(args.seconds) for c in citizens))
        await asyncio.sleep(3)  # the last lines in flight
        during = await healthz_ms(http, url, 50)
        for task in listeners + streams:
            task.cancel()
        for agent in agents:
            await agent.http.close()
        for citizen in citizens:
            await citizen.http.close()
    received = {k: v for a in agents for k, v in a.received.items()}
    sent = {k: v for c in citizens for k, v in c.sent.items()}
    accepted = {k for c in citizens for k in c.accepted}
    latencies = [(received[k] - sent[k]) * 1000 for k in accepted if k in received]
    lost = len(accepted - set(received))
    refused = [r for c in citizens for r in c.refused]
    acks = [ms for c in citizens for ms in c.ack_ms]
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    base = statistics.median(baseline)
    print(f"messages sent {len(sent)}, accepted {len(accepted)}, refused {len(refused)}, "
          f"delivered to agents {len(latencies)}, lost {lost}")
    if refused:
        print("  first refusal:", refused[0][:200])
    print(f"delivery citizen -> agent: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
          f"max {max(latencies, default=0):.1f} ms")
    print(f"citizen POST acknowledged: p50 {percentile(acks, 0.5):.1f} ms, "
          f"p95 {percentile(acks, 0.95):.1f} ms")
    print(f"baseline GET /healthz (idle server): p50 {base:.2f} ms; "
          f"ratio delivery p50 / healthz p50 = {p50 / base:.1f}x; "
          f"/healthz after the load p50 {statistics.median(during):.2f} ms")
    goal = p95 <= 250 and lost == 0
    print(f"goal p95 <= 250 ms and 0 lost: {'met' if goal else 'NOT met'}")
    return 0 if lost == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--no-citizen-streams", dest="citizen_streams", action="store_false",
                        help="citizens only send (no event stream open per citizen)")
    args = parser.parse_args()
    # Stopped from outside (timeout, Ctrl-C): still stop the server in `finally`.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(1))
    capacity = -(-args.sessions // args.agents)
    with tempfile.TemporaryDirectory(prefix="cc-chat-bench-") as folder:
        data = Path(folder)
        env = prepare(data, args.agents, capacity)
        server, url = start_server(env, data)
        try:
            return asyncio.run(run(args, url))
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    sys.exit(main())
