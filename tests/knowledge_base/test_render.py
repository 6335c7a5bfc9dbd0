"""One answer, every channel: invariant 4 ("same question, same answer") for the renderers."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from pathlib import Path

import pytest

from knowledge_base.render import (
    CHANNEL_RENDERERS,
    ArticleText,
    Rendering,
    ReplyContext,
    count_sms,
    render,
    spoken,
)

DEMO = Path(__file__).resolve().parents[2] / "knowledge_base" / "demo_articles.jsonl"
REFERENCE = "CC-2026-000123"
URL_PATTERN = re.compile(r"https?://|www\.|\b[\w-]+\.(?:uk|com|org|net)\b")
MARKUP_PATTERN = re.compile(r"[<>*#_`\[\]]|\]\(")


def demo_articles() -> list[ArticleText]:
    articles = []
    for line in DEMO.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        articles.append(ArticleText(
            slug=data["slug"], version=1, language=data["language"], title=data["title"],
            short_answer=data["short_answer"], body_markdown=data["body"],
            key_facts=tuple(data["key_facts"]),
            url=f"https://www.example.gov.uk/help/{data['language']}/{data['slug']}",
        ))
    return articles


ARTICLES = demo_articles()
CONTEXTS = {
    "en": ReplyContext(reference=REFERENCE, citizen_name="Ms Priya Shah",
                       agent_text="Thank you for calling today. Here is what you need to know.",
                       agent_name="Alice Agent"),
    "zh": ReplyContext(reference=REFERENCE, citizen_name="陈女士",
                       agent_text="感谢您的来电，以下是相关信息。", agent_name="Alice Agent",
                       language="zh"),
}
WRITTEN_CHANNELS = ("sms", "whatsapp", "chat", "webchat", "email", "letter")


def article(slug: str) -> ArticleText:
    return next(a for a in ARTICLES if a.slug == slug)


def sample(**changes: object) -> ArticleText:
    return dataclasses.replace(article("bulky-waste-collection"), **changes)  # type: ignore[arg-type]


# ---------------------------------------------------------------- every key fact, everywhere


@pytest.mark.parametrize("item", ARTICLES, ids=lambda a: a.slug)
def test_every_rendering_contains_every_key_fact(item: ArticleText) -> None:
    context = CONTEXTS[item.language]
    for channel in WRITTEN_CHANNELS:
        rendering = render(channel, item, context)
        assert (rendering.article_slug, rendering.article_version) == (item.slug, 1)
        assert rendering.channel == channel
        for fact in item.key_facts:
            assert fact in rendering.text, f"{channel} rendering of {item.slug} lacks {fact!r}"
            if rendering.html is not None:
                assert html.escape(fact) in rendering.html, (channel, fact)
    for channel in ("voice", "phone"):
        rendering = render(channel, item, context)
        for fact in item.key_facts:
            assert spoken(fact, item.language) in rendering.text, (channel, item.slug, fact)


@pytest.mark.parametrize("item", ARTICLES, ids=lambda a: a.slug)
def test_voice_has_no_url_or_markup(item: ArticleText) -> None:
    text = render("voice", item, CONTEXTS[item.language]).text
    assert not URL_PATTERN.search(text), text
    assert not MARKUP_PATTERN.search(text), text
    assert "£" not in text and "@" not in text
    assert not re.search(r"\d{2}:\d{2}", text), "clock times are written to be spoken"
    assert not re.search(r"\d{4} \d{3} \d{4}", text), "phone numbers are spoken digit by digit"


@pytest.mark.parametrize("item", ARTICLES, ids=lambda a: a.slug)
def test_sms_fits_three_segments_with_reference_and_link(item: ArticleText) -> None:
    rendering = render("sms", item, CONTEXTS[item.language])
    assert rendering.segments is not None and 1 <= rendering.segments <= 3
    assert rendering.encoding == ("UCS-2" if item.language == "zh" else "GSM-7")
    assert count_sms(rendering.text).segments == rendering.segments
    assert REFERENCE in rendering.text and item.url in rendering.text


def test_rendering_is_the_same_for_the_same_inputs() -> None:
    item = article("pay-property-tax")
    for channel in CHANNEL_RENDERERS:
        assert render(channel, item, CONTEXTS["en"]) == render(channel, item, CONTEXTS["en"])


def test_all_channel_names_are_served() -> None:
    assert {"voice", "phone", "sms", "whatsapp", "chat", "webchat", "email",
            "letter"} <= set(CHANNEL_RENDERERS)
    with pytest.raises(ValueError, match="no renderer for channel 'fax'"):
        render("fax", sample(), CONTEXTS["en"])


# ---------------------------------------------------------------- SMS arithmetic


@pytest.mark.parametrize(("text", "encoding", "units", "segments"), [
    ("", "GSM-7", 0, 1),
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("£@é" + "a" * 157, "GSM-7", 160, 1),  # basic-table characters count one
    ("{" * 80, "GSM-7", 160, 1),  # extension-table characters count two
    ("€" * 81, "GSM-7", 162, 2),
    ("a" + "[" * 80, "GSM-7", 161, 2),
    ("a" * 152 + "{" + "a" * 152, "GSM-7", 306, 3),  # an escape pair never straddles parts
    ("ê", "UCS-2", 1, 1),  # not in GSM-7
    ("中" * 70, "UCS-2", 70, 1),
    ("中" * 71, "UCS-2", 71, 2),
    ("中" * 134, "UCS-2", 134, 2),
    ("中" * 135, "UCS-2", 135, 3),
    ("😀" * 35, "UCS-2", 70, 1),  # outside the BMP: two UTF-16 units
    ("中" * 66 + "😀" + "中" * 66, "UCS-2", 134, 3),  # a surrogate pair is never split
    ("Hello 中", "UCS-2", 7, 1),
])
def test_count_sms(text: str, encoding: str, units: int, segments: int) -> None:
    counted = count_sms(text)
    assert (counted.encoding, counted.units, counted.segments) == (encoding, units, segments)


def test_sms_shortens_agent_text_and_short_answer_but_keeps_every_fact() -> None:
    item = sample()
    context = dataclasses.replace(CONTEXTS["en"], agent_text="We checked your street. " * 40)
    for max_segments in (2, 3, 4):
        rendering = render("sms", item, context, sms_max_segments=max_segments)
        assert rendering.segments is not None and rendering.segments <= max_segments
        assert all(fact in rendering.text for fact in item.key_facts)
        assert "..." in rendering.text
        assert rendering.text.startswith("We checked your street.")
    roomy = render("sms", item, context, sms_max_segments=12)
    assert "..." not in roomy.text and item.short_answer in roomy.text


def test_sms_keeps_gsm7_for_english_with_typographic_quotes() -> None:
    context = dataclasses.replace(CONTEXTS["en"], agent_text="We’ve booked it – see you “soon”…")
    rendering = render("sms", sample(), context)
    assert rendering.encoding == "GSM-7"
    assert "We've booked it - see you \"soon\"..." in rendering.text


def test_sms_switches_to_ucs2_for_a_non_gsm_character() -> None:
    context = dataclasses.replace(CONTEXTS["en"], agent_text="Hi Zoë 👋")
    rendering = render("sms", sample(), context, sms_max_segments=6)
    assert rendering.encoding == "UCS-2"
    assert all(fact in rendering.text for fact in sample().key_facts)


def test_chinese_sms_is_ucs2_and_fits() -> None:
    item = article("bulky-waste-collection-zh")
    context = dataclasses.replace(CONTEXTS["zh"], agent_text="您好，" * 100)
    rendering = render("sms", item, context)
    assert rendering.encoding == "UCS-2" and rendering.segments == 3
    assert all(fact in rendering.text for fact in item.key_facts)
    assert "…" in rendering.text


def test_sms_refuses_when_key_facts_cannot_fit() -> None:
    facts = tuple(f"Fact number {n}: bring document {n} to the office" for n in range(12))
    item = sample(key_facts=facts)
    with pytest.raises(ValueError, match=r"key facts.*need \d+ GSM-7 segments.*maximum of 3"):
        render("sms", item, CONTEXTS["en"])
    with pytest.raises(ValueError, match="at least 1"):
        render("sms", sample(), CONTEXTS["en"], sms_max_segments=0)
    roomy = render("sms", item, CONTEXTS["en"], sms_max_segments=10)
    assert roomy.segments is not None and 6 <= roomy.segments <= 10
    assert all(fact in roomy.text for fact in item.key_facts)


def test_sms_with_exactly_one_segment_of_room() -> None:
    item = sample(key_facts=("Fee: £25",), short_answer="x" * 300)
    rendering = render("sms", item, dataclasses.replace(CONTEXTS["en"], agent_text=""),
                       sms_max_segments=1)
    assert rendering.segments == 1 and count_sms(rendering.text).units <= 160
    assert "Fee: £25" in rendering.text and REFERENCE in rendering.text


# ---------------------------------------------------------------- email, chat, letter


HOSTILE = ReplyContext(reference=REFERENCE, citizen_name="Bob <img src=x onerror=alert(1)>",
                       agent_text="See <script>alert('x')</script> & more", agent_name="Alice")


def test_email_has_subject_text_and_html_parts() -> None:
    item = sample()
    rendering = render("email", item, CONTEXTS["en"])
    assert rendering.subject == f"[{REFERENCE}] {item.title}"
    assert rendering.text.startswith("Dear Ms Priya Shah,")
    assert f"Your reference: {REFERENCE}" in rendering.text
    assert "How to book" in rendering.text and "## How to book" not in rendering.text
    assert rendering.text.rstrip().endswith("Alice Agent\nCity of Example")
    assert rendering.html is not None and "<h2>How to book</h2>" in rendering.html
    assert f'<a href="{item.url}">' in rendering.html
    assert "City of Example" in rendering.html


def test_email_and_chat_escape_citizen_and_agent_text() -> None:
    for channel in ("email", "chat"):
        rendering = render(channel, sample(), HOSTILE)
        assert rendering.html is not None
        assert "<script" not in rendering.html and "<img" not in rendering.html
        assert "&lt;script&gt;" in rendering.html and "&amp; more" in rendering.html
    email = render("email", sample(), HOSTILE)
    assert email.html is not None and "Bob &lt;img src=x onerror=alert(1)&gt;" in email.html


def test_email_sanitises_the_article_body() -> None:
    body = ("Hello <script>alert(1)</script> [click](javascript:alert(2)) "
            "<a href=\"https://x.example\" onclick=\"x()\">x</a>\n\n**Bold** text")
    rendering = render("email", sample(body_markdown=body), CONTEXTS["en"])
    assert rendering.html is not None
    tags = re.findall(r"<[^>]*>", rendering.html)
    assert not [tag for tag in tags if re.search(r"script|javascript:|onclick", tag, re.I)]
    assert "&lt;script&gt;" in rendering.html and "<strong>Bold</strong>" in rendering.html


def test_email_subject_cannot_inject_headers() -> None:
    rendering = render("email", sample(title="Bins\r\nBcc: victim@example.org"), CONTEXTS["en"])
    assert rendering.subject is not None and "\n" not in rendering.subject
    assert "\r" not in rendering.subject


def test_chat_puts_agent_text_first_then_answer_and_link() -> None:
    item = sample()
    rendering = render("webchat", item, CONTEXTS["en"])
    assert rendering.text.startswith(CONTEXTS["en"].agent_text)
    assert rendering.text.index(item.short_answer) < rendering.text.index(item.key_facts[0])
    assert rendering.text.rstrip().endswith(f"Full answer: {item.url}")


def test_letter_is_formal_with_only_the_printed_link() -> None:
    item = sample(body_markdown="Book [online](https://book.example.org/bulky) or by phone.")
    rendering = render("letter", item, CONTEXTS["en"])
    text = rendering.text
    assert text.startswith(f"Your reference: {REFERENCE}\n\nDear Ms Priya Shah,")
    assert "Book online or by phone." in text
    assert "Yours sincerely,\nAlice Agent\nCity of Example" in text
    assert URL_PATTERN.findall(text.replace(item.url, "")) == []
    assert f"You can read the full answer online at: {item.url}" in text
    assert not re.search(r"[*#`]|\]\(", text)
    assert rendering.html is None


def test_letter_without_a_name_is_addressed_to_sir_or_madam() -> None:
    context = dataclasses.replace(CONTEXTS["en"], citizen_name="  ")
    text = render("letter", sample(), context).text
    assert "Dear Sir or Madam," in text and "Yours faithfully," in text


def test_chinese_letter_and_email_use_chinese_forms() -> None:
    item = article("register-a-birth-zh")
    letter = render("letter", item, CONTEXTS["zh"]).text
    assert "尊敬的陈女士：" in letter and "此致" in letter
    assert f"您的受理编号：{REFERENCE}" in letter
    email = render("email", item, CONTEXTS["zh"])
    assert email.subject == f"[{REFERENCE}] {item.title}"
    assert email.html is not None and 'lang="zh"' in email.html


# ---------------------------------------------------------------- speech


@pytest.mark.parametrize(("text", "language", "expected"), [
    ("Fee: £25 for up to 3 items", "en", "Fee: 25 pounds for up to 3 items"),
    ("Visitor permits: £1.50 or 50p", "en", "Visitor permits: 1 pound 50 or 50 pence"),
    ("Phone: 0161 496 0123", "en", "Phone: zero one six one, four nine six, zero one two three"),
    ("Call 020 7946 0018", "en", "Call zero two zero, seven nine four six, zero zero one eight"),
    ("Open 08:00-18:00", "en", "Open 8 a.m. to 6 p.m."),
    ("Mon-Fri 09:30-12:00", "en", "Monday to Friday 9:30 a.m. to 12 noon"),
    ("Due on 2026-03-12", "en", "Due on 12 March 2026"),
    ("Due on 01/04/2026", "en", "Due on 1 April 2026"),
    ("In danger? Call 999", "en", "In danger? Call nine nine nine"),
    ("Discount: 25%", "en", "Discount: 25 percent"),
    ("Insurance of £5 million", "en", "Insurance of 5 million pounds"),
    ("Civic Centre, EX1 1AA", "en", "Civic Centre, E X 1, 1 A A"),
    ("Email contact@example.gov.uk", "en", "Email contact at example dot gov dot uk"),
    ("See **this** [page](https://x.example/a) or https://example.gov.uk/help", "en",
     "See this page or"),
    (f"Your reference is {REFERENCE}", "en",
     "Your reference is C C, two zero two six, zero zero zero one two three"),
    ("费用：£25", "zh", "费用：25英镑"),
    ("每餐£4.50", "zh", "每餐4英镑50便士"),
    ("电话：0161 496 0123", "zh", "电话：零一六一，四九六，零一二三"),
    ("周一至周四08:00-18:00，周五08:00-17:00", "zh",
     "周一至周四上午8点至下午6点，周五上午8点至下午5点"),
    ("周五、周六22:00-03:00", "zh", "周五、周六晚上10点至凌晨3点"),
    ("请拨打999", "zh", "请拨打九九九"),
    ("2026-03-12", "zh", "2026年3月12日"),
    ("单人减免：25%", "zh", "单人减免：百分之25"),
])
def test_spoken(text: str, language: str, expected: str) -> None:
    assert spoken(text, language) == expected


def test_voice_reads_the_reference_and_agent_text_in_chinese() -> None:
    item = article("report-a-pothole-zh")
    text = render("voice", item, CONTEXTS["zh"]).text
    assert text.startswith("感谢您的来电")
    assert "零一六一，四九六，零二零零" in text and "二零二六，零零零一二三" in text
    assert isinstance(render("phone", item, CONTEXTS["zh"]), Rendering)
