"""Text normalisation shared by the keyword index and the router.

Citizen text arrives typed, dictated (speech-to-text) or scanned (OCR), in English or Chinese.
Everything is reduced to two streams: lower-case Latin word tokens, and a string of CJK
characters with spaces and punctuation removed (Chinese has no spaces to match on).
"""

from __future__ import annotations

import re
import unicodedata

# CJK Unified Ideographs (+ extension A and compatibility ideographs).
_CJK_CHAR = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{_CJK_CHAR}]")
_WORD_RE = re.compile(r"[a-z0-9]+")
# Apostrophes inside words vanish ("wasn't" → "wasnt", "carer's" → "carers").
_APOSTROPHE_RE = re.compile(r"(?<=[a-z])['\u2019`](?=[a-z])")
# Between CJK characters, spaces and punctuation vanish; a Latin word or number becomes a
# separator so that characters on either side of it are not read as adjacent.
_NOT_CJK_RE = re.compile(f"[^{_CJK_CHAR}]+")
_ALNUM_RE = re.compile(r"[a-z0-9]")

# OCR confuses digits with letters inside words: "p0thole", "b1n", "5treet".
_OCR_DIGITS = str.maketrans({"0": "o", "1": "l", "5": "s"})
# Letter pairs OCR reads for a single letter, tried when a word is otherwise unknown.
OCR_PAIRS = (("rn", "m"), ("vv", "w"), ("cl", "d"), ("ii", "u"))

# Words too common to count as evidence on their own when they occur inside a longer
# keyword ("hole in THE road", "bin NOT collected").
STOPWORDS = frozenset(
    "a an and are as at be by do for from has have how i in is it its me my no not of off on "
    "or our out the their there to up was we with".split()
)


def normalise(text: str) -> str:
    """NFKC (full-width → ASCII), case-folded, apostrophes inside words removed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _APOSTROPHE_RE.sub("", folded)


def has_cjk(text: str) -> bool:
    return _CJK_RE.search(text) is not None


def words(normalised: str) -> list[str]:
    """Latin word tokens; OCR digit confusions inside words are repaired."""
    result = []
    for token in _WORD_RE.findall(normalised):
        if not token.isdigit() and not token.isalpha():
            token = token.translate(_OCR_DIGITS)
        result.append(token)
    return result


def cjk_stream(normalised: str) -> str:
    """CJK characters only; runs of Latin words/numbers become a single space."""
    if not has_cjk(normalised):
        return ""
    return _NOT_CJK_RE.sub(_separator, normalised).strip()


def _separator(match: re.Match[str]) -> str:
    return " " if _ALNUM_RE.search(match.group()) else ""


def singular(token: str) -> str | None:
    """A naive singular form ("bins" → "bin", "branches" → "branch"), or None."""
    if len(token) > 4 and token.endswith(("ches", "shes", "sses", "xes")):
        return token[:-2]
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    return None
