"""Prepare a citizen's text once for all keyword indexes: words with their spelling-repaired
readings, and the CJK stream with its useful character bigrams."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from routing.model import Analysed
from routing.spelling import Speller
from routing.text import cjk_stream, normalise, words

JOINED_SCORE = 95  # "pot hole" read as "pothole"


class Analyser:
    """Built once from the keywords' vocabulary; thread-safe."""

    def __init__(self, speller: Speller, gram_heads: Iterable[str]) -> None:
        self.speller = speller
        heads = "".join(sorted(set(gram_heads)))
        # Only bigrams that start like some keyword's bigram are worth building: building
        # all of them costs more than the whole of the matching on a long Chinese message.
        self._grams_re = re.compile(f"(?=([{re.escape(heads)}].))") if heads else None

    def __call__(self, text: str) -> Analysed:
        normalised = normalise(text)
        tokens = words(normalised)
        vocabulary = self.speller.vocabulary
        slots: list[tuple[tuple[str, int], ...]] = []
        positions: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, token in enumerate(tokens):
            readings = [(token, 100)]
            correction = self.speller.correct(token)
            if correction is not None:
                readings.append(correction)
            if i + 1 < len(tokens) and token + tokens[i + 1] in vocabulary:
                readings.append((token + tokens[i + 1], JOINED_SCORE))
            slots.append(tuple(readings))
            for reading, similarity in readings:
                positions[reading].append((i, similarity))
        cjk = cjk_stream(normalised)
        grams = frozenset(self._grams_re.findall(cjk)) if cjk and self._grams_re else frozenset()
        return Analysed(tuple(slots), {k: tuple(v) for k, v in positions.items()}, cjk, grams)
