"""The same text gets the same decision in every process.

Python orders sets of strings by a per-process hash seed (PYTHONHASHSEED) and sets of other
objects by address; the router once took the order of its keyword hits from such sets, and
that order breaks ties between equal hits. Two processes could then route one text
differently (reasons, confidence, even the service). Here real texts are routed under
several hash seeds and every decision must match.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROUTE_ALL = """
import csv, json, sys
from routing import RoutingRules, route
from settings import DEFAULT_CONFIG_PATH, load_config
rules = RoutingRules.from_config(load_config(DEFAULT_CONFIG_PATH, env={}))
texts = []
for name in ("routing_messages.csv", "kb_questions.csv"):
    with open(f"tests/data/{name}", encoding="utf-8") as handle:
        texts += [next(iter(row.values())) for row in csv.DictReader(handle)]
decisions = []
for text in texts:
    for variant in (text, text.lower(), text.replace("e", "3", 1)):
        decisions.append(route(variant, rules).as_dict())
json.dump(decisions, sys.stdout, sort_keys=True)
"""


def _decisions(seed: str) -> list[dict[str, object]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CC_")}
    completed = subprocess.run([sys.executable, "-c", ROUTE_ALL], cwd=ROOT, check=True,
                               capture_output=True, text=True,
                               env={**env, "PYTHONHASHSEED": seed})
    decisions: list[dict[str, object]] = json.loads(completed.stdout)
    return decisions


def test_a_text_is_routed_the_same_whatever_the_process() -> None:
    first = _decisions("1")
    assert len(first) > 1000
    for seed in ("2", "3", "4"):
        assert _decisions(seed) == first, f"hash seed {seed} routed some text differently"
