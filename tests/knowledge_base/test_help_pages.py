"""The /help pages a citizen uses: search, read, switch language, say whether it helped."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

from flask.testing import FlaskClient

from knowledge_base.service import KnowledgeBase
from tests.knowledge_base.conftest import article


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def _elements(page: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Every element a browser would build from the page, with its attributes."""
    parser = _Elements()
    parser.feed(page)
    return parser.found


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the feedback form carries a CSRF token"
    return found.group(1)


def test_search_shows_answers_with_links(kb: KnowledgeBase, client: FlaskClient) -> None:
    page = client.get("/help?q=how+do+i+get+rid+of+an+old+so+far")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'href="/help/en/bulky-waste"' in text
    assert "Book a bulky waste collection online" in text
    empty = client.get("/help?q=+++").get_data(as_text=True)
    assert "Please type a question." in empty
    huge = client.get("/help", query_string={"q": "sofa " * 10_000})
    assert huge.status_code == 200 and "too long" in huge.get_data(as_text=True)


def test_no_answer_says_so_and_is_recorded(kb: KnowledgeBase, client: FlaskClient) -> None:
    text = client.get("/help?q=capital+of+France").get_data(as_text=True)
    assert "We have no good answer to that yet" in text
    assert [g.question for g in kb.gaps()] == ["capital of france"]


def test_chinese_pages_and_the_language_switch(kb: KnowledgeBase, client: FlaskClient) -> None:
    results = client.get("/help", query_string={"q": "旧沙发怎么处理", "lang": "zh"})
    text = results.get_data(as_text=True)
    assert 'href="/help/zh/bulky-waste"' in text and "请输入您的问题" in text
    typed_on_english_page = client.get("/help", query_string={"q": "旧沙发怎么处理"})
    assert 'href="/help/zh/bulky-waste"' in typed_on_english_page.get_data(as_text=True)
    page = client.get("/help/zh/bulky-waste").get_data(as_text=True)
    assert "大件垃圾清运" in page and "最多5件收费35英镑" in page
    assert 'href="/help/en/bulky-waste"' in page  # the English version of the same article
    assert client.get("/help/fr/bulky-waste").status_code == 404
    assert client.get("/help/en/no-such-article").status_code == 404


def test_article_bodies_cannot_run_scripts(kb: KnowledgeBase, client: FlaskClient) -> None:
    hostile = ("Hello <script>alert(1)</script> and <img src=x onerror=alert(2)> and "
               "[click](javascript:alert(3)) and <a href=\"javascript:alert(4)\">x</a>")
    kb.import_lines([json.dumps(article("missed-bin", body=hostile,
                                        title="<b>Missed</b> bins"))])
    page = client.get("/help/en/missed-bin").get_data(as_text=True)
    elements = _elements(page)
    assert "script" not in {tag for tag, _ in elements}
    attributes = [(name, value or "") for _, attrs in elements for name, value in attrs]
    assert not [name for name, _ in attributes if name.startswith("on")]
    assert not [v for _, v in attributes if v.strip().lower().startswith("javascript:")]
    assert "Hello" in page and "&lt;b&gt;Missed&lt;/b&gt; bins" in page  # shown as text


def test_feedback_is_counted_per_article_and_needs_the_csrf_token(
        kb: KnowledgeBase, client: FlaskClient) -> None:
    page = client.get("/help/en/bulky-waste").get_data(as_text=True)
    token = _csrf(page)
    answer = client.post("/help/en/bulky-waste/feedback",
                         data={"csrf_token": token, "helpful": "yes"})
    assert answer.status_code == 303 and answer.location.endswith("?thanks=1")
    client.post("/help/en/bulky-waste/feedback", data={"csrf_token": token, "helpful": "no"})
    client.post("/help/en/bulky-waste/feedback", data={"csrf_token": token, "helpful": "yes"})
    forged = client.post("/help/en/bulky-waste/feedback",
                         data={"csrf_token": "forged", "helpful": "yes"})
    assert forged.status_code == 400
    stranger = client.application.test_client()  # another browser, without the session
    assert stranger.post("/help/en/bulky-waste/feedback",
                         data={"csrf_token": token, "helpful": "yes"}).status_code == 400
    found = kb.published("bulky-waste", "en")
    assert found is not None and found.article.id is not None
    assert kb.feedback(found.article.id) == (2, 1)
    thanks = client.get(answer.location).get_data(as_text=True)
    assert "Thank you for your feedback." in thanks


def test_chinese_page_says_everything_in_chinese(kb: KnowledgeBase, client: FlaskClient) -> None:
    long = client.get("/help", query_string={"lang": "zh", "q": "树" * 2001})
    text = long.get_data(as_text=True)
    assert long.status_code == 200
    assert "您的问题太长（2001个字符，最多2000个字符）" in text and "too long" not in text
    empty = client.get("/help", query_string={"lang": "zh", "q": "  "}).get_data(as_text=True)
    assert "请输入问题。" in empty
    unknown = client.get("/help", query_string={"lang": "zh", "q": "法国的首都"})
    assert "我们暂时没有合适的答案" in unknown.get_data(as_text=True)
    english = client.get("/help", query_string={"q": "tree " * 500}).get_data(as_text=True)
    assert "Your question is too long (2499 characters; at most 2000)" in english


def test_error_pages_speak_the_page_language(kb: KnowledgeBase, client: FlaskClient) -> None:
    missing = client.get("/help/zh/no-such-article")
    assert missing.status_code == 404
    assert "找不到该页面" in missing.get_data(as_text=True)
    assert 'lang="zh-Hans"' in missing.get_data(as_text=True)
    assert "Not Found" not in missing.get_data(as_text=True)
    assert "We could not find that page" in client.get("/help/en/no-such").get_data(as_text=True)
    token = _csrf(client.get("/help/zh/bulky-waste").get_data(as_text=True))
    no_answer = client.post("/help/zh/bulky-waste/feedback", data={"csrf_token": token})
    assert no_answer.status_code == 400
    assert "请选择“有帮助”或“没有帮助”" in no_answer.get_data(as_text=True)
    forged = client.post("/help/zh/bulky-waste/feedback",
                         data={"csrf_token": "forged", "helpful": "yes"})
    assert forged.status_code == 400
    assert "无法处理该请求" in forged.get_data(as_text=True)
