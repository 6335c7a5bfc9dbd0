"""The written channels: web chat, email and letter."""

from __future__ import annotations

import html

from .render_markdown import markdown_html, markdown_text, safe_href, text_html
from .render_types import (
    ArticleText,
    Phrases,
    Rendering,
    RenderOptions,
    ReplyContext,
    language_of,
    phrases_for,
)


def _facts_text(facts: tuple[str, ...]) -> str:
    return "\n".join(f"- {fact}" for fact in facts)


def _facts_html(facts: tuple[str, ...]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(fact)}</li>" for fact in facts) + "</ul>"


def _link_html(phrases: Phrases, url: str) -> str:
    href = safe_href(url)
    label, _, _ = phrases.full_answer.partition("{url}")
    if href is None:
        return f"<p>{html.escape(phrases.full_answer.format(url=url))}</p>"
    quoted = html.escape(href, quote=True)
    return f'<p>{html.escape(label)}<a href="{quoted}">{html.escape(url)}</a></p>'


def _greeting(phrases: Phrases, name: str, unnamed: str) -> str:
    name = " ".join(name.split())
    return phrases.greeting_named.format(name=name) if name else unnamed


def _rendering(article: ArticleText, options: RenderOptions, text: str,
               html_text: str | None = None, subject: str | None = None) -> Rendering:
    return Rendering(channel=options.channel, text=text, html=html_text, subject=subject,
                     article_slug=article.slug, article_version=article.version)


def render_chat(article: ArticleText, context: ReplyContext, options: RenderOptions) -> Rendering:
    """The agent's words first, then the short answer, the key facts and the link."""
    phrases = phrases_for(article, context)
    parts = [context.agent_text.strip(), article.short_answer.strip(),
             _facts_text(article.key_facts)]
    if article.url:
        parts.append(phrases.full_answer.format(url=article.url))
    text = "\n\n".join(part for part in parts if part)
    html_parts = [text_html(context.agent_text), text_html(article.short_answer),
                  _facts_html(article.key_facts)]
    if article.url:
        html_parts.append(_link_html(phrases, article.url))
    return _rendering(article, options, text, "".join(html_parts))


def _signature(phrases: Phrases, context: ReplyContext, closing: str) -> str:
    lines = [closing]
    if context.agent_name.strip():
        lines.append(" ".join(context.agent_name.split()))
    lines.append(context.administration)
    return "\n".join(lines)


def render_email(article: ArticleText, context: ReplyContext, options: RenderOptions) -> Rendering:
    """A complete email: subject with the reference, plain text and sanitised HTML parts."""
    phrases = phrases_for(article, context)
    greeting = _greeting(phrases, context.citizen_name, phrases.greeting_unnamed)
    reference = phrases.your_reference.format(reference=context.reference)
    signature = _signature(phrases, context, phrases.closing)
    text_parts = [greeting, reference, context.agent_text.strip(), article.title,
                  markdown_text(article.body_markdown, keep_urls=True),
                  phrases.key_facts + "\n" + _facts_text(article.key_facts)]
    if article.url:
        text_parts.append(phrases.full_answer.format(url=article.url))
    text_parts.append(signature)
    text = "\n\n".join(part for part in text_parts if part)
    tag = f"[{context.reference}] " if context.reference else ""
    subject = " ".join(f"{tag}{article.title}".split())  # one line: no header injection
    html_text = _email_html(article, context, phrases, greeting, signature)
    return _rendering(article, options, text, html_text, subject)


def _email_html(article: ArticleText, context: ReplyContext, phrases: Phrases, greeting: str,
                signature: str) -> str:
    language = language_of(article, context)
    body = [
        text_html(greeting),
        text_html(phrases.your_reference.format(reference=context.reference)),
        text_html(context.agent_text),
        f"<h2>{html.escape(article.title)}</h2>",
        markdown_html(article.body_markdown),
        f"<h3>{html.escape(phrases.key_facts)}</h3>",
        _facts_html(article.key_facts),
        _link_html(phrases, article.url) if article.url else "",
        text_html(signature),
    ]
    return (f'<!DOCTYPE html>\n<html lang="{html.escape(language)}"><head><meta charset="utf-8">'
            f"<title>{html.escape(article.title)}</title></head><body>"
            + "".join(body) + "</body></html>")


def render_letter(article: ArticleText, context: ReplyContext, options: RenderOptions) -> Rendering:
    """Formal text for the letters channel to lay out: no links but the printed address of
    the full answer."""
    phrases = phrases_for(article, context)
    named = bool(context.citizen_name.strip())
    greeting = _greeting(phrases, context.citizen_name, phrases.letter_greeting_unnamed)
    closing = phrases.letter_closing_named if named else phrases.letter_closing_unnamed
    parts = [phrases.your_reference.format(reference=context.reference), greeting,
             article.title, context.agent_text.strip(),
             markdown_text(article.body_markdown, keep_urls=False),
             phrases.key_facts + "\n" + _facts_text(article.key_facts)]
    if article.url:
        parts.append(phrases.full_answer_letter.format(url=article.url))
    parts.append(_signature(phrases, context, closing))
    text = "\n\n".join(part for part in parts if part)
    return _rendering(article, options, text, subject=article.title)
