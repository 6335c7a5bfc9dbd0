"""One answer, every channel: a reply rendered from one article version and the agent's text.

Invariant 4 of the design ("same question, same answer") lives here: whatever the channel,
the rendering carries every key fact of the article version it was built from, and records
that article and version. Renderers are pure functions over plain data.
"""

from __future__ import annotations

from .render_sms import count_sms, render_sms
from .render_types import (
    ArticleText,
    Renderer,
    Rendering,
    RenderOptions,
    ReplyContext,
    language_of,
    phrases_for,
)
from .render_written import render_chat, render_email, render_letter
from .speech import spoken

__all__ = [
    "CHANNEL_RENDERERS",
    "ArticleText",
    "RenderOptions",
    "Renderer",
    "Rendering",
    "ReplyContext",
    "count_sms",
    "render",
    "render_voice",
    "spoken",
]


def _sentence(text: str, stop: str) -> str:
    return text if not text or text[-1] in ".!?。！？" else text + stop


def render_voice(article: ArticleText, context: ReplyContext, options: RenderOptions) -> Rendering:
    """What the voice reply says: the agent's words, the short answer, each key fact and the
    reference, all speech-friendly; never a URL or markup."""
    language = language_of(article, context)
    phrases = phrases_for(article, context)
    parts = [_sentence(spoken(context.agent_text, language), phrases.stop),
             _sentence(spoken(article.short_answer, language), phrases.stop)]
    if article.key_facts:
        parts.append(phrases.voice_facts)
        parts.extend(_sentence(spoken(fact, language), phrases.stop) for fact in article.key_facts)
    if context.reference:
        parts.append(phrases.voice_reference.format(reference=spoken(context.reference, language)))
    joiner = "" if language == "zh" else " "
    text = joiner.join(part for part in parts if part)
    return Rendering(channel=options.channel, text=text, article_slug=article.slug,
                     article_version=article.version)


CHANNEL_RENDERERS: dict[str, Renderer] = {
    "voice": render_voice,
    "phone": render_voice,
    "sms": render_sms,
    "whatsapp": render_sms,
    "chat": render_chat,
    "webchat": render_chat,
    "email": render_email,
    "letter": render_letter,
}


def render(channel: str, article: ArticleText, context: ReplyContext, *,
           sms_max_segments: int = 3) -> Rendering:
    """The reply for one channel. Raises ValueError for an unknown channel, or for an SMS
    whose key facts cannot fit in sms_max_segments."""
    renderer = CHANNEL_RENDERERS.get(channel)
    if renderer is None:
        known = ", ".join(sorted(CHANNEL_RENDERERS))
        raise ValueError(f"no renderer for channel {channel!r}; known channels: {known}")
    return renderer(article, context, RenderOptions(channel, sms_max_segments))
