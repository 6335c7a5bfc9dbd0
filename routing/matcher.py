"""Find configured keywords in a citizen's text.

One `KeywordIndex` serves service keywords, negative keywords and priority words alike, so
the three never drift apart. English keywords match on word boundaries ("ice" never inside
"office"), word by word after spelling repair; Chinese keywords match as substrings of the CJK
stream, or with one inserted/missing character via character bigrams.

Kinds of hit, strongest first:
- exact: the keyword's words in order (or the Chinese substring), possibly spelling-repaired;
- near: all the keyword's content words within a few words of each other, in any order
  ("bin wasnt collected" for "bin not collected");
- partial: some of its content words, weighted by how specific each word is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz.distance import LCSseq

from routing.spelling import Speller
from routing.text import STOPWORDS, cjk_stream, has_cjk, normalise, words

EXACT, NEAR, PARTIAL = "exact", "near", "partial"
NEAR_FACTOR = 0.8
PARTIAL_FACTOR = 0.45
JOINED_SCORE = 95  # "pot hole" read as "pothole"
_EN_WEIGHTS = (1.0, 1.5, 1.8)  # by number of words: 1, 2, 3+
_CJK_WEIGHTS = (0.6, 1.0, 1.3, 1.6)  # by number of characters: 1, 2, 3, 4+
_NEAR_SLACK = 2  # extra words allowed between a keyword's words in a near hit


@dataclass(frozen=True, slots=True)
class Keyword:
    owner: int  # what the keyword stands for: a service index, a priority rank…
    phrase: str  # as configured, for reasons
    lang: str
    tokens: tuple[str, ...]  # English words; empty for a Chinese keyword
    content: frozenset[str]  # tokens minus stopwords
    cjk: str  # Chinese keyword, normalised; "" for an English one
    weight: float


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
    cjk: str
    cjk_grams: frozenset[str]

    @property
    def empty(self) -> bool:
        return not self.slots and not self.cjk


def analyse(text: str, speller: Speller) -> Analysed:
    normalised = normalise(text)
    tokens = words(normalised)
    slots: list[tuple[tuple[str, int], ...]] = []
    for i, token in enumerate(tokens):
        readings = [(token, 100)]
        correction = speller.correct(token)
        if correction is not None:
            readings.append(correction)
        if i + 1 < len(tokens) and token + tokens[i + 1] in speller.vocabulary:
            readings.append((token + tokens[i + 1], JOINED_SCORE))
        slots.append(tuple(readings))
    positions: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for i, slot in enumerate(slots):
        for reading, similarity in slot:
            positions[reading].append((i, similarity))
    cjk = cjk_stream(normalised)
    grams = frozenset(cjk[i:i + 2] for i in range(len(cjk) - 1))
    return Analysed(tuple(slots), {k: tuple(v) for k, v in positions.items()}, cjk, grams)


def make_keyword(owner: int, lang: str, phrase: str) -> Keyword | None:
    normalised = normalise(phrase)
    if has_cjk(normalised):
        cjk = cjk_stream(normalised).replace(" ", "")
        weight = _CJK_WEIGHTS[min(len(cjk), len(_CJK_WEIGHTS)) - 1]
        return Keyword(owner, phrase, lang, (), frozenset(), cjk, weight)
    tokens = tuple(words(normalised))
    if not tokens:
        return None
    weight = _EN_WEIGHTS[min(len(tokens), len(_EN_WEIGHTS)) - 1]
    content = frozenset(tokens) - STOPWORDS
    return Keyword(owner, phrase, lang, tokens, content, "", weight)


class KeywordIndex:
    """Keywords of many owners, indexed for fast look-up; immutable after construction."""

    def __init__(self, entries: Iterable[tuple[int, str, str]]) -> None:
        """entries: (owner, language, phrase)."""
        self.keywords: list[Keyword] = []
        self._first: dict[str, list[Keyword]] = defaultdict(list)
        self._content: dict[str, list[Keyword]] = defaultdict(list)
        self._grams: dict[str, list[Keyword]] = defaultdict(list)
        self._single_chars: list[Keyword] = []
        owners_of_word: dict[str, set[int]] = defaultdict(set)
        for owner, lang, phrase in entries:
            keyword = make_keyword(owner, lang, phrase)
            if keyword is not None:
                self._add(keyword, owners_of_word)
        # A word shared by many owners' keywords ("road", "water") says little on its own.
        self._specificity = {w: 1.0 / len(owners) for w, owners in owners_of_word.items()}

    def _add(self, keyword: Keyword, owners_of_word: dict[str, set[int]]) -> None:
        self.keywords.append(keyword)
        if keyword.cjk:
            if len(keyword.cjk) == 1:
                self._single_chars.append(keyword)
            for gram in {keyword.cjk[i:i + 2] for i in range(len(keyword.cjk) - 1)}:
                self._grams[gram].append(keyword)
            return
        self._first[keyword.tokens[0]].append(keyword)
        if len(keyword.tokens) > 1:
            # "street light" also matches "streetlight".
            self._first["".join(keyword.tokens)].append(keyword)
            for word in keyword.content:
                self._content[word].append(keyword)
                owners_of_word[word].add(keyword.owner)

    @property
    def vocabulary(self) -> set[str]:
        """Every English word a keyword is made of, for the speller."""
        return set(self._first) | {t for k in self.keywords for t in k.tokens}

    def find(self, text: Analysed, *, exact_only: bool = False,
             language: str | None = None) -> list[Hit]:
        """Every keyword hit in `text`. With `language`, keywords of other languages must
        match exactly (no spelling repair, no near or partial hits)."""
        hits = self._exact_words(text) + self._cjk(text, exact_only)
        if not exact_only:
            found = {hit.keyword for hit in hits}
            hits += self._near_and_partial(text, found)
        if language is not None:
            hits = [h for h in hits if h.keyword.lang == language
                    or (h.kind == EXACT and h.similarity == 100)]
        return hits

    def _exact_words(self, text: Analysed) -> list[Hit]:
        hits = []
        slots = text.slots
        for i, slot in enumerate(slots):
            for reading, similarity in slot:
                for keyword in self._first.get(reading, ()):
                    n = 1 if reading != keyword.tokens[0] else len(keyword.tokens)
                    if i + n > len(slots):
                        continue
                    score = similarity
                    for k in range(1, n):
                        score = min(score, _similarity(slots[i + k], keyword.tokens[k]))
                        if score == 0:
                            break
                    if score:
                        hits.append(Hit(keyword, EXACT, score, keyword.weight * score / 100,
                                        frozenset(range(i, i + n))))
        return hits

    def _near_and_partial(self, text: Analysed, found: set[Keyword]) -> list[Hit]:
        matched: dict[Keyword, list[str]] = defaultdict(list)
        for word in text.positions.keys() & self._content.keys():
            for keyword in self._content[word]:
                if keyword not in found:
                    matched[keyword].append(word)
        hits = []
        for keyword, present in matched.items():
            hit = None
            if len(present) == len(keyword.content) > 1:
                hit = _near(keyword, present, text)
            hits.append(hit or self._partial(keyword, present, text))
        return hits

    def _partial(self, keyword: Keyword, present: list[str], text: Analysed) -> Hit:
        evidence, span, worst = 0.0, set(), 100
        for word in present:
            position, similarity = max(text.positions[word], key=lambda p: p[1])
            evidence += self._specificity[word] * similarity / 100
            span.add(position)
            worst = min(worst, similarity)
        strength = keyword.weight * PARTIAL_FACTOR * evidence / len(keyword.content)
        return Hit(keyword, PARTIAL, worst, strength, frozenset(span))

    def _cjk(self, text: Analysed, exact_only: bool) -> list[Hit]:
        if not text.cjk:
            return []
        candidates = {k for gram in text.cjk_grams for k in self._grams.get(gram, ())}
        candidates.update(self._single_chars)
        hits = []
        for keyword in candidates:
            start = text.cjk.find(keyword.cjk)
            if start >= 0:
                span = frozenset(-1 - p for p in range(start, start + len(keyword.cjk)))
                hits.append(Hit(keyword, EXACT, 100, keyword.weight, span))
            elif not exact_only and len(keyword.cjk) >= 3:
                hit = _cjk_fuzzy(keyword, text)
                if hit is not None:
                    hits.append(hit)
        return hits


def _similarity(slot: tuple[tuple[str, int], ...], word: str) -> int:
    return max((s for reading, s in slot if reading == word), default=0)


def _near(keyword: Keyword, present: list[str], text: Analysed) -> Hit | None:
    """All content words within a short window, in any order, or None."""
    window = len(keyword.tokens) + _NEAR_SLACK
    anchor = min(present, key=lambda w: len(text.positions[w]))
    for position, anchor_similarity in text.positions[anchor]:
        span, worst = {position}, anchor_similarity
        for word in present:
            if word == anchor:
                continue
            close = [(p, s) for p, s in text.positions[word] if abs(p - position) <= window]
            if not close:
                break
            p, s = max(close, key=lambda c: c[1])
            span.add(p)
            worst = min(worst, s)
        else:
            if max(span) - min(span) <= window:
                strength = keyword.weight * NEAR_FACTOR * worst / 100
                return Hit(keyword, NEAR, worst, strength, frozenset(span))
    return None


def _cjk_fuzzy(keyword: Keyword, text: Analysed) -> Hit | None:
    """The keyword with one extra or one wrong character ("垃圾没人收" for "垃圾没收")."""
    kw = keyword.cjk
    n = len(kw)
    grams = [kw[i:i + 2] for i in range(n - 1)]
    shared = [g for g in grams if g in text.cjk_grams]
    if len(shared) < max(1, len(grams) - 2):
        return None
    best, best_start = 0, 0
    for gram in shared:
        at = text.cjk.find(gram)
        for start in range(max(0, at - n + 1), at + 1):
            lcs = LCSseq.similarity(kw, text.cjk[start:start + n + 1])
            if lcs > best:
                best, best_start = lcs, start
    if best == n:
        similarity = 90
    elif best == n - 1 and n >= 4:
        similarity = 80
    else:
        return None
    span = frozenset(-1 - p for p in range(best_start, best_start + n + 1))
    return Hit(keyword, EXACT, similarity, keyword.weight * similarity / 100, span)
