"""Turning mail bytes into text whatever the sender's software claimed about them.

Declared charsets are mapped to the superset codecs real mail needs (GB2312 mail is written
by GBK/GB18030 software, Big5 by Big5-HKSCS, ks_c_5601 by Windows' cp949, Shift_JIS by
cp932). A label that is unknown or wrong is not trusted: strict UTF-8 is tried first for
single-byte labels (mislabelled UTF-8 is the most common error), then the declared codec,
then detection; text never fails to decode, at worst it carries replacement characters.
"""

from __future__ import annotations

import codecs
import functools
import re

import charset_normalizer

from caseboard.contacts import CONTROL_CHARACTERS

_ALIASES = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030",
    "euc-cn": "gb18030", "x-euc-cn": "gb18030", "gb_2312-80": "gb18030", "csgb2312": "gb18030",
    "chinese": "gb18030", "hz-gb-2312": "hz",
    "big5": "big5hkscs", "x-big5": "big5hkscs", "big-5": "big5hkscs", "cn-big5": "big5hkscs",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "ksc5601": "cp949", "ksc_5601": "cp949",
    "euc-kr": "cp949", "x-euc-kr": "cp949", "korean": "cp949", "windows-949": "cp949",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
    "ms_kanji": "cp932", "windows-31j": "cp932", "csshiftjis": "cp932",
    "iso-2022-jp": "iso2022_jp_ext", "csiso2022jp": "iso2022_jp_ext",
    "euc-jp": "euc_jis_2004", "x-euc-jp": "euc_jis_2004",
    # WHATWG: browsers and mailers treat these labels as windows-1252.
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252",
    "ascii": "cp1252", "iso_8859-1": "cp1252", "x-user-defined": "cp1252",
    "unicode-1-1-utf-7": "utf-7", "utf8": "utf-8", "x-unknown": "",
    "baltic": "iso8859_13", "arabic": "iso8859_6", "greek": "iso8859_7", "hebrew": "iso8859_8",
    "cyrillic": "iso8859_5",
}
_MULTIBYTE = {"gb18030", "big5hkscs", "cp949", "cp932", "iso2022_jp_ext", "euc_jis_2004",
              "utf-8", "utf-16", "utf-32", "hz", "utf-7", "utf-16-le", "utf-16-be"}


_LABEL_NOISE = re.compile(r"[\"'\s]")


def codec_for(label: str | None) -> str | None:
    """The Python codec to use for a declared charset label, or None if it is unusable."""
    if not label:
        return None
    label = str(label)
    # Mail names a handful of charsets, several times each: remembered, unless absurdly long.
    return _cached_codec(label) if len(label) <= 64 else _codec(label)


@functools.lru_cache(maxsize=256)
def _cached_codec(label: str) -> str | None:
    return _codec(label)


def _codec(label: str) -> str | None:
    cleaned = _LABEL_NOISE.sub("", label).lower()
    cleaned = cleaned.split("*")[0]  # RFC 2231 language suffix: utf-8*en
    cleaned = _ALIASES.get(cleaned, cleaned)
    if not cleaned:
        return None
    try:
        return codecs.lookup(cleaned).name
    except LookupError:
        return None


def decode_bytes(data: bytes, declared: str | None = None, hint: str | None = None) -> str:
    """Decode mail bytes to text; `hint` is a charset seen elsewhere in the same message."""
    if not data:
        return ""
    if data.isascii() and b"\x1b" not in data and codec_for(declared) not in ("utf-7", "hz"):
        return data.decode("ascii")
    candidates: list[str] = []
    for label in (declared, hint):
        codec = codec_for(label)
        if codec is None or codec in candidates:
            continue
        if codec not in _MULTIBYTE and "utf-8" not in candidates:
            candidates.append("utf-8")  # UTF-8 sent with a single-byte label
        candidates.append(codec)
    if not candidates:
        candidates.append("utf-8")
    for codec in candidates:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    if len(data) < 64:  # too little to detect anything: Windows' Western code page
        return data.decode("cp1252", errors="replace")
    best = charset_normalizer.from_bytes(data[:200_000]).best()
    if best is not None and best.encoding:
        return data.decode(codec_for(best.encoding) or best.encoding, errors="replace")
    return data.decode(candidates[0], errors="replace")


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


_FOLD = re.compile(r"\r?\n[ \t]")
_SPACES = re.compile(r"\s+")


def decode_header(raw: str | None, hint: str | None = None) -> str:
    """A header value as text: RFC 2047 words (split multi-byte characters rejoined across
    adjacent words), raw 8-bit bytes (UTF-8 or the message's charset), folding undone."""
    if not raw:
        return ""
    raw = str(raw)
    if raw.isascii() and "=?" not in raw and not CONTROL_CHARACTERS.search(raw):
        # Most headers: nothing to decode, only folding and runs of spaces to undo (what
        # _decode_words comes to; a CR outside a line end is dropped, not made a space).
        return " ".join(raw.replace("\r", "").split())
    return _decode_words(raw, hint)


def _decode_words(raw: str, hint: str | None) -> str:
    raw = _FOLD.sub(" ", raw).replace("\r", "").replace("\n", " ")
    pieces: list[str] = []
    pending: list[tuple[str, bytes]] = []  # adjacent encoded words, joined before decoding

    def flush() -> None:
        if pending:
            grouped: list[tuple[str, bytes]] = []
            for charset, chunk in pending:
                if grouped and grouped[-1][0] == charset:
                    grouped[-1] = (charset, grouped[-1][1] + chunk)
                else:
                    grouped.append((charset, chunk))
            pieces.extend(decode_bytes(chunk, charset, hint) for charset, chunk in grouped)
            pending.clear()

    position = 0
    for match in _ENCODED_WORD.finditer(raw):
        between = raw[position:match.start()]
        if between.strip() or not pending:
            flush()
            pieces.append(_raw_text(between, hint))
        pending.append((match.group(1).lower(), _word_bytes(match.group(2), match.group(3))))
        position = match.end()
    flush()
    pieces.append(_raw_text(raw[position:], hint))
    # Control characters (a NUL from an encoded word, say) belong in no header; PostgreSQL
    # refuses NUL in text outright, which would turn one bad mail into a 451 loop.
    return _SPACES.sub(" ", CONTROL_CHARACTERS.sub("", "".join(pieces))).strip()


def _word_bytes(encoding: str, text: str) -> bytes:
    import base64
    import binascii
    import quopri

    if encoding in "bB":
        padded = text + "=" * (-len(text) % 4)
        try:
            return base64.b64decode(padded)
        except (binascii.Error, ValueError):
            return text.encode("ascii", "replace")
    return quopri.decodestring(text.encode("ascii", "replace"), header=True)


def _raw_text(text: str, hint: str | None) -> str:
    """Header text outside encoded words; 8-bit bytes arrive as surrogate escapes."""
    if not text:
        return ""
    try:
        data = text.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:  # already real text (a str built from decoded input)
        return text
    # RFC 6532 allows raw UTF-8 in headers; otherwise the message's charset, or Windows'
    # Western code page (detection is unreliable on a few bytes).
    return decode_bytes(data, "utf-8", hint or "windows-1252")
