"""The plain data the matcher works on: keywords, an analysed text, hits."""

from __future__ import annotations

from dataclasses import dataclass

from routing.text import STOPWORDS, cjk_stream, has_cjk, normalise, words

# Kinds of hit, strongest first:
# - exact: the keyword's words in order (or the Chinese substring), possibly spelling-repaired;
# - near: all its content words (Chinese: its two-character words) close together, any order
#   ("bin wasnt collected" for "bin not collected", "乱倒建筑垃圾" for "乱倒垃圾");
# - partial: some of its content words, weighted by how specific each word is.
EXACT, NEAR, PARTIAL = "exact", "near", "partial"
NEAR_FACTOR = 0.8
PARTIAL_FACTOR = 0.35
_EN_WEIGHTS = (1.0, 1.5, 1.8)  # by number of words: 1, 2, 3+
_CJK_WEIGHTS = (0.6, 1.0, 1.3, 1.6)  # by number of characters: 1, 2, 3, 4+
# A keyword said again is a sign the text is about it (the subject of a long complaint, not
# an aside): each repeat adds this share, up to MAX_REPEATS occurrences.
REPEAT_SHARE = 0.2
MAX_REPEATS = 4


@dataclass(frozen=True, slots=True, eq=False)  # identity hash: hashed on every hit
class Keyword:
    owner: int  # what the keyword stands for: a service index, a priority rank…
    phrase: str  # as configured, for reasons
    lang: str
    tokens: tuple[str, ...]  # English words; empty for a Chinese keyword
    content: frozenset[str]  # tokens minus stopwords
    cjk: str  # Chinese keyword, normalised; "" for an English one
    weight: float
    grams: tuple[str, ...] = ()  # character bigrams of `cjk`
    # Its two-character words, for a near hit (see routing.chinese); from four characters.
    parts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Hit:
    keyword: Keyword
    kind: str
    similarity: int  # 0..100
    strength: float
    span: frozenset[int]  # word positions (≥ 0) or CJK character positions (< 0)


@dataclass(frozen=True, slots=True)
class Analysed:
    """A text prepared once per route() call and shared by every index."""

    slots: tuple[tuple[tuple[str, int], ...], ...]  # per word: (reading, similarity)
    positions: dict[str, tuple[tuple[int, int], ...]]  # reading → ((position, similarity)…)
    cjk: str  # the CJK characters, see text.cjk_stream
    cjk_grams: frozenset[str]  # its character bigrams (those some keyword has)

    @property
    def empty(self) -> bool:
        return not self.slots and not self.cjk


def make_keyword(owner: int, lang: str, phrase: str) -> Keyword | None:
    """A keyword as configured, prepared for matching; None if it has nothing to match."""
    normalised = normalise(phrase)
    if has_cjk(normalised):
        cjk = cjk_stream(normalised).replace(" ", "")
        weight = _CJK_WEIGHTS[min(len(cjk), len(_CJK_WEIGHTS)) - 1]
        grams = tuple(cjk[i:i + 2] for i in range(len(cjk) - 1))
        return Keyword(owner, phrase, lang, (), frozenset(), cjk, weight, grams,
                       _two_character_words(cjk) if len(cjk) >= 4 else ())
    tokens = tuple(words(normalised))
    if not tokens:
        return None
    weight = _EN_WEIGHTS[min(len(tokens), len(_EN_WEIGHTS)) - 1]
    content = frozenset(tokens) - STOPWORDS
    return Keyword(owner, phrase, lang, tokens, content, "", weight)


def _two_character_words(cjk: str) -> tuple[str, ...]:
    """Most Chinese compounds are made of two-character words; an odd last one has three."""
    parts = [cjk[i:i + 2] for i in range(0, len(cjk) - 1, 2)]
    if len(cjk) % 2:
        parts[-1] = cjk[-3:]
    return tuple(parts)


def repeat_factor(count: int) -> float:
    return 1.0 + REPEAT_SHARE * (min(count, MAX_REPEATS) - 1)
