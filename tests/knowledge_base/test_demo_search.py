"""The demo knowledge base: loaded on the demo's first start, and it answers the labelled set."""

from __future__ import annotations

import csv
from pathlib import Path

from caseboard.services import build_services, prepare_database, seed_demo
from knowledge_base.service import DEMO_ARTICLES
from tests.conftest import ROOT, make_config

QUESTIONS = ROOT / "tests" / "data" / "kb_questions.csv"


def test_demo_start_loads_the_demo_articles_once(tmp_path: Path, db_url: str) -> None:
    services = build_services(make_config(tmp_path, db_url, CC_DEMO="1"))
    try:
        assert prepare_database(services) is True
        exported = list(services.kb.export_lines())
        expected = [line for line in DEMO_ARTICLES.read_text(encoding="utf-8").splitlines()
                    if line.strip()]
        assert len(exported) == len(expected) >= 80
        seed_demo(services)  # `python app.py seed-demo` again adds nothing
        assert list(services.kb.export_lines()) == exported
        versions = services.kb.versions("bulky-waste-collection", "en")
        assert [(v.number, v.approved_by) for v in versions] == [(1, "demo")]
    finally:
        services.database.dispose()


def test_the_labelled_questions_find_their_article(tmp_path: Path, db_url: str) -> None:
    """A floor well under the benchmark's figures: it catches a broken search, not a 1 % dip."""
    services = build_services(make_config(tmp_path, db_url))
    try:
        prepare_database(services)
        services.kb.import_lines(DEMO_ARTICLES.read_text(encoding="utf-8").splitlines())
        with QUESTIONS.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        first = top3 = 0
        for row in rows:
            slugs = [r.slug for r in services.kb.search(row["question"], limit=3,
                                                        record_gap=False).results]
            first += slugs[:1] == [row["expected_slug"]]
            top3 += row["expected_slug"] in slugs
        assert len(rows) >= 150
        assert first / len(rows) >= 0.85, f"recall@1 {first / len(rows):.1%}"
        assert top3 / len(rows) >= 0.93, f"recall@3 {top3 / len(rows):.1%}"
    finally:
        services.database.dispose()
