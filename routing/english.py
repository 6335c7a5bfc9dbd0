"""English (and other space-separated) keywords against the words of a text.

Words match whole ("ice" is never found inside "office" or "police"), each through any of
its readings (as written, spelling-repaired, joined with the next word).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace

from routing.model import (
    EXACT,
    NEAR,
    NEAR_FACTOR,
    PARTIAL,
    PARTIAL_FACTOR,
    Analysed,
    Hit,
    Keyword,
    repeat_factor,
)

_NEAR_SLACK = 2  # extra words allowed between a keyword's words in a near hit
# Weaker partial hits ("road" alone, one of the words of five services' keywords) are noise:
# dropping them keeps suggestions meaningful and the ranking cheap.
MIN_PARTIAL_WEIGHT = 0.15


def exact(text: Analysed, first: Mapping[str, Sequence[Keyword]]) -> list[Hit]:
    """Keywords whose words appear in order; `first` maps a first word to its keywords."""
    hits = []
    slots = text.slots
    # In text order, not set order: the order of hits breaks ties between equal hits, and a
    # set of strings is ordered by hash, which changes from one process to the next.
    for reading, occurrences in text.positions.items():
        if reading not in first:
            continue
        for i, similarity in occurrences:
            for keyword in first[reading]:
                # The joined form of a phrase ("streetlight") is one word.
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
    return _with_repeats(hits)


def near_and_partial(text: Analysed, content: Mapping[str, Sequence[Keyword]],
                     specificity: Mapping[str, float], found: set[Keyword]) -> list[Hit]:
    """Keywords not `found` exactly but whose content words (some or all) are present."""
    matched: dict[Keyword, list[str]] = defaultdict(list)
    for word in text.positions:  # in text order, as in exact()
        for keyword in content.get(word, ()):
            if keyword not in found:
                matched[keyword].append(word)
    hits = []
    # Only the best partial hit per owner counts: a generic word ("street") is part of many
    # keywords of the same service and must not add up to strong evidence.
    partial: dict[int, tuple[float, Keyword, list[str]]] = {}
    for keyword, present in matched.items():
        if len(present) == len(keyword.content) > 1:
            hit = _near(keyword, present, text)
            if hit is not None:
                hits.append(hit)
                continue
        bound = keyword.weight * sum(specificity[w] for w in present) / len(keyword.content)
        if bound < MIN_PARTIAL_WEIGHT:
            continue
        best = partial.get(keyword.owner)
        if best is None or bound > best[0]:
            partial[keyword.owner] = (bound, keyword, present)
    for _, keyword, present in partial.values():
        hits.append(_partial(keyword, present, text, specificity))
    return hits


def _partial(keyword: Keyword, present: list[str], text: Analysed,
             specificity: Mapping[str, float]) -> Hit:
    evidence, span, worst = 0.0, set(), 100
    for word in present:
        position, similarity = max(text.positions[word], key=lambda p: p[1])
        evidence += specificity[word] * similarity / 100
        span.add(position)
        worst = min(worst, similarity)
    strength = keyword.weight * PARTIAL_FACTOR * evidence / len(keyword.content)
    return Hit(keyword, PARTIAL, worst, strength, frozenset(span))


def _with_repeats(hits: list[Hit]) -> list[Hit]:
    """One hit per keyword, its best, strengthened by the number of times it occurs."""
    best: dict[Keyword, Hit] = {}
    starts: dict[Keyword, set[int]] = defaultdict(set)
    for hit in hits:
        starts[hit.keyword].add(min(hit.span))
        if hit.keyword not in best or hit.strength > best[hit.keyword].strength:
            best[hit.keyword] = hit
    return [hit if len(starts[keyword]) == 1 else
            replace(hit, strength=hit.strength * repeat_factor(len(starts[keyword])))
            for keyword, hit in best.items()]


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
