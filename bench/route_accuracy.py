"""Benchmark: routes per second on real citizen text, against a naive keyword baseline.

Not a test (DESIGN.md §7): it prints figures and a ratio to a baseline measured in the same
run: `str.lower()` and a substring search for every configured keyword, the service with the
most hits wins. The router does much more (typo/speech/OCR repair, word boundaries, near and
partial phrases, Chinese insertions, negatives, priority words, confidence), so the ratio says
what that costs.

    python bench/route_accuracy.py [--runs 5] [--boston 2000] [--data ../shared/data/routing]

Data: the 495 TipDM 2020 Chinese messages (subject + detail) and the first N case titles of
the Boston 311 2015 sample (see the data folder's SOURCES.md). Also printed: the share of texts
that leave triage, for the router and the baseline (the labels do not match the demo
departments, so this is coverage, not accuracy).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runnable as `python bench/route_accuracy.py` from anywhere
    sys.path.insert(0, str(ROOT))

from routing import RoutingRules, route  # noqa: E402
from settings import Config, load_config  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "routing"


def read_texts(data: Path, boston_rows: int) -> dict[str, list[str]]:
    with (data / "taidi2020_citizen_messages_495.csv").open(encoding="utf-8") as handle:
        chinese = [f"{r['subject']}\n{r['detail']}" for r in csv.DictReader(handle)]
    with (data / "boston311_2015_sample20k.csv").open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        boston = [row["case_title"] for _, row in zip(range(boston_rows), reader, strict=False)]
    return {"TipDM 2020 (zh)": chinese, "Boston 311 titles (en)": boston}


def baseline_router(config: Config) -> Callable[[str], str]:
    """The naive router: lower-case substring search, most keyword hits wins."""
    table = [(service.department, tuple(k.lower() for ks in service.keywords.values()
                                        for k in ks))
             for department in config.departments for service in department.services]
    triage = config["routing.triage_department"]

    def decide(text: str) -> str:
        lowered = text.lower()
        best, best_hits = triage, 0
        for department, keywords in table:
            hits = sum(1 for k in keywords if k in lowered)
            if hits > best_hits:
                best, best_hits = department, hits
        return best

    return decide


def rate(decide: Callable[[str], object], texts: Sequence[str], runs: int) -> float:
    """Median texts per second over `runs` passes (one warm-up pass first)."""
    for text in texts:
        decide(text)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for text in texts:
            decide(text)
        times.append(time.perf_counter() - start)
    return len(texts) / statistics.median(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--boston", type=int, default=2000, help="Boston rows to use")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    if not (args.data / "SOURCES.md").is_file():
        print(f"no routing data in {args.data} (pass --data)", file=sys.stderr)
        return 2
    config = load_config()
    start = time.perf_counter()
    rules = RoutingRules.from_config(config)
    print(f"RoutingRules.from_config: {(time.perf_counter() - start) * 1000:.1f} ms")
    baseline = baseline_router(config)
    triage = config["routing.triage_department"]

    def router(text: str) -> str:
        return route(text, rules).department

    print(f"{'data set':<24}{'texts':>7}{'chars':>7}{'router/s':>11}{'µs/route':>10}"
          f"{'baseline/s':>12}{'ratio':>8}{'left triage':>13}{'(baseline)':>11}")
    for name, texts in read_texts(args.data, args.boston).items():
        ours, theirs = rate(router, texts, args.runs), rate(baseline, texts, args.runs)
        routed = sum(router(t) != triage for t in texts) / len(texts)
        routed_baseline = sum(baseline(t) != triage for t in texts) / len(texts)
        chars = statistics.median(len(t) for t in texts)
        print(f"{name:<24}{len(texts):>7}{chars:>7.0f}{ours:>11,.0f}{1e6 / ours:>10.0f}"
              f"{theirs:>12,.0f}{ours / theirs:>8.2f}{routed:>13.0%}{routed_baseline:>11.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
