"""The demo articles and the labelled question set are well-formed and agree with the config."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest

from knowledge_base.articles import check_lines
from knowledge_base.render_markdown import markdown_html, markdown_text
from knowledge_base.render_sms import is_gsm7
from settings import load_config

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "knowledge_base" / "demo_articles.jsonl"
QUESTIONS = ROOT / "tests" / "data" / "kb_questions.csv"
FIELDS: dict[str, type | tuple[type, ...]] = {
    "slug": str, "language": str, "title": str, "department": str, "services": list,
    "body": str, "short_answer": str, "key_facts": list, "questions": list, "keywords": list,
    "translation_of": (str, type(None)),
}
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def load_articles() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]


def load_questions() -> list[dict[str, str]]:
    with QUESTIONS.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


ARTICLES = load_articles()
BY_SLUG = {article["slug"]: article for article in ARTICLES}


def numbers(text: str) -> list[str]:
    return sorted(n.replace(",", "") for n in NUMBER.findall(text))


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: a["slug"])
def test_article_has_every_field_with_the_right_type(article: dict[str, Any]) -> None:
    assert set(article) == set(FIELDS)
    for name, kind in FIELDS.items():
        assert isinstance(article[name], kind), name
    for name in ("services", "key_facts", "questions", "keywords"):
        assert article[name] and all(isinstance(x, str) and x.strip() for x in article[name])
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", article["slug"])
    assert article["language"] in ("en", "zh")
    assert all(article[name].strip() for name in ("title", "body", "short_answer"))
    assert len(article["short_answer"]) <= 320
    assert 3 <= len(article["questions"]) <= 6
    minimum = 150 if article["language"] == "zh" else 300  # Chinese says more per character
    assert len(article["body"]) >= minimum, "a few short paragraphs"


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: a["slug"])
def test_key_facts_are_channel_safe(article: dict[str, Any]) -> None:
    for fact in article["key_facts"]:
        assert "\n" not in fact and not re.search(r"https?://|www\.", fact), fact
        if article["language"] == "en":
            assert is_gsm7(fact), f"English key facts stay GSM-7 so SMS stay cheap: {fact!r}"


def test_slugs_are_unique_and_every_department_and_service_exists() -> None:
    slugs = [article["slug"] for article in ARTICLES]
    assert len(slugs) == len(set(slugs))
    config = load_config(env={})
    for article in ARTICLES:
        department = config.department(article["department"])
        assert department is not None, article["slug"]
        codes = {service.code for service in department.services}
        assert set(article["services"]) <= codes, (article["slug"], article["services"])


def test_at_least_forty_english_articles_each_with_a_chinese_translation() -> None:
    english = [a for a in ARTICLES if a["language"] == "en"]
    assert len(english) >= 40
    assert all(a["translation_of"] is None for a in english)
    translations = {a["translation_of"]: a for a in ARTICLES if a["language"] == "zh"}
    assert all(a["translation_of"] is not None for a in ARTICLES if a["language"] == "zh")
    for article in english:
        chinese = translations.get(article["slug"])
        assert chinese is not None, f"{article['slug']} has no Chinese translation"
        assert chinese["slug"] == article["slug"] + "-zh"
        assert (chinese["department"], chinese["services"]) == (article["department"],
                                                                article["services"])
        assert re.search(r"[\u4e00-\u9fff]", chinese["title"] + chinese["short_answer"])
        assert len(chinese["key_facts"]) == len(article["key_facts"])
        for en_fact, zh_fact in zip(article["key_facts"], chinese["key_facts"], strict=True):
            assert numbers(en_fact) == numbers(zh_fact), (en_fact, zh_fact)


def test_the_numbers_helper_can_tell_facts_apart() -> None:
    assert numbers("Fee: £25 for up to 3 items") == numbers("费用：最多3件£25")
    assert numbers("Phone: 0161 496 0123") != numbers("电话：0161 496 0124")
    assert numbers("Grant: up to £30,000") == ["30000"]


def test_labelled_questions_cover_the_articles() -> None:
    rows = load_questions()
    assert len(rows) >= 150
    assert set(rows[0]) == {"question", "language", "expected_slug"}
    for row in rows:
        article = BY_SLUG.get(row["expected_slug"])
        assert article is not None, row
        assert row["language"] == article["language"], row
        assert row["question"].strip() and row["question"] not in article["questions"], row
    languages = {row["language"] for row in rows}
    assert languages == {"en", "zh"}
    assert sum(row["language"] == "zh" for row in rows) >= 50
    assert {row["expected_slug"] for row in rows} == set(BY_SLUG), "every article is asked for"


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: a["slug"])
def test_body_markdown_renders_without_stray_markup(article: dict[str, Any]) -> None:
    # CommonMark will not close "**粗体：**正文" (punctuation before the closing run), so a
    # Chinese body could show raw asterisks; the plain text and HTML forms must have none.
    html_text = markdown_html(article["body"])
    plain = markdown_text(article["body"])
    assert "**" not in html_text and "**" not in plain and "##" not in plain


def test_demo_file_passes_the_import_checks() -> None:
    config = load_config(env={})
    catalogue = {d.id: [s.code for s in d.services] for d in config.departments}
    lines = DEMO.read_text(encoding="utf-8").splitlines()
    articles, errors = check_lines(lines, catalogue, {})
    assert errors == [] and len(articles) == len(ARTICLES)
