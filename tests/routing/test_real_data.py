"""The router on real citizen messages written by others (../shared/data/routing).

The TipDM 2020 "smart government" messages are Chinese complaints and questions labelled with
a coarse category (城乡建设, 环境保护, 交通运输, …) that does not line up with the demo
departments, so accuracy is not asserted: every message must get a valid decision, and a fair
share must be routed somewhere other than triage.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from routing import RoutingRules, route
from settings import PRIORITIES, Config

ROUTING_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "routing"
TAIDI = ROUTING_DATA / "taidi2020_citizen_messages_495.csv"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def read_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        if IN_CI:
            pytest.fail(f"test data {path} is missing (CI must have ../shared/data)")
        pytest.skip(f"test data {path} is not here (../shared/data next to the project)")
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_real_chinese_message_gets_a_valid_decision(rules: RoutingRules,
                                                         config: Config) -> None:
    rows = read_rows(TAIDI)
    assert len(rows) == 495
    departments = {d.id: {s.code for s in d.services} for d in config.departments}
    routed = 0
    for row in rows:
        decision = route(f"{row['subject']}\n{row['detail']}", rules, language="zh")
        assert decision.department in departments
        assert decision.service is None or decision.service in departments[decision.department]
        assert 0.0 <= decision.confidence <= 1.0
        assert decision.priority in PRIORITIES
        assert decision.reasons and len(decision.suggestions) <= 3
        routed += decision.department != config["routing.triage_department"]
    assert routed / len(rows) >= 0.30, f"only {routed} of {len(rows)} left triage"


def test_environmental_complaints_mostly_reach_environmental_health(
        rules: RoutingRules) -> None:
    # The one label that maps cleanly onto a demo department: 环境保护 (environmental
    # protection) → environment. Most of those that leave triage must land there.
    rows = [r for r in read_rows(TAIDI) if r["label_level1"] == "环境保护"]
    decisions = [route(f"{r['subject']}\n{r['detail']}", rules) for r in rows]
    routed = [d for d in decisions if d.department != "triage"]
    assert routed
    environment = sum(d.department == "environment" for d in routed)
    assert environment / len(routed) >= 0.6, [d.department for d in routed]
