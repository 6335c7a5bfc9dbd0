"""Mail text made readable: HTML to plain text, and a reply's new text split from its quote.

The split is a heuristic and is only ever used for display: the stored text keeps everything.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from caseboard.contacts import CONTROL_CHARACTERS

_BLOCK = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul",
          "ol", "blockquote", "pre", "hr", "section", "article", "header", "footer", "dt", "dd"}
_SKIP = {"script", "style", "title", "template", "noscript"}
_SPACES = re.compile(r"\s+")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.quote_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag in _BLOCK:
            self.parts.append("\n")
            if tag == "blockquote":
                self.quote_depth += 1
        elif tag == "td":
            self.parts.append(" ")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(f"[{alt}]")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")
            if tag == "blockquote":
                self.quote_depth = max(0, self.quote_depth - 1)

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        text = _SPACES.sub(" ", data)
        if self.quote_depth and text.strip():
            text = "> " * self.quote_depth + text.lstrip()
        self.parts.append(text)


# Control characters other than tab and newline, and the replacement character.
_BINARY_CHARS = re.compile("[\x00-\x08\x0b-\x1f\ufffd]")


def looks_binary(text: str) -> bool:
    """Text that is mostly control or replacement characters: binary data, not words."""
    sample = text[:4000]
    if not sample:
        return False
    return len(_BINARY_CHARS.findall(sample)) > len(sample) * 0.1


def html_to_text(markup: str) -> str:
    """Readable plain text from HTML: no tags, scripts or styles; paragraphs kept."""
    parser = _TextExtractor()
    try:
        parser.feed(markup)
        parser.close()
    except (AssertionError, ValueError):  # pathological markup: fall back to stripping tags
        return tidy(html.unescape(re.sub(r"<[^>]*>", " ", markup)))
    return tidy("".join(parser.parts))


_BLANK_LINES = re.compile(r"\n{3,}")


def tidy(text: str) -> str:
    """Normalise line ends, drop control characters and trailing spaces, squeeze blank lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    text = CONTROL_CHARACTERS.sub("", text)
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


# Where quoted history starts: "On <date>, <someone> wrote:", Outlook's "-----Original
# Message-----" and header blocks, the Chinese/Japanese equivalents, or a run of "> " lines.
_QUOTE_HEADERS = re.compile(
    r"^(?:"
    r"On .{0,200}wrote:\s*$"
    r"|-{2,}\s*(?:Original Message|Forwarded message|原始邮件|原始郵件|原始信件)\s*-{2,}"
    r"|_{10,}\s*$"
    r"|From:\s.+\n(?:Sent|Date):\s"
    r"|(?:发件人|寄件者|差出人)\s*[:：]"
    r"|.{0,80}(?:写道|寫道|のメッセージ)\s*[:：]?\s*$"
    r")",
    re.MULTILINE | re.IGNORECASE,
)


def split_reply(text: str) -> tuple[str, str]:
    """(new text, quoted history). The history is empty when nothing looks quoted."""
    match = _QUOTE_HEADERS.search(text)
    cut = match.start() if match else None
    quoted = _trailing_quote_start(text)
    if quoted is not None:
        cut = quoted if cut is None else min(cut, quoted)
    if cut is None:
        return text.strip(), ""
    new, history = text[:cut].strip(), text[cut:].strip()
    if not new:  # a top-quoted mail with nothing before the quote: keep it all as new text
        return text.strip(), ""
    return new, history


def _trailing_quote_start(text: str) -> int | None:
    """Offset of a block of "> " lines that runs to the end (blank lines allowed)."""
    lines = text.split("\n")
    start: int | None = None
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index]
        if line.startswith(">"):
            start = index
        elif line.strip():
            break
    if start is None:
        return None
    return sum(len(line) + 1 for line in lines[:start])
