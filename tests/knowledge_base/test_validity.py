"""A version outside its validity dates is never given to the public, on any channel.

The help page, search and the channels' answers (replies, chat, voice: all through
KnowledgeBase.published) fall back to the newest version that is valid today, or show nothing.
"""

from __future__ import annotations

import json

from flask.testing import FlaskClient

from caseboard.replies import article_text
from knowledge_base.service import KnowledgeBase
from tests.knowledge_base.conftest import article

OLD_ANSWER = "Book a bulky waste collection online"
EXPIRED_ANSWER = "Bulky waste is now collected free of charge every Monday."


def _publish(kb: KnowledgeBase, **changes: str) -> None:
    kb.import_lines([json.dumps(article("bulky-waste", **changes), ensure_ascii=False)])


def test_an_expired_newest_version_falls_back_to_the_valid_one(
        kb: KnowledgeBase, client: FlaskClient) -> None:
    _publish(kb, short_answer=EXPIRED_ANSWER, valid_until="2020-01-01")
    assert [v.number for v in kb.versions("bulky-waste", "en")] == [1, 2]

    page = client.get("/help/en/bulky-waste").get_data(as_text=True)
    assert OLD_ANSWER in page and EXPIRED_ANSWER not in page
    assert "Version 1" in page

    found = kb.published("bulky-waste", "en")
    assert found is not None and found.version.number == 1
    # The text an email, SMS or letter reply is rendered from, and its recorded version.
    reply = article_text(kb, "bulky-waste:en", "https://example.org")
    assert reply is not None and reply.version == 1 and OLD_ANSWER in reply.short_answer
    # Search offers the same version the page shows.
    best = kb.search("old sofa", language="en", record_gap=False).results[0]
    assert (best.slug, best.version) == ("bulky-waste", 1)
    assert EXPIRED_ANSWER not in best.short_answer


def test_a_version_not_valid_yet_waits_and_the_current_one_stays(
        kb: KnowledgeBase, client: FlaskClient) -> None:
    _publish(kb, short_answer=EXPIRED_ANSWER, valid_from="2999-01-01")
    page = client.get("/help/en/bulky-waste").get_data(as_text=True)
    assert OLD_ANSWER in page and EXPIRED_ANSWER not in page
    found = kb.published("bulky-waste", "en")
    assert found is not None and found.version.number == 1


def test_a_newer_valid_version_replaces_an_older_one(kb: KnowledgeBase,
                                                      client: FlaskClient) -> None:
    _publish(kb, short_answer=EXPIRED_ANSWER, valid_from="2020-01-01", valid_until="2999-12-31")
    page = client.get("/help/en/bulky-waste").get_data(as_text=True)
    assert EXPIRED_ANSWER in page and "Version 2" in page


def test_with_no_valid_version_the_article_is_not_shown_anywhere(
        kb: KnowledgeBase, client: FlaskClient) -> None:
    # A scheme that ended: its only English version expired; the Chinese one was left valid.
    kb.import_lines([
        json.dumps(article("bulky-waste", slug="sofa-amnesty", valid_until="2020-01-01",
                           title="Sofa amnesty", translation_of=None)),
        json.dumps(article("bulky-waste", "zh", slug="sofa-amnesty", title="沙发回收活动",
                           translation_of="sofa-amnesty"), ensure_ascii=False)])
    assert kb.published("sofa-amnesty", "en") is None
    assert client.get("/help/en/sofa-amnesty").status_code == 404
    results = kb.search("sofa amnesty", language="en", record_gap=False).results
    assert all(r.slug != "sofa-amnesty" for r in results)
    # The Chinese page is shown, without a link to an English page that cannot be opened.
    chinese = client.get("/help/zh/sofa-amnesty")
    assert chinese.status_code == 200 and "沙发回收活动" in chinese.get_data(as_text=True)
    assert 'href="/help/en/sofa-amnesty"' not in chinese.get_data(as_text=True)
