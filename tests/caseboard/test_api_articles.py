"""GET /api/v1/articles on both databases: the articles the public sees today, for any token."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from caseboard.services import Services
from knowledge_base.models import KbGap
from knowledge_base.service import DEMO_ARTICLES

Headers = Callable[[str], dict[str, str]]
DEMO = [json.loads(line) for line in DEMO_ARTICLES.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def kb(services: Services) -> Services:
    services.kb.load_demo()
    # A draft the public must not see, and an article whose only version has expired.
    services.kb.create_draft({"slug": "secret-draft", "language": "en", "title": "Not yet",
                              "department": "registry", "services": [],
                              "body": "Unpublished plans.", "short_answer": "Not yet.",
                              "key_facts": ["Nothing yet"]},
                             "carol")
    expired = {**DEMO[0], "slug": "old-fees", "translation_of": None,
               "title": "Old birth certificate fees",
               "valid_until": (dt.date.today() - dt.timedelta(days=1)).isoformat()}
    services.kb.import_lines([json.dumps(expired)])
    return services


def test_lists_the_published_articles_for_any_token(client: FlaskClient, token_for: Headers,
                                                    kb: Services) -> None:
    assert client.get("/api/v1/articles").status_code == 401
    listing = client.get("/api/v1/articles", headers=token_for("intake"))
    assert listing.status_code == 200, listing.json
    assert listing.json["total"] == len(DEMO) == 90 and listing.json["page_size"] == 50
    assert len(listing.json["articles"]) == 50
    rest = client.get("/api/v1/articles?page=2", headers=token_for("agent")).json
    slugs = {(a["slug"], a["language"]) for a in listing.json["articles"] + rest["articles"]}
    assert slugs == {(a["slug"], a["language"]) for a in DEMO}  # no draft, nothing expired
    first = listing.json["articles"][0]
    assert set(first) == {"slug", "language", "title", "department", "services", "version",
                          "short_answer", "published_at"}
    assert first["version"] == 1


def test_filters_by_language_and_department(client: FlaskClient, token_for: Headers,
                                            kb: Services) -> None:
    headers = token_for("supervisor")
    zh = client.get("/api/v1/articles?language=zh&department=registry", headers=headers).json
    assert zh["total"] == 5
    assert {a["language"] for a in zh["articles"]} == {"zh"}
    assert {a["department"] for a in zh["articles"]} == {"registry"}
    roads = client.get("/api/v1/articles?department=roads", headers=headers).json
    assert roads["total"] == 10


def test_q_searches_the_knowledge_base(client: FlaskClient, token_for: Headers,
                                       kb: Services) -> None:
    headers = token_for("intake")
    found = client.get("/api/v1/articles?q=how do I register my baby's birth&language=en",
                       headers=headers).json
    assert found["articles"][0]["slug"] == "register-a-birth"
    scores = [a["score"] for a in found["articles"]]
    assert scores == sorted(scores, reverse=True) and found["total"] == len(scores)
    nothing = client.get("/api/v1/articles?q=zzqx wibble frobnicate", headers=headers).json
    assert nothing["articles"] == [] and nothing["total"] == 0
    with kb.database.read() as session:  # a read through the API records no knowledge gap
        assert session.execute(sa.select(sa.func.count()).select_from(KbGap)).scalar_one() == 0


def test_one_article_in_full(client: FlaskClient, token_for: Headers, kb: Services) -> None:
    headers = token_for("intake")
    article = client.get("/api/v1/articles/register-a-birth", headers=headers)
    assert article.status_code == 200, article.json
    birth = next(a for a in DEMO if a["slug"] == "register-a-birth")
    assert article.json["body"] == birth["body"]
    assert article.json["key_facts"] == birth["key_facts"]
    assert article.json["translations"] == {"zh": "register-a-birth-zh"}
    chinese = client.get("/api/v1/articles/register-a-birth-zh?language=zh", headers=headers)
    assert chinese.json["language"] == "zh" and chinese.json["translations"]["en"]
    for slug in ("secret-draft", "old-fees", "no-such-article"):
        missing = client.get(f"/api/v1/articles/{slug}", headers=headers)
        assert missing.status_code == 404 and slug in missing.json["message"]
    wrong = client.get("/api/v1/articles/register-a-birth?language=zh", headers=headers)
    assert wrong.status_code == 404


@pytest.mark.parametrize("query, message", [
    ("language=fr", "language must be one of en, zh"),
    ("department=nowhere", "unknown department"),
    ("colour=red", "unknown parameter"),
    ("page=0", "page must be a whole number"),
    ("page=99999999999999999999", "page must be a whole number"),
    ("q=bins&page=2", "page cannot be used with q"),
    ("q=" + "bins " * 500, "q: the question is too long"),
])
def test_bad_article_queries_get_400(client: FlaskClient, token_for: Headers, query: str,
                                     message: str) -> None:
    response = client.get(f"/api/v1/articles?{query}", headers=token_for("intake"))
    assert response.status_code == 400 and message in response.json["message"]
