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
# Latin words, including accented and full-width letters and digits ("ｐｏｔｈｏｌｅ"); only
# the rare non-ASCII word pays for Unicode normalisation (NFKC on a whole Chinese message
# would cost more than all the matching).
_LATIN = "0-9a-z\u00b2\u00b3\u00b9\u00c0-\u024f\u0300-\u036f\uff10-\uff19\uff41-\uff5a"
_WORD_RE = re.compile(f"[{_LATIN}]+")
# Apostrophes inside words vanish ("wasn't" → "wasnt", "carer's" → "carers").
_APOSTROPHE_RE = re.compile(r"(?<=[a-z])['\u2019`](?=[a-z])")
# For the CJK stream, Latin words become a separator so that the characters on either side
# are not read as adjacent; spaces and punctuation between CJK characters vanish.
_SEPARATOR = "\x00"
_LATIN_RUN_RE = re.compile(f"[{_LATIN}]+")
_NOISE_RE = re.compile(f"[^{_CJK_CHAR}{_SEPARATOR}]+")
_SEPARATORS_RE = re.compile(f"{_SEPARATOR}+")

# What OCR (and thumbs on a phone) put for a letter, tried when a word is otherwise unknown:
# digits inside words ("p0thole", "b1n", "5treet") and letter pairs read as one ("rnissed").
OCR_DIGITS = (str.maketrans("015", "ols"), str.maketrans("015", "ois"))
OCR_PAIRS = (("rn", "m"), ("vv", "w"), ("cl", "d"), ("ii", "u"))

# Words too common to count as evidence on their own when they occur inside a longer
# keyword ("hole in THE road", "bin NOT collected").
STOPWORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "by", "do", "for", "from", "has", "have", "how",
    "i", "in", "is", "it", "its", "me", "my", "no", "not", "of", "off", "on", "or", "our", "out",
    "the", "their", "there", "to", "up", "was", "we", "with",
    # Everyday words that say nothing of the service ("OPEN up" is not "open a cafe", "all
    # DAY" is not "bin day", "taken AWAY" is not "passed away").
    "again", "all", "any", "away", "been", "but", "can", "cant", "could", "day", "get", "got",
    "had", "help", "if", "into", "just", "keep", "keeps", "need", "open", "over", "please",
    "put", "so", "some", "still", "take", "taken", "that", "this", "very", "what", "when",
    "went", "where", "which", "will", "would",
))


def normalise(text: str) -> str:
    """Case-folded, apostrophes inside words removed."""
    return _APOSTROPHE_RE.sub("", text.casefold())


def has_cjk(text: str) -> bool:
    return _CJK_RE.search(text) is not None


def words(normalised: str) -> list[str]:
    """Latin word tokens, NFKC-normalised and reduced to ASCII."""
    result = []
    for token in _WORD_RE.findall(normalised):
        if not token.isascii():
            token = unicodedata.normalize("NFKC", token)
            token = "".join(c for c in unicodedata.normalize("NFKD", token) if c.isascii())
            if not token:
                continue
        result.append(token)
    return result


def cjk_stream(normalised: str) -> str:
    """CJK characters only; each run of Latin words/numbers becomes a single space."""
    if not has_cjk(normalised):
        return ""
    text = _NOISE_RE.sub("", _LATIN_RUN_RE.sub(_SEPARATOR, normalised))
    return _SEPARATORS_RE.sub(" ", text).strip()


def singular(token: str) -> str | None:
    """A naive singular form ("bins" → "bin", "branches" → "branch"), or None."""
    if len(token) > 4 and token.endswith(("ches", "shes", "sses", "xes")):
        return token[:-2]
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    return None
