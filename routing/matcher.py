"""Find configured keywords in a citizen's text.

One `KeywordIndex` serves service keywords, negative keywords and priority words alike, so
the three never drift apart. English keywords are looked up word by word (routing.english),
Chinese ones in the CJK stream (routing.chinese); see routing.model for the kinds of hit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from routing import chinese, english
from routing.model import EXACT, Analysed, Hit, Keyword, make_keyword


class KeywordIndex:
    """Keywords of many owners, indexed for fast look-up; immutable after construction."""

    def __init__(self, entries: Iterable[tuple[int, str, str]]) -> None:
        """entries: (owner, language, phrase)."""
        self.keywords: list[Keyword] = []
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
        self._gram_keys = frozenset(self._grams)
        self._first = english.first_words(k for k in self.keywords if not k.cjk)
        self._order = {keyword: i for i, keyword in enumerate(self.keywords)}
        self.gram_heads = {gram[0] for gram in self._gram_keys}

    def _add(self, keyword: Keyword, owners_of_word: dict[str, set[int]]) -> None:
        self.keywords.append(keyword)
        if keyword.cjk:
            if len(keyword.cjk) == 1:
                self._single_chars.append(keyword)
            for gram in set(keyword.grams):
                self._grams[gram].append(keyword)
            return
        if len(keyword.tokens) > 1:
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
        if not self.keywords:
            return []
        hits = english.exact(text, self._first) + self._chinese(text, exact_only)
        if not exact_only:
            found = {hit.keyword for hit in hits}
            hits += english.near_and_partial(text, self._content, self._specificity, found)
        if language is not None:
            hits = [h for h in hits if h.keyword.lang == language
                    or (h.kind == EXACT and h.similarity == 100)]
        return hits

    def _chinese(self, text: Analysed, exact_only: bool) -> list[Hit]:
        if not text.cjk:
            return []
        candidates = {k for gram in text.cjk_grams & self._gram_keys for k in self._grams[gram]}
        candidates.update(self._single_chars)
        # In configuration order: the order of hits breaks ties between equal hits, and a
        # set's order changes from one process to the next (string hashes, addresses).
        ordered = sorted(candidates, key=self._order.__getitem__)
        hits = [chinese.match(keyword, text, exact_only) for keyword in ordered]
        return [hit for hit in hits if hit is not None]
