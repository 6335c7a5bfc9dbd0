"""Email intake end to end over loopback vs a bare aiosmtpd server, same run.

Each message becomes a new case on SQLite (parsed, routed, stored with its original,
acknowledgement queued) and gets its 250 only after the commit; the baseline is an aiosmtpd
server that answers 250 and stores nothing. Clients are separate processes, each on one
connection, with their mails built before the clock starts. Bare and intake runs alternate,
so both see the same machine load. Prints messages/second (median of runs), CPU per message
(the server process's user and system time, and all clients'), and the ratio (goal: >= 50 %).

The CPU figures say why the ratio is what it is: a server process is bound by one core of
Python (the GIL). With --processes N our intake runs as N processes on one port
(channels/email/processes.py, SO_REUSEPORT) and their CPU is summed; the bare server stays
one process (it spends a tenth of our CPU per message and is not CPU-bound).

With --ceiling a third server runs our whole path except intake's write transaction (SMTP,
parsing, routing, deadlines: Intake.prepare), as many processes as ours: the rate no storage
could beat.

    python bench/smtp.py [--messages 400] [--clients 2] [--runs 3] [--processes 1] [--ceiling]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiosmtpd.controller import Controller  # noqa: E402

from bench.ceiling import serve_without_storage, without_storage  # noqa: E402
from caseboard.services import build_services, prepare_database  # noqa: E402
from channels.email.processes import SmtpProcesses  # noqa: E402
from channels.email.server import SmtpService  # noqa: E402
from settings import load_config  # noqa: E402

TEXTS = ("My bin was not collected on Tuesday.", "There is a pothole on Mill Road.",
         "The street light outside number 12 is broken.", "路灯坏了好几天了",
         "My council tax bill is wrong.", "Water is leaking from a pipe in the street.")


@dataclass(frozen=True)
class Run:
    rate: float  # messages per second
    user: float  # server process CPU, ms per message
    system: float
    clients: float  # all client processes' CPU, ms per message


class Bare:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


def bench_mail(index: int, tag: str, text: str) -> bytes:
    """One of the benchmark's mails: a single text/plain part, as most citizens send."""
    from email.message import EmailMessage

    mail = EmailMessage()
    mail["From"] = f"citizen{index % 97}.{tag}@mail.example"
    mail["To"] = "contact@city.example"
    mail["Subject"] = f"Request {index}"
    mail["Message-ID"] = f"<{tag}.{index}@mail.example>"
    mail.set_content(text)
    return mail.as_bytes()


def client(port: int, count: int, tag: str, start_at: float) -> tuple[int, float, float]:
    """Build the mails first (client CPU is not the server's throughput), start together."""
    import smtplib

    mails = [bench_mail(i, tag, TEXTS[i % len(TEXTS)] + f"\n\nReference number {i}.")
             for i in range(count)]
    time.sleep(max(0.0, start_at - time.time()))
    cpu = time.process_time()
    sent = 0
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        for i, raw in enumerate(mails):
            if not smtp.sendmail(f"citizen{i % 97}.{tag}@mail.example",
                                 ["contact@city.example"], raw):
                sent += 1
    return sent, time.time(), time.process_time() - cpu


Cpu = Callable[[], tuple[float, float]]  # the server's user and system seconds so far


def own_cpu() -> tuple[float, float]:
    times = os.times()
    return times.user, times.system


def processes_cpu(pids: list[int]) -> Cpu:
    tick = os.sysconf("SC_CLK_TCK")

    def cpu() -> tuple[float, float]:
        user = system = 0.0
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            user, system = user + int(fields[11]) / tick, system + int(fields[12]) / tick
        return user, system

    return cpu


def measure(pool: ProcessPoolExecutor, port: int, messages: int, clients: int,
            cpu: Cpu = own_cpu) -> Run:
    """Messages per second, and CPU milliseconds per message (server user/system, clients)."""
    per_client = messages // clients
    run = uuid.uuid4().hex[:8]
    start_at = time.time() + 1.0
    futures = [pool.submit(client, port, per_client, f"{run}-{c}", start_at)
               for c in range(clients)]
    time.sleep(max(0.0, start_at - time.time()))
    cpu_start = cpu()
    results = [f.result() for f in futures]
    cpu_end = cpu()
    sent = sum(r[0] for r in results)
    elapsed = max(r[1] for r in results) - start_at
    assert sent == per_client * clients, f"only {sent} messages were accepted"
    return Run(sent / elapsed, 1000 * (cpu_end[0] - cpu_start[0]) / sent,
               1000 * (cpu_end[1] - cpu_start[1]) / sent,
               1000 * sum(r[2] for r in results) / sent)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--processes", type=int, default=1,
                        help="SMTP intake processes on one port (the bare server stays one)")
    parser.add_argument("--ceiling", action="store_true",
                        help="also measure our server without intake's write transaction")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(env={"CC_DATA_DIR": tmp, "CC_DEMO": "0",
                                  "CC_SMTP_ACK_LIMIT_PER_HOUR": "1000000"})
        services = build_services(config)
        prepare_database(services)
        ours: SmtpService | SmtpProcesses
        cpu: Cpu = own_cpu
        if args.processes > 1:
            ours = SmtpProcesses(config, args.processes, port=_free_port())
            ours.start()
            cpu = processes_cpu([p.pid for p in ours.processes if p.pid is not None])
        else:
            ours = SmtpService(services, port=_free_port())
            ours.start()
        bare_port = _free_port()
        bare = Controller(Bare(), hostname="127.0.0.1", port=bare_port)
        bare.start()
        ceiling: SmtpService | SmtpProcesses
        ceiling_cpu: Cpu = own_cpu
        if args.processes > 1:  # as many as ours
            ceiling = SmtpProcesses(config, args.processes, port=_free_port(),
                                    serve=serve_without_storage)
        else:
            ceiling = SmtpService(without_storage(services), port=_free_port())
        if args.ceiling:
            ceiling.start()
            if isinstance(ceiling, SmtpProcesses):
                ceiling_cpu = processes_cpu([p.pid for p in ceiling.processes
                                             if p.pid is not None])
        runs: dict[str, list[Run]] = {"bare": [], "intake": [], "ceiling": []}
        try:
            with ProcessPoolExecutor(max_workers=args.clients) as pool:
                measure(pool, bare_port, args.clients * 5, args.clients)  # warm up
                measure(pool, ours.port, args.clients * 5, args.clients, cpu)
                if args.ceiling:
                    measure(pool, ceiling.port, args.clients * 5, args.clients, ceiling_cpu)
                for _ in range(args.runs):  # interleaved, so all see the same machine load
                    runs["bare"].append(measure(pool, bare_port, args.messages, args.clients))
                    runs["intake"].append(measure(pool, ours.port, args.messages,
                                                  args.clients, cpu))
                    if args.ceiling:
                        runs["ceiling"].append(measure(pool, ceiling.port, args.messages,
                                                       args.clients, ceiling_cpu))
        finally:
            ours.stop()
            bare.stop()
            ceiling.stop()
            services.database.dispose()
    print(f"messages per run: {args.messages}, clients: {args.clients}, runs: {args.runs}, "
          f"intake processes: {args.processes}")
    rate = {}
    for name, label in (("bare", "bare aiosmtpd (stores nothing):    "),
                        ("intake", "email intake (case + ack, SQLite): "),
                        ("ceiling", "ours without the write transaction:")):
        if not runs[name]:
            continue
        rate[name] = statistics.median(r.rate for r in runs[name])
        print(f"{label}{rate[name]:8.1f} msg/s (runs: "
              f"{', '.join(f'{r.rate:.1f}' for r in runs[name])})")
        print(f"    CPU ms per message (medians): server user "
              f"{statistics.median(r.user for r in runs[name]):.2f}, server system "
              f"{statistics.median(r.system for r in runs[name]):.2f}, clients "
              f"{statistics.median(r.clients for r in runs[name]):.2f}")
    print(f"ratio: {rate['intake'] / rate['bare']:.1%} of the bare server (goal >= 50 %)")
    if "ceiling" in rate:
        print(f"ceiling: {rate['ceiling'] / rate['bare']:.1%} of the bare server with no "
              f"storage at all ({args.processes} process(es))")
    return 0


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    sys.exit(main())
