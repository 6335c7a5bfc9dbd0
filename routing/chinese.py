"""Chinese keywords against the CJK stream of a text (no spaces to split words on).

A keyword matches as a substring; or with one character inserted ("垃圾没人收" for
"垃圾没收"); or, from four characters, as its two-character words close together in any
order ("乱倒建筑垃圾" for "乱倒垃圾"). A *wrong* character is never tolerated: in Chinese it
usually changes the meaning ("过期药品", expired medicine, is not "过期食品", expired food).
"""

from __future__ import annotations

from rapidfuzz.distance import LCSseq

from routing.model import EXACT, NEAR, NEAR_FACTOR, Analysed, Hit, Keyword, repeat_factor

INSERTION_SCORE = 90
_NEAR_SLACK = 4  # extra characters allowed between a keyword's words in a near hit


def match(keyword: Keyword, text: Analysed, exact_only: bool) -> Hit | None:
    start = text.cjk.find(keyword.cjk)
    if start >= 0:
        strength = keyword.weight * repeat_factor(text.cjk.count(keyword.cjk))
        return Hit(keyword, EXACT, 100, strength, _span(start, len(keyword.cjk)))
    if exact_only or len(keyword.cjk) < 3:
        return None
    return _with_insertion(keyword, text) or _near(keyword, text)


def _span(start: int, length: int) -> frozenset[int]:
    return frozenset(-1 - p for p in range(start, start + length))


def _with_insertion(keyword: Keyword, text: Analysed) -> Hit | None:
    kw, n = keyword.cjk, len(keyword.cjk)
    shared = [g for g in keyword.grams if g in text.cjk_grams]
    if len(shared) < max(1, len(keyword.grams) - 1):  # an insertion breaks one bigram
        return None
    for gram in shared:
        at = text.cjk.find(gram)
        for start in range(max(0, at - n + 1), at + 1):
            if LCSseq.similarity(kw, text.cjk[start:start + n + 1]) == n:
                strength = keyword.weight * INSERTION_SCORE / 100
                return Hit(keyword, EXACT, INSERTION_SCORE, strength, _span(start, n + 1))
    return None


def _near(keyword: Keyword, text: Analysed) -> Hit | None:
    kw, parts = keyword.cjk, keyword.parts  # parts: none below four characters
    if not parts:
        return None
    if not all(p[:2] in text.cjk_grams for p in parts):
        return None
    window = len(kw) + _NEAR_SLACK
    for anchor in _occurrences(text.cjk, parts[0]):
        span = set(range(anchor, anchor + len(parts[0])))
        for part in parts[1:]:
            near = [p for p in _occurrences(text.cjk, part) if abs(p - anchor) <= window]
            if not near:
                break
            span.update(range(near[0], near[0] + len(part)))
        else:
            if max(span) - min(span) < window:
                strength = keyword.weight * NEAR_FACTOR
                return Hit(keyword, NEAR, 100, strength, frozenset(-1 - p for p in span))
    return None


def _occurrences(text: str, part: str) -> list[int]:
    found: list[int] = []
    at = text.find(part)
    while at >= 0 and len(found) < 20:
        found.append(at)
        at = text.find(part, at + 1)
    return found
