"""Plain data shared by the channel renderers, and the fixed phrases of each reply language."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ArticleText:
    """What a renderer needs from one published article version."""

    slug: str
    version: int
    language: str
    title: str
    short_answer: str
    body_markdown: str
    key_facts: tuple[str, ...]
    url: str  # link to the full answer on /help


@dataclass(frozen=True)
class ReplyContext:
    reference: str  # case reference, e.g. CC-2026-000123
    citizen_name: str = ""
    agent_text: str = ""
    agent_name: str = ""
    administration: str = "City of Example"
    language: str = "en"


@dataclass(frozen=True)
class Rendering:
    channel: str
    text: str
    html: str | None = None
    subject: str | None = None
    segments: int | None = None
    encoding: str | None = None  # for SMS: "GSM-7" / "UCS-2"
    article_slug: str = ""
    article_version: int = 0


@dataclass(frozen=True)
class RenderOptions:
    channel: str
    sms_max_segments: int = 3


Renderer = Callable[[ArticleText, ReplyContext, RenderOptions], Rendering]


@dataclass(frozen=True)
class Phrases:
    """The fixed words around an answer, in one reply language."""

    greeting_named: str  # "{name}" is replaced
    greeting_unnamed: str
    letter_greeting_unnamed: str
    your_reference: str
    key_facts: str
    full_answer: str
    full_answer_letter: str
    closing: str
    letter_closing_named: str
    letter_closing_unnamed: str
    voice_facts: str
    voice_reference: str
    sms_reference: str
    sms_link: str
    ellipsis: str
    stop: str
    your_case: str  # the subject of a reply to a case that has none


PHRASES: dict[str, Phrases] = {
    "en": Phrases(
        greeting_named="Dear {name},",
        greeting_unnamed="Hello,",
        letter_greeting_unnamed="Dear Sir or Madam,",
        your_reference="Your reference: {reference}",
        key_facts="Key facts:",
        full_answer="Full answer: {url}",
        full_answer_letter="You can read the full answer online at: {url}",
        closing="Kind regards,",
        letter_closing_named="Yours sincerely,",
        letter_closing_unnamed="Yours faithfully,",
        voice_facts="The key facts are:",
        voice_reference="Your reference is {reference}.",
        sms_reference="Ref {reference}",
        sms_link="Full answer: {url}",
        ellipsis="...",
        stop=".",
        your_case="Your case",
    ),
    "zh": Phrases(
        greeting_named="尊敬的{name}：",
        greeting_unnamed="您好：",
        letter_greeting_unnamed="尊敬的市民：",
        your_reference="您的受理编号：{reference}",
        key_facts="要点：",
        full_answer="完整答复：{url}",
        full_answer_letter="完整答复可在网上阅读：{url}",
        closing="此致\n敬礼！",
        letter_closing_named="此致\n敬礼！",
        letter_closing_unnamed="此致\n敬礼！",
        voice_facts="要点如下：",
        voice_reference="您的受理编号是{reference}。",
        sms_reference="编号{reference}",
        sms_link="详情：{url}",
        ellipsis="…",
        stop="。",
        your_case="您的案件",
    ),
}


def phrases_in(language: str) -> Phrases:
    """The phrases of a reply language ("zh-CN" speaks "zh"); English for any other."""
    return PHRASES.get(language.strip().lower().split("-")[0], PHRASES["en"])


def phrases_for(article: ArticleText, context: ReplyContext) -> Phrases:
    """The reply speaks the article's language; the citizen's language is the fallback."""
    for language in (article.language, context.language):
        if language in PHRASES:
            return PHRASES[language]
    return PHRASES["en"]


def language_of(article: ArticleText, context: ReplyContext) -> str:
    for language in (article.language, context.language):
        if language in PHRASES:
            return language
    return "en"
