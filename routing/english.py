"""English (and other space-separated) keywords against the words of a text.

Words match whole ("ice" is never found inside "office" or "police"), each through any of
its readings (as written, spelling-repaired, joined with the next word).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

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


# A first word's keywords, each with the words that must follow it: all the phrase's other
# words when the first word is the phrase's own, none for its joined form ("streetlight").
FirstWords = Mapping[str, Sequence[tuple[Keyword, tuple[str, ...]]]]


def first_words(keywords: Iterable[Keyword]) -> dict[str, list[tuple[Keyword, tuple[str, ...]]]]:
    """The index exact() looks words up in, built once with the rules."""
    first: dict[str, list[tuple[Keyword, tuple[str, ...]]]] = defaultdict(list)
    for keyword in keywords:
        first[keyword.tokens[0]].append((keyword, keyword.tokens[1:]))
        if len(keyword.tokens) > 1:
            first["".join(keyword.tokens)].append((keyword, ()))
    return dict(first)


def exact(text: Analysed, first: FirstWords) -> list[Hit]:
    """Keywords whose words appear in order, one hit per keyword (see _repeated)."""
    best: dict[Keyword, Hit] = {}
    starts: dict[Keyword, set[int]] = {}
    slots, positions = text.slots, text.positions
    # In text order, not set order: the order of hits breaks ties between equal hits, and a
    # set of strings is ordered by hash, which changes from one process to the next.
    for reading, occurrences in positions.items():
        entries = first.get(reading)
        if entries is None:
            continue
        for i, similarity in occurrences:
            for keyword, rest in entries:
                end = i + 1 + len(rest)
                # Most phrases' second word is nowhere in the text: skip them cheaply.
                if end > len(slots) or (rest and rest[0] not in positions):
                    continue
                score = _following(slots, i + 1, rest, similarity)
                if not score:
                    continue
                strength = keyword.weight * score / 100
                if keyword not in best:
                    starts[keyword] = {i}
                else:
                    starts[keyword].add(i)
                    if strength <= best[keyword].strength:
                        continue
                best[keyword] = Hit(keyword, EXACT, score, strength, frozenset(range(i, end)))
    return _repeated(best, starts)


def _following(slots: Sequence[Sequence[tuple[str, int]]], at: int, words: tuple[str, ...],
               score: int) -> int:
    """`score` lowered to the worst similarity of `words` read from slot `at` on; 0 if one
    is missing."""
    for k, word in enumerate(words, at):
        similarity = 0
        for reading, s in slots[k]:
            if reading == word and s > similarity:
                similarity = s
        if similarity < score:
            score = similarity
            if not score:
                break
    return score


def _repeated(best: dict[Keyword, Hit], starts: dict[Keyword, set[int]]) -> list[Hit]:
    """Each keyword's best hit, strengthened by the number of places it occurs."""
    return [hit if len(starts[keyword]) == 1 else
            Hit(keyword, EXACT, hit.similarity,
                hit.strength * repeat_factor(len(starts[keyword])), hit.span)
            for keyword, hit in best.items()]


def near_and_partial(text: Analysed, content: Mapping[str, Sequence[Keyword]],
                     specificity: Mapping[str, float], found: set[Keyword]) -> list[Hit]:
    """Keywords not `found` exactly but whose content words (some or all) are present."""
    matched: dict[Keyword, list[str]] = {}
    for word in text.positions:  # in text order, as in exact()
        for keyword in content.get(word, ()):
            if keyword in found:
                continue
            present = matched.get(keyword)
            if present is None:
                matched[keyword] = [word]
            else:
                present.append(word)
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
        bound = keyword.weight * sum(map(specificity.__getitem__, present)) / len(keyword.content)
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
        position, similarity = _best(text.positions[word])
        evidence += specificity[word] * similarity / 100
        span.add(position)
        worst = min(worst, similarity)
    strength = keyword.weight * PARTIAL_FACTOR * evidence / len(keyword.content)
    return Hit(keyword, PARTIAL, worst, strength, frozenset(span))


def _best(occurrences: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """The first of the most similar (position, similarity); most words occur once."""
    if len(occurrences) == 1:
        return occurrences[0]
    return max(occurrences, key=lambda p: p[1])


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
