"""Priority: the service's own priority, raised by alarming words in the text.

Words are matched like keywords, but only whole (no near or partial hits): "fire" is not in
"fireworks" and "ice" is not in "police". A word list entry may be a combination, its parts
joined by " + " ("no heating + elderly"): it counts only when every part is in the text, so
that a cold flat is "high" but a cold flat with an elderly tenant is "urgent". A "low" word
("suggestion", "建议") lowers a case only from the default "normal", and only when nothing
more pressing is said.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from routing.matcher import KeywordIndex
from routing.model import Analysed, Hit
from settings import PRIORITIES

DEFAULT = "normal"
COMBINATION_SEPARATOR = "+"
_COMBINATION_OWNERS = 100  # owners from here on are combinations, not priority ranks


@dataclass(frozen=True)
class Combination:
    rank: int  # index in PRIORITIES
    phrase: str  # as configured
    parts: int


def priority_index(words: dict[str, dict[str, tuple[str, ...]]]
                   ) -> tuple[KeywordIndex, tuple[Combination, ...]]:
    """An index whose owners are ranks in PRIORITIES (0 = urgent), or for the parts of a
    combination _COMBINATION_OWNERS + its position in the returned combinations."""
    entries: list[tuple[int, str, str]] = []
    combinations: list[Combination] = []
    for priority, by_language in words.items():
        for lang, phrases in by_language.items():
            for phrase in phrases:
                parts = [p.strip() for p in phrase.split(COMBINATION_SEPARATOR) if p.strip()]
                if len(parts) < 2:
                    entries.append((PRIORITIES.index(priority), lang, phrase))
                    continue
                owner = _COMBINATION_OWNERS + len(combinations)
                combinations.append(Combination(PRIORITIES.index(priority), phrase,
                                                len(set(parts))))
                entries += [(owner, lang, part) for part in dict.fromkeys(parts)]
    return KeywordIndex(entries), tuple(combinations)


def decide(text: Analysed, index: KeywordIndex, combinations: tuple[Combination, ...],
           base: str | None, language: str | None) -> tuple[str, tuple[str, ...]]:
    """(priority, reasons); `base` is the chosen service's priority, None if no service."""
    hits = index.find(text, exact_only=True, language=language)
    found = _found(hits, combinations)
    start = base or DEFAULT
    if not found:
        return start, _base_reason(base)
    top = min(rank for rank, _ in found)
    words = ", ".join(dict.fromkeys(w for rank, w in found if rank == top))
    word_priority = PRIORITIES[top]
    if word_priority == "low":
        if start == DEFAULT:
            return "low", (f"priority low: {words}",)
        return start, _base_reason(base)
    if PRIORITIES.index(start) < top:
        return start, _base_reason(base)
    return word_priority, (f"priority {word_priority}: {words}",)


def _found(hits: list[Hit], combinations: tuple[Combination, ...]) -> list[tuple[int, str]]:
    """(rank, description) of every single word and complete combination in the hits."""
    found = [(hit.keyword.owner, _describe(hit)) for hit in hits
             if hit.keyword.owner < _COMBINATION_OWNERS]
    parts: dict[int, set[str]] = defaultdict(set)
    for hit in hits:
        if hit.keyword.owner >= _COMBINATION_OWNERS:
            parts[hit.keyword.owner - _COMBINATION_OWNERS].add(hit.keyword.phrase)
    for position, present in sorted(parts.items()):
        combination = combinations[position]
        if len(present) >= combination.parts:
            found.append((combination.rank, f"'{combination.phrase}'"))
    return found


def _base_reason(base: str | None) -> tuple[str, ...]:
    if base is None or base == DEFAULT:
        return ()
    return (f"priority {base}: the service's own priority",)


def _describe(hit: Hit) -> str:
    phrase = hit.keyword.phrase
    return f"'{phrase}'" if hit.similarity == 100 else f"'{phrase}' ({hit.similarity})"
