"""kb import and export: a file is checked whole, reported line by line, imported all or nothing."""

from __future__ import annotations

import json

import pytest

from caseboard.services import Services
from knowledge_base.articles import ImportFailed
from knowledge_base.service import KnowledgeBase
from tests.knowledge_base.conftest import article, article_lines


def test_import_publishes_every_article_as_version_one(services: Services) -> None:
    counts = services.kb.import_lines(article_lines())
    assert counts == {"created": 10, "updated": 0, "unchanged": 0}
    found = services.kb.published("bulky-waste", "en")
    assert found is not None
    assert found.version.number == 1 and found.version.approved_by == "import"
    assert "£35 for up to 5 items" in found.version.key_facts
    assert found.translations == {"zh": "bulky-waste"}
    chinese = services.kb.published("bulky-waste", "zh")
    assert chinese is not None and chinese.translations == {"en": "bulky-waste"}


def test_a_file_with_errors_imports_nothing_and_names_every_bad_line(
        services: Services) -> None:
    good = json.dumps(article("missed-bin"))
    lines = [
        good,
        json.dumps({k: v for k, v in article("report-pothole").items() if k != "title"}),
        good,  # the same slug and language again
        json.dumps(article("parking-permit", department="atlantis")),
        json.dumps(article("noise-complaint", key_facts="loud")),
        "{not json",
        json.dumps(article("bulky-waste", "zh", slug="sofa-zh", translation_of="no-such")),
        json.dumps(article("bulky-waste", short_answer="x" * 321)),
        json.dumps(article("report-pothole", "zh", services=["snow-ice", "teleport"])),
    ]
    with pytest.raises(ImportFailed) as failed:
        services.kb.import_lines(lines)
    errors = failed.value.errors
    assert any(e.startswith("line 2:") and "missing field(s): title" in e for e in errors)
    assert any(e.startswith("line 3:") and "duplicate slug 'missed-bin'" in e
               and "line 1" in e for e in errors)
    assert any(e.startswith("line 4:") and "unknown department 'atlantis'" in e for e in errors)
    assert any(e.startswith("line 5:") and "key_facts must be a list of strings" in e
               for e in errors)
    assert any(e.startswith("line 6:") and "not valid JSON" in e for e in errors)
    assert any(e.startswith("line 7:") and "translation_of 'no-such'" in e for e in errors)
    assert any(e.startswith("line 8:") and "short_answer is longer than 320" in e
               for e in errors)
    assert any(e.startswith("line 9:") and "teleport" in e for e in errors)
    assert not any(e.startswith("line 1:") for e in errors)
    assert services.kb.published("missed-bin", "en") is None  # nothing was written
    assert list(services.kb.export_lines()) == []


def test_importing_again_adds_versions_only_for_changed_articles(kb: KnowledgeBase) -> None:
    changed = article("bulky-waste", short_answer="Book online: up to 5 items for £40.",
                      key_facts=["£40 for up to 5 items", "Phone 020 7946 0000"])
    lines = [changed if json.loads(line)["slug"] == "bulky-waste"
             and json.loads(line)["language"] == "en" else json.loads(line)
             for line in article_lines()]
    counts = kb.import_lines([json.dumps(line, ensure_ascii=False) for line in lines])
    assert counts == {"created": 0, "updated": 1, "unchanged": 9}
    versions = kb.versions("bulky-waste", "en")
    assert [v.number for v in versions] == [1, 2]
    assert "£35 for up to 5 items" in versions[0].key_facts  # the old version is kept as it was
    current = kb.published("bulky-waste", "en")
    assert current is not None and current.version.key_facts[0] == "£40 for up to 5 items"


def test_export_writes_the_import_format_and_round_trips(kb: KnowledgeBase) -> None:
    exported = list(kb.export_lines())
    assert len(exported) == 10
    first = json.loads(exported[0])
    assert set(first) == {"slug", "language", "title", "department", "services", "body",
                          "short_answer", "key_facts", "questions", "keywords",
                          "translation_of"}
    chinese = [json.loads(line) for line in exported if json.loads(line)["language"] == "zh"]
    assert all(line["translation_of"] == line["slug"] for line in chinese)
    assert kb.import_lines(exported) == {"created": 0, "updated": 0, "unchanged": 10}


def test_an_empty_file_is_an_error(services: Services) -> None:
    with pytest.raises(ImportFailed) as failed:
        services.kb.import_lines(["", "   "])
    assert failed.value.errors == ["the file holds no articles"]
