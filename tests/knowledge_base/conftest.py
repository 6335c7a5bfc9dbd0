"""Knowledge-base fixtures: a small bilingual set of articles imported through the real import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from caseboard.services import Services
from knowledge_base.service import KnowledgeBase

ARTICLES = Path(__file__).resolve().parent / "articles.jsonl"


def article_lines() -> list[str]:
    return ARTICLES.read_text(encoding="utf-8").splitlines()


def article(name: str, language: str = "en", **changes: Any) -> dict[str, Any]:
    """One fixture article as a dict, with some fields changed."""
    for line in article_lines():
        data = json.loads(line)
        if (data["slug"], data["language"]) == (name, language):
            return {**data, **changes}
    raise KeyError(name)


@pytest.fixture
def kb(services: Services) -> KnowledgeBase:
    services.kb.import_lines(article_lines())
    return services.kb
