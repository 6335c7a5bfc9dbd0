"""Article Markdown as sanitised HTML and as plain paragraphs.

The HTML goes through nh3 (ammonia) even though markdown-it escapes raw HTML: an article
body is written by staff, but a reply must never carry a script into a citizen's mail client
or an agent's browser, whoever wrote the text.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "h1", "h2", "h3", "h4",
                "h5", "h6", "blockquote", "code", "pre", "hr", "table", "thead", "tbody", "tr",
                "th", "td"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto", "tel"}


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def sanitise_html(fragment: str) -> str:
    return nh3.clean(fragment, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes=URL_SCHEMES, link_rel="noopener noreferrer")


def markdown_html(markdown: str) -> str:
    """Sanitised HTML for a Markdown text."""
    return sanitise_html(_parser().render(markdown))


def text_html(text: str) -> str:
    """Escaped paragraphs for free text (an agent's note, a citizen's words)."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.splitlines()) + "</p>"
        for p in paragraphs
    )


def safe_href(url: str) -> str | None:
    """The URL if it is a web link we may print as a link, else None."""
    return url if re.match(r"https?://[^\s<>\"']+$", url) else None


def _inline_text(token: Token, keep_urls: bool) -> str:
    out: list[str] = []
    href_stack: list[str] = []
    start_stack: list[int] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type == "softbreak":
            out.append(" ")
        elif child.type == "hardbreak":
            out.append("\n")
        elif child.type == "image":
            out.append(child.content)
        elif child.type == "link_open":
            href_stack.append(str(child.attrs.get("href", "")))
            start_stack.append(len(out))
        elif child.type == "link_close" and href_stack:
            href, start = href_stack.pop(), start_stack.pop()
            label = "".join(out[start:])
            if keep_urls and href and href != label and safe_href(href):
                out.append(f" ({href})")
    return "".join(out)


def markdown_text(markdown: str, keep_urls: bool = True) -> str:
    """Plain paragraphs for a Markdown text: headings and list items on their own lines,
    no markup; link targets in brackets, or dropped when keep_urls is False."""
    blocks: list[str] = []
    prefixes: list[str] = []
    counters: list[int] = []
    for token in _parser().parse(markdown):
        if token.type == "bullet_list_open":
            prefixes.append("- ")
            counters.append(0)
        elif token.type == "ordered_list_open":
            prefixes.append("#")
            counters.append(int(str(token.attrs.get("start", 1))) - 1)
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            prefixes.pop()
            counters.pop()
        elif token.type == "list_item_open" and prefixes:
            counters[-1] += 1
        elif token.type == "inline":
            blocks.append(_list_prefix(token, prefixes, counters) + _inline_text(token, keep_urls))
        elif token.type in ("fence", "code_block"):
            blocks.append(token.content.rstrip("\n"))
    return _join_blocks(blocks)


def _list_prefix(token: Token, prefixes: list[str], counters: list[int]) -> str:
    if not prefixes or token.level < 2:
        return ""
    indent = "  " * (len(prefixes) - 1)
    marker = f"{counters[-1]}. " if prefixes[-1] == "#" else prefixes[-1]
    return "\x00" + indent + marker  # \x00: a list line, kept next to its neighbours


def _join_blocks(blocks: list[str]) -> str:
    out: list[str] = []
    for block in blocks:
        is_item = block.startswith("\x00")
        text = block.lstrip("\x00")
        if out and is_item and out[-1].startswith("\x00"):
            out[-1] += "\n" + text
            continue
        out.append(("\x00" if is_item else "") + text)
    return "\n\n".join(block.lstrip("\x00") for block in out).strip()
