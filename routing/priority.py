"""Priority: the service's own priority, raised by alarming words in the text.

Words are matched like keywords, but only whole (no near or partial hits): "fire" is not in
"fireworks" and "ice" is not in "police". A "low" word ("suggestion", "建议") lowers a case
only from the default "normal", and only when nothing more pressing is said.
"""

from __future__ import annotations

from collections.abc import Iterable

from routing.matcher import KeywordIndex
from routing.model import Analysed, Hit
from settings import PRIORITIES

DEFAULT = "normal"


def priority_index(words: dict[str, dict[str, tuple[str, ...]]]) -> KeywordIndex:
    """An index whose owners are ranks in PRIORITIES (0 = urgent)."""
    return KeywordIndex(
        (PRIORITIES.index(priority), lang, word)
        for priority, by_language in words.items()
        for lang, phrases in by_language.items()
        for word in phrases
    )


def decide(text: Analysed, index: KeywordIndex, base: str | None,
           language: str | None) -> tuple[str, tuple[str, ...]]:
    """(priority, reasons); `base` is the chosen service's priority, None if no service."""
    hits = index.find(text, exact_only=True, language=language)
    start = base or DEFAULT
    if not hits:
        return start, _base_reason(base)
    top = min(hit.keyword.owner for hit in hits)
    words = _words(h for h in hits if h.keyword.owner == top)
    word_priority = PRIORITIES[top]
    if word_priority == "low":
        if start == DEFAULT:
            return "low", (f"priority low: {words}",)
        return start, _base_reason(base)
    if PRIORITIES.index(start) < top:
        return start, _base_reason(base)
    return word_priority, (f"priority {word_priority}: {words}",)


def _base_reason(base: str | None) -> tuple[str, ...]:
    if base is None or base == DEFAULT:
        return ()
    return (f"priority {base}: the service's own priority",)


def _words(hits: Iterable[Hit]) -> str:
    seen: dict[str, int] = {}
    for hit in hits:
        phrase = hit.keyword.phrase
        seen[phrase] = max(seen.get(phrase, 0), hit.similarity)
    return ", ".join(f"'{p}'" if s == 100 else f"'{p}' ({s})" for p, s in seen.items())
