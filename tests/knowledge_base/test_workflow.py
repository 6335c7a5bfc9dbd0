"""Editorial workflow: drafts are reviewed, only supervisors and admins publish, versions stay."""

from __future__ import annotations

import pytest

from knowledge_base.articles import KbError
from knowledge_base.service import KnowledgeBase
from knowledge_base.workflow import WorkflowError
from tests.knowledge_base.conftest import article


def _new_article() -> dict[str, object]:
    return article("bulky-waste", slug="garden-waste", title="Garden waste collection",
                   short_answer="Garden waste bins are emptied every two weeks for £60 a year.",
                   key_facts=["£60 a year", "Every two weeks"],
                   questions=["When is my garden waste bin emptied?"],
                   keywords=["garden waste", "green bin", "hedge cuttings"],
                   body="Subscribe to the **green bin** service.", translation_of=None,
                   services=["bins"])


def test_a_draft_is_reviewed_then_published_by_a_supervisor(kb: KnowledgeBase) -> None:
    kb.create_draft(_new_article(), actor="alice")
    assert kb.published("garden-waste", "en") is None
    not_yet = kb.search("green bin for hedge cuttings", record_gap=False).results
    assert all(r.slug != "garden-waste" for r in not_yet)  # not public yet
    assert kb.act("garden-waste", "en", "submit", "alice", "agent") == "in_review"
    with pytest.raises(WorkflowError, match="only a supervisor or admin may publish"):
        kb.act("garden-waste", "en", "publish", "alice", "agent")
    assert kb.act("garden-waste", "en", "publish", "bob", "supervisor") == "published"
    found = kb.published("garden-waste", "en")
    assert found is not None
    assert (found.version.number, found.version.approved_by, found.version.edited_by) == \
        (1, "bob", "alice")
    hits = kb.search("green bin for hedge cuttings").results
    assert hits[0].slug == "garden-waste"


def test_editing_a_published_article_keeps_the_published_version_until_approval(
        kb: KnowledgeBase) -> None:
    kb.edit("bulky-waste", "en", {"short_answer": "Up to 5 items for £40.",
                                  "key_facts": ["£40 for up to 5 items"]}, actor="alice")
    assert kb.article("bulky-waste", "en").status == "draft"
    live = kb.published("bulky-waste", "en")
    assert live is not None and live.version.number == 1
    assert "£35 for up to 5 items" in live.version.key_facts  # citizens still see version 1
    kb.act("bulky-waste", "en", "submit", "alice", "agent")
    kb.act("bulky-waste", "en", "publish", "carol", "admin")
    versions = kb.versions("bulky-waste", "en")
    assert [(v.number, v.key_facts[0]) for v in versions] == [
        (1, "£35 for up to 5 items"), (2, "£40 for up to 5 items")]
    live = kb.published("bulky-waste", "en")
    assert live is not None and live.version.number == 2


def test_illegal_steps_are_refused_naming_what_is_allowed(kb: KnowledgeBase) -> None:
    with pytest.raises(WorkflowError, match="it is published; allowed: archive"):
        kb.act("bulky-waste", "en", "publish", "bob", "supervisor")
    with pytest.raises(WorkflowError, match="only a supervisor or admin may archive"):
        kb.act("bulky-waste", "en", "archive", "alice", "agent")
    with pytest.raises(KbError, match="short_answer is longer than 320"):
        kb.edit("bulky-waste", "en", {"short_answer": "x" * 400}, actor="alice")
    with pytest.raises(KbError, match="already exists"):
        kb.create_draft(article("bulky-waste"), actor="alice")


def test_an_archived_article_leaves_search_and_the_help_pages(kb: KnowledgeBase) -> None:
    assert kb.search("old sofa").results[0].slug == "bulky-waste"
    kb.act("bulky-waste", "en", "archive", "bob", "supervisor")
    assert kb.published("bulky-waste", "en") is None
    english = kb.search("old sofa", language="en", record_gap=False)
    assert all(r.slug != "bulky-waste" for r in english.results)
    with pytest.raises(WorkflowError, match="archived"):
        kb.edit("bulky-waste", "en", {"title": "Sofas"}, actor="alice")
