"""Typo, speech and OCR tolerance: map an unknown word to a known keyword word.

Only words that are not themselves keyword words are looked up, and the look-up is confined
to keyword words with the same first letter, so a typical message costs a few dictionary hits
(results are memoised). The rules are deliberately conservative, because a real English word
corrected into a keyword ("marking" → "parking", "three" → "tree") misroutes a case:

- words shorter than 4 letters are never corrected;
- at most one edit (insertion, deletion, substitution, transposition) up to 7 letters, two
  from 8 letters on; the first letter must agree;
- a 4–5 letter word may only be *missing* a letter ("stret" → "street"): not carry an extra
  one ("three" ↛ "tree", "spark" ↛ "park") nor a different one ("file" ↛ "fire").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from routing.text import OCR_DIGITS, OCR_PAIRS, singular

# A fresh word list for every call would defeat the memo; a cap keeps memory bounded in a
# long-running server that sees unbounded vocabulary (names, addresses).
_CACHE_LIMIT = 100_000
SINGULAR_SCORE = 97
OCR_SCORE = 90

Correction = tuple[str, int]  # (keyword word, similarity 0..100)


class Speller:
    """Corrects words against a fixed vocabulary; build once, call from any thread."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self.vocabulary = frozenset(vocabulary)
        by_initial: dict[str, list[str]] = defaultdict(list)
        for word in sorted(self.vocabulary):
            by_initial[word[0]].append(word)
        self._by_initial = dict(by_initial)
        self._cache: dict[str, Correction | None] = {}

    def correct(self, word: str) -> Correction | None:
        """Another keyword word `word` probably stands for ("bins" → "bin", "stret" →
        "street"), or None."""
        if len(word) < 3:
            return None
        try:
            return self._cache[word]
        except KeyError:
            pass
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        result = self._lookup(word)
        self._cache[word] = result
        return result

    def _lookup(self, word: str) -> Correction | None:
        if word in self.vocabulary:  # only its singular may be worth trying
            base = singular(word)
            return (base, SINGULAR_SCORE) if base in self.vocabulary else None
        variants = ocr_variants(word)
        for attempt in (self._known_form, self._fuzzy):
            found = attempt(word)
            if found is not None:
                return found
            for variant in variants:
                found = attempt(variant)
                if found is not None:
                    return found[0], min(found[1], OCR_SCORE)
        return None

    def _known_form(self, word: str) -> Correction | None:
        if word in self.vocabulary:
            return word, 100
        base = singular(word)
        if base is not None and base in self.vocabulary:
            return base, SINGULAR_SCORE
        return None

    def _fuzzy(self, word: str) -> Correction | None:
        if len(word) < 4:
            return None
        choices = self._by_initial.get(word[0])
        if not choices:
            return None
        max_edits = 1 if len(word) <= 7 else 2
        matches = process.extract(word, choices, scorer=OSA.distance,
                                  score_cutoff=max_edits, limit=5)
        best: Correction | None = None
        for choice, _distance, _index in matches:
            if len(choice) < 4 or (len(word) <= 5 and len(choice) != len(word) + 1):
                continue
            score = round(fuzz.ratio(word, choice))
            if best is None or score > best[1]:
                best = (choice, score)
        return best


def ocr_variants(word: str) -> list[str]:
    """Readings of `word` with OCR confusions undone ("b1n" → "bln", "bin")."""
    variants: list[str] = []
    if not word.isalpha() and not word.isdigit():
        variants += dict.fromkeys(word.translate(table) for table in OCR_DIGITS)
    variants += [word.replace(wrong, right) for wrong, right in OCR_PAIRS if wrong in word]
    return variants
