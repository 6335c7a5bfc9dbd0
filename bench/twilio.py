"""Twilio webhooks end to end under gunicorn vs a bare Flask endpoint, same run.

Signed SMS webhooks (/twilio/sms): each checks X-Twilio-Signature with the real library and
becomes a new case on SQLite (routed, stored, acknowledgement queued) before its 200. The
baseline is a bare Flask app answering an empty <Response/> under the same gunicorn settings
(workers, threads, each worker taking its share of the clients' connections). Clients are
threads with keep-alive connections and request bodies and signatures built before the clock
starts; bare and phone runs alternate so both see the same
machine load. Also the voice menu: TwiML response time (p50/p95) of /twilio/voice (the call
rings: a case is opened) and /twilio/voice/language (the menu), one request at a time.
Prints medians over runs and the ratio (goals: >= 50 % of the bare rate; menu p95 <= 100 ms),
and the servers' CPU per request, which says why the ratio is what it is on a loaded machine.

    python bench/twilio.py [--requests 1000] [--clients 8] [--workers 2] [--threads 4]
                           [--runs 3] [--calls 200] [--ceiling]
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

# Run as a script, this folder comes first on sys.path and this file would shadow the
# twilio library: drop it, and put the project root there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from twilio.request_validator import RequestValidator  # noqa: E402

TOKEN = "bench-auth-token"
PUBLIC = "https://contact.city.example"
ROOT = _HERE.parent


# ---------------------------------------------------------------- the apps gunicorn loads


def phone_app() -> Any:
    from app import create_app

    return create_app()


def ceiling_app() -> Any:
    """Ours, with intake's write transaction taken out (bench/ceiling.py): a diagnostic."""
    from app import create_app
    from bench.ceiling import without_storage
    from caseboard.services import build_services
    from settings import load_config

    return create_app(services=without_storage(build_services(load_config())))


def bare_app() -> Any:
    from flask import Flask, Response

    app = Flask("bare")

    @app.get("/healthz")
    def healthz() -> Response:
        return Response("ok")

    @app.post("/twilio/sms")
    def sms() -> Response:
        return Response("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response />",
                        mimetype="text/xml")

    return app


# ---------------------------------------------------------------- servers and clients


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Gunicorn:
    def __init__(self, target: str, env: dict[str, str], workers: int, threads: int,
                 clients: int) -> None:
        self.port = free_port()
        command = [sys.executable, "-m", "gunicorn", "--chdir", str(ROOT), "--bind",
                   f"127.0.0.1:{self.port}", "--workers", str(workers), "--threads",
                   str(threads), "--worker-class", "gthread", "--log-level", "warning",
                   "--keep-alive", "30",
                   # A gthread worker accepts every connection it can: the first to wake would
                   # take most of the clients' keep-alive connections and leave the other worker
                   # idle (runs swung between 395 and 617 SMS/s on that chance). Capped at
                   # its share of the connections, each worker serves its share.
                   "--worker-connections", str(-(-clients // workers) + threads), target]
        self.process = subprocess.Popen(command, env={**os.environ, **env})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    pass
                self._warm(workers * threads)
                return
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"gunicorn {target} did not start")

    def _warm(self, connections: int) -> None:
        """Every worker booted (the master listens before they have loaded the app)."""
        def get() -> None:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            connection.close()

        threads = [threading.Thread(target=get) for _ in range(connections * 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def cpu_seconds(self) -> tuple[float, float]:
        """User and system CPU seconds of the master and its workers so far."""
        tick = os.sysconf("SC_CLK_TCK")
        pids = [self.process.pid, *(int(p) for p in Path(
            f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split())]
        user = system = 0.0
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            user, system = user + int(fields[11]) / tick, system + int(fields[12]) / tick
        return user, system

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def signed(path: str, params: dict[str, str]) -> tuple[bytes, str]:
    return (urlencode(params).encode(),
            RequestValidator(TOKEN).compute_signature(PUBLIC + path, params))


def sms_bodies(count: int, run_index: int) -> list[tuple[bytes, str]]:
    """Each from a number no other run uses: a number's text joins that number's open case,
    so a run reusing an earlier run's numbers would measure follow-ups, not new cases."""
    run = uuid.uuid4().hex[:8]
    bodies = []
    for index in range(count):
        params = {"MessageSid": f"SM{run}{index:024d}", "AccountSid": "AC" + "0" * 32,
                  "From": f"+4477{run_index % 100:02d}{index % 1_000_000:06d}",
                  "To": "+442071838750",
                  "Body": "The street light outside number 12 Elm Road has been out for a week",
                  "NumMedia": "0", "NumSegments": "1", "SmsStatus": "received",
                  "ApiVersion": "2010-04-01"}
        bodies.append(signed("/twilio/sms", params))
    return bodies


def post(connection: http.client.HTTPConnection, path: str, body: bytes,
         signature: str) -> int:
    connection.request("POST", path, body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
    response = connection.getresponse()
    response.read()
    return response.status


def throughput(port: int, bodies: list[tuple[bytes, str]], clients: int) -> float:
    chunks = [bodies[i::clients] for i in range(clients)]
    failures: list[int] = []

    def work(chunk: list[tuple[bytes, str]]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for body, signature in chunk:
            status = post(connection, "/twilio/sms", body, signature)
            if status != 200:
                failures.append(status)
        connection.close()

    threads = [threading.Thread(target=work, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, e.g. HTTP {failures[0]}")
    return len(bodies) / elapsed


def menu_latencies(port: int, calls: int) -> tuple[list[float], list[float]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    ring: list[float] = []
    menu: list[float] = []
    run = uuid.uuid4().hex[:8]
    for index in range(calls):
        call = {"CallSid": f"CA{run}{index:024d}", "AccountSid": "AC" + "0" * 32,
                "From": f"+4477008{index:05d}", "To": "+442071838750",
                "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01"}
        for path, params, into in (("/twilio/voice", call, ring),
                                   ("/twilio/voice/language", {**call, "Digits": "1"}, menu)):
            body, signature = signed(path, params)
            started = time.perf_counter()
            status = post(connection, path, body, signature)
            into.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise SystemExit(f"{path} answered HTTP {status}")
    connection.close()
    return ring, menu


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--ceiling", action="store_true",
                        help="also measure our app without intake's write transaction")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-twilio-") as folder:
        env = {"CC_DATA_DIR": folder, "CC_DEMO": "0", "CC_TWILIO_AUTH_TOKEN": TOKEN,
               "CC_TWILIO_PUBLIC_URL": PUBLIC, "CC_ROUTING_RETRAIN_MINUTES": "0",
               "CC_DATABASE_URL": os.environ.get("CC_DATABASE_URL", "")}
        env = {k: v for k, v in env.items() if v}
        _prepare(env)  # migrate once, before several workers start
        bare_rates: list[float] = []
        phone_rates: list[float] = []
        ceiling_rates: list[float] = []
        rings: list[float] = []
        menus: list[float] = []
        cpu: dict[str, list[tuple[float, ...]]] = {"bare": [], "phone": [], "ceiling": []}
        servers = [("bare", "bench.twilio:bare_app()", bare_rates),
                   ("phone", "bench.twilio:phone_app()", phone_rates)]
        if args.ceiling:
            servers.append(("ceiling", "bench.twilio:ceiling_app()", ceiling_rates))
        for run in range(args.runs):
            bodies = sms_bodies(args.requests, run)
            for name, target, into in servers:
                server = Gunicorn(target, env, args.workers, args.threads, args.clients)
                try:
                    before = server.cpu_seconds()
                    rate = throughput(server.port, bodies, args.clients)
                    after = server.cpu_seconds()
                    cpu[name].append(tuple(1000 * (a - b) / len(bodies)
                                           for a, b in zip(after, before, strict=True)))
                    if name == "phone":
                        ring, menu = menu_latencies(server.port, args.calls)
                        rings.append(p95(ring))
                        menus.append(p95(menu))
                finally:
                    server.stop()
                into.append(rate)
                print(f"run {run + 1} {name}: {rate:.0f} requests/s", flush=True)
    bare, phone = statistics.median(bare_rates), statistics.median(phone_rates)
    print(f"gunicorn gthread, {args.workers} workers x {args.threads} threads, "
          f"{args.clients} clients, {args.requests} requests per run, {args.runs} runs")
    print(f"bare Flask endpoint:   {bare:8.0f} requests/s (median)")
    print(f"signed SMS webhook:    {phone:8.0f} requests/s (median; each a new case)")
    print(f"ratio:                 {phone / bare:8.1%} (goal >= 50 %)")
    if ceiling_rates:
        ceiling = statistics.median(ceiling_rates)
        print(f"without the write transaction: {ceiling:8.0f} requests/s (median), "
              f"{ceiling / bare:.1%} of bare: the ceiling for any storage")
    for name in [name for name in cpu if cpu[name]]:
        user = statistics.median(c[0] for c in cpu[name])
        system = statistics.median(c[1] for c in cpu[name])
        print(f"server CPU, {name + ':':<8}  {user:.2f} ms user + {system:.2f} ms system "
              "per request (gunicorn master and workers, medians)")
    print(f"voice greeting p95:    {statistics.median(rings):8.1f} ms (call rings, case opened)")
    print(f"voice menu p95:        {statistics.median(menus):8.1f} ms (goal <= 100 ms)")
    return 0


def _prepare(env: dict[str, str]) -> None:
    from caseboard.services import build_services, prepare_database
    from settings import load_config

    services = build_services(load_config(env={**os.environ, **env}))
    prepare_database(services)
    services.database.dispose()


if __name__ == "__main__":
    sys.exit(main())
