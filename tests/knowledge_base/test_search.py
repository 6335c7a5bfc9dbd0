"""Search finds the right article the way citizens ask, and notes what it cannot answer."""

from __future__ import annotations

import json

import pytest

from caseboard.services import Services, build_services
from knowledge_base.articles import ImportFailed, KbError
from knowledge_base.service import KnowledgeBase
from settings import Config
from tests.knowledge_base.conftest import article

ASKED = [
    ("How can I get rid of an old sofa?", "en", "bulky-waste"),
    ("how do i get rid of an old so far", "en", "bulky-waste"),  # speech transcript
    ("colection of my matress", "en", "bulky-waste"),  # typos
    ("my bin wasnt colected on tuesday", "en", "missed-bin"),
    ("There is a pot hole in the road outside number 5", "en", "report-pothole"),
    ("HOW MUCH IS A PARKNG PERMIT", "en", "parking-permit"),
    ("Re: the dog next door keeps barkinq all night", "en", "noise-complaint"),  # OCR noise
    ("I wish to rnake a nolse cornplaint about rny neighbours", "en", "noise-complaint"),
    ("旧沙发怎么处理", "zh", "bulky-waste"),
    ("我家楼下路上有个大坑", "zh", "report-pothole"),
    ("停车证一年多少钱", "zh", "parking-permit"),
]


@pytest.mark.parametrize("question, language, slug", ASKED)
def test_finds_the_article_for_how_citizens_ask(kb: KnowledgeBase, question: str,
                                                language: str, slug: str) -> None:
    outcome = kb.search(question)
    assert not outcome.gap
    best = outcome.results[0]
    assert (best.slug, best.language) == (slug, language)
    assert 0 < best.score <= 1
    assert [r.score for r in outcome.results] == sorted((r.score for r in outcome.results),
                                                        reverse=True)


def test_filters_by_language_and_department(kb: KnowledgeBase) -> None:
    chinese = kb.search("sofa 沙发", language="zh").results
    assert chinese and {r.language for r in chinese} == {"zh"}
    roads = kb.search("collection of my old sofa", department="roads", record_gap=False)
    assert all(r.department == "roads" for r in roads.results)


def test_no_good_answer_is_a_gap_counted_and_ranked_for_admins(kb: KnowledgeBase) -> None:
    for _ in range(3):
        assert kb.search("What is the capital of France?").gap
    outcome = kb.search("When does the swimming pool open?")
    assert outcome.gap and outcome.results == []
    assert not kb.search("old sofa").gap
    gaps = kb.gaps()
    assert [(g.question, g.count) for g in gaps] == [
        ("what is the capital of france?", 3), ("when does the swimming pool open?", 1)]
    assert gaps[0].language == "en" and gaps[0].last_seen >= gaps[0].first_seen


def test_empty_and_huge_questions_get_a_clear_error_and_record_nothing(
        kb: KnowledgeBase) -> None:
    with pytest.raises(KbError, match="empty"):
        kb.search("   \n ")
    with pytest.raises(KbError, match="too long"):
        kb.search("sofa " * 10_000)  # 50 kB
    assert kb.gaps() == []


def test_suggests_the_top_three_articles_for_a_case(kb: KnowledgeBase) -> None:
    letter = ("Dear Sir or Madam, I am writing because our bins were not collected on "
              "Tuesday and now there is rubbish everywhere. " * 200)  # a long letter
    suggestions = kb.suggest_for_case(letter, language="en", department="waste")
    assert 1 <= len(suggestions) <= 3
    assert suggestions[0].slug == "missed-bin" and suggestions[0].version == 1
    assert kb.suggest_for_case("", "en", "waste") == []
    assert kb.gaps() == []  # suggestions for agents do not count as citizens' gaps


def test_another_process_sees_a_published_change_at_the_next_search(
        kb: KnowledgeBase, config: Config, services: Services) -> None:
    other = build_services(config)  # another web node on the same database
    try:
        before = other.kb.search("hedge cuttings in a green bin", record_gap=False).results
        assert all(r.slug != "garden-waste" for r in before)
        kb.import_lines([json.dumps(article(
            "bulky-waste", slug="garden-waste", title="Garden waste collection",
            questions=["Can you take my hedge cuttings?"], keywords=["green bin"],
            translation_of=None), ensure_ascii=False)])
        found = other.kb.search("hedge cuttings in a green bin").results
        assert found[0].slug == "garden-waste"
    finally:
        other.database.dispose()


def test_an_article_outside_its_validity_dates_is_not_offered(kb: KnowledgeBase) -> None:
    expired = article("parking-permit", valid_until="2020-12-31")
    future = article("noise-complaint", valid_from="2999-01-01")
    kb.import_lines([json.dumps(expired), json.dumps(future)])
    # Version 2 of each is out of its dates: search offers version 1 (valid today) instead.
    found = kb.search("resident parking permit", language="en", record_gap=False).results
    assert [r.version for r in found if r.slug == "parking-permit"] == [1]
    found = kb.search("barking dog", language="en", record_gap=False).results
    assert [r.version for r in found if r.slug == "noise-complaint"] == [1]
    only_expired = article("parking-permit", slug="visitor-voucher", valid_until="2020-12-31",
                           title="Visitor parking vouchers", translation_of=None)
    kb.import_lines([json.dumps(only_expired)])
    assert all(r.slug != "visitor-voucher" for r in kb.search(
        "resident parking permit", record_gap=False).results)
    bad = article("missed-bin", valid_from="soon")
    with pytest.raises(ImportFailed) as failed:
        kb.import_lines([json.dumps(bad)])
    assert failed.value.errors == [
        "line 1: valid_from must be an ISO date like 2026-01-31 or null"]


def test_a_large_index_is_rebuilt_in_the_background(kb: KnowledgeBase) -> None:
    kb.background_from = 1  # as if the knowledge base held thousands of articles
    assert kb.search("old sofa").results[0].slug == "bulky-waste"
    kb.import_lines([json.dumps(article(
        "bulky-waste", slug="garden-waste", title="Garden waste collection",
        questions=["Can you take my hedge cuttings?"], keywords=["green bin"],
        translation_of=None), ensure_ascii=False)])
    kb.search("hedge cuttings", record_gap=False)  # answered at once, from the old index
    kb.wait_for_index(timeout=60)
    assert kb.search("hedge cuttings").results[0].slug == "garden-waste"
