"""SMS (and WhatsApp) rendering: GSM-7 or UCS-2, counted in segments, key facts never dropped.

Segment arithmetic follows 3GPP TS 23.038 / 23.040: a single GSM-7 message holds 160 septets
and each part of a concatenated one 153 (the user data header takes the rest); characters of
the extension table (`^{}\\[~]|€` and form feed) take two septets and are never split across
parts. UCS-2 holds 70 UTF-16 code units, 67 per part; a character outside the Basic
Multilingual Plane (an emoji) takes two units and is never split either.
"""

from __future__ import annotations

import dataclasses

from .render_types import ArticleText, Rendering, RenderOptions, ReplyContext, phrases_for

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

# Typographic characters an agent's keyboard produces that would switch a whole message to
# UCS-2 (less than half the room per segment) for no visible gain.
_GSM_FRIENDLY = str.maketrans({
    "‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"', "–": "-", "—": "-",
    "‐": "-", "…": "...", "\u00a0": " ", "\u2009": " ", "\u202f": " ", "•": "-", "\t": " ",
})


@dataclasses.dataclass(frozen=True)
class SmsCount:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text)


def _unit_sizes(text: str, gsm: bool) -> list[int]:
    if gsm:
        return [2 if c in GSM7_EXTENDED else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def _parts(sizes: list[int], per_part: int) -> int:
    """Parts needed when no character may straddle two parts."""
    parts, used = 1, 0
    for size in sizes:
        if used + size > per_part:
            parts, used = parts + 1, 0
        used += size
    return parts


def count_sms(text: str) -> SmsCount:
    """Encoding, length in units and number of segments of one SMS text."""
    gsm = is_gsm7(text)
    sizes = _unit_sizes(text, gsm)
    single, part = (GSM7_SINGLE, GSM7_PART) if gsm else (UCS2_SINGLE, UCS2_PART)
    units = sum(sizes)
    segments = 1 if units <= single else _parts(sizes, part)
    return SmsCount("GSM-7" if gsm else "UCS-2", units, segments)


def gsm_friendly(text: str) -> str:
    """Agent and answer text with typographic quotes, dashes and spaces made GSM-7."""
    return text.translate(_GSM_FRIENDLY)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _compose(flexible: list[str], facts: tuple[str, ...], tail: list[str], joiner: str) -> str:
    head = joiner.join(part for part in flexible if part)
    return "\n".join(([head] if head else []) + list(facts) + tail)


def _shorten(text: str, keep: int, ellipsis: str, words: bool) -> str:
    """The first `keep` characters of text, cut at a word boundary for spaced languages."""
    if keep >= len(text):
        return text
    if keep <= 0:
        return ""
    cut = text[:keep]
    if words and " " in cut and not text[keep:keep + 1].isspace():
        cut = cut.rsplit(" ", 1)[0]
    cut = cut.rstrip(" ,;:-，、；：")
    return cut + ellipsis if cut else ""


def _fit(parts: list[str], index: int, build: _Builder, max_segments: int) -> list[str]:
    """Shorten parts[index] as little as possible so that the whole message fits."""
    full = parts[index]
    low, high = 0, len(full)  # invariant: keeping `low` characters fits
    while low < high:
        middle = (low + high + 1) // 2
        trial = parts.copy()
        trial[index] = build.shorten(full, middle)
        if count_sms(build.text(trial)).segments <= max_segments:
            low = middle
        else:
            high = middle - 1
    result = parts.copy()
    result[index] = build.shorten(full, low)
    return result


@dataclasses.dataclass(frozen=True)
class _Builder:
    facts: tuple[str, ...]
    tail: list[str]
    ellipsis: str
    words: bool

    def text(self, flexible: list[str]) -> str:
        return _compose(flexible, self.facts, self.tail, " " if self.words else "")

    def shorten(self, text: str, keep: int) -> str:
        return _shorten(text, keep, self.ellipsis, self.words)


def render_sms(article: ArticleText, context: ReplyContext, options: RenderOptions) -> Rendering:
    """Agent text, short answer, every key fact, the reference and the link, in at most
    `options.sms_max_segments` segments. The agent text and short answer give way first."""
    max_segments = options.sms_max_segments
    if max_segments < 1:
        raise ValueError(f"sms_max_segments must be at least 1, not {max_segments}")
    phrases = phrases_for(article, context)
    tail = [phrases.sms_reference.format(reference=context.reference)] if context.reference else []
    if article.url:
        tail.append(phrases.sms_link.format(url=article.url))
    facts = tuple(_one_line(fact) for fact in article.key_facts)
    builder = _Builder(facts, tail, phrases.ellipsis, words=article.language != "zh")
    bare = count_sms(builder.text([]))
    if bare.segments > max_segments:
        raise ValueError(
            f"SMS for article {article.slug!r} v{article.version}: its key facts, reference and "
            f"link alone need {bare.segments} {bare.encoding} segments, more than the maximum "
            f"of {max_segments}; shorten the key facts or allow more segments"
        )
    flexible = [gsm_friendly(_one_line(context.agent_text)),
                gsm_friendly(_one_line(article.short_answer))]
    if count_sms(builder.text(flexible)).segments > max_segments:
        flexible = _fit(flexible, 1, builder, max_segments)  # the short answer gives way first
    if count_sms(builder.text(flexible)).segments > max_segments:
        flexible = _fit(flexible, 0, builder, max_segments)
    text = builder.text(flexible)
    counted = count_sms(text)
    return Rendering(channel=options.channel, text=text, segments=counted.segments,
                     encoding=counted.encoding, article_slug=article.slug,
                     article_version=article.version)
