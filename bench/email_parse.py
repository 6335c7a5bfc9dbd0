"""Email parsing figures: CPU per mail for parse_mail + build_contact (everything the SMTP
server does with a mail before intake), against the stdlib's bare parse of the same bytes
(email.message_from_bytes with compat32) measured in the same run.

    python bench/email_parse.py [--rounds 7] [--repeat 20] [--corpus DIR]

Two sets: "plain", the benchmark's typical mail (bench/smtp.py builds the same: one text/plain
part, English or Chinese), and "corpus", every real mail in ../shared/data/emails. Figures are
the median over rounds of the CPU time (time.process_time) per mail; other work on the 2 cores
shows less in CPU time than in wall time, but does not vanish from it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import email
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from email.policy import compat32
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runnable as `python bench/email_parse.py` from anywhere
    sys.path.insert(0, str(ROOT))

from bench.smtp import bench_mail  # noqa: E402
from channels.email.inbound import build_contact  # noqa: E402
from channels.email.parse import UnreadableMail, parse_mail  # noqa: E402
from settings import Config, load_config  # noqa: E402

CORPUS = ROOT.parent / "shared" / "data" / "emails"
NOW = dt.datetime(2024, 5, 7, 12, 0, tzinfo=dt.UTC)


def plain_mails(count: int = 20) -> list[bytes]:
    """The benchmark's typical mail (bench/smtp.py's), every other one in Chinese."""
    return [bench_mail(i, "x", f"My bin was not collected on Tuesday.\n\nReference number {i}."
                       if i % 2 else f"路灯坏了好几天了 {i}") for i in range(count)]


def corpus_mails(folder: Path) -> list[bytes]:
    return [path.read_bytes() for path in sorted(folder.glob("*.eml"))]


def parse_and_build(config: Config) -> Callable[[bytes], object]:
    def run(raw: bytes) -> object:
        try:
            mail = parse_mail(raw, "citizen@mail.example")
        except UnreadableMail:
            return None
        if mail.is_report:
            return mail
        return build_contact(config, mail, raw, mail.from_address or "citizen@mail.example",
                             None, NOW)
    return run


def stdlib_parse(raw: bytes) -> object:
    return email.message_from_bytes(raw, policy=compat32)


def cpu_ms_per_mail(work: Callable[[bytes], object], mails: Sequence[bytes], rounds: int,
                    repeat: int) -> float:
    """Median over rounds of the CPU milliseconds per mail."""
    figures = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(repeat):
            for raw in mails:
                work(raw)
        figures.append((time.process_time() - start) * 1000 / (repeat * len(mails)))
    return statistics.median(figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=20, help="passes over a set per round")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="a folder of .eml files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        config = load_config(env={"CC_DATA_DIR": data_dir, "CC_DEMO": "0"})
        ours = parse_and_build(config)
        sets = {"plain": plain_mails(), "corpus": corpus_mails(args.corpus)}
        if not sets["corpus"]:
            sys.exit(f"no .eml files in {args.corpus}")
        print(f"{'set':<8}{'mails':>6}{'parse+build ms':>16}{'stdlib parse ms':>17}{'ratio':>7}")
        for name, mails in sets.items():
            for raw in mails:  # warm caches and imports before measuring
                ours(raw)
            repeat = args.repeat if name == "plain" else max(1, args.repeat // 4)
            mine = cpu_ms_per_mail(ours, mails, args.rounds, repeat)
            base = cpu_ms_per_mail(stdlib_parse, mails, args.rounds, repeat)
            print(f"{name:<8}{len(mails):>6}{mine:>16.3f}{base:>17.3f}{mine / base:>7.2f}")


if __name__ == "__main__":
    main()
