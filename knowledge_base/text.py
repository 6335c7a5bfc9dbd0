"""Turning citizen text into search terms: English words (lightly stemmed), Chinese bigrams.

Chinese is written without spaces, so every run of Han characters becomes its overlapping
character bigrams ("垃圾清运" → 垃圾, 圾清, 清运); a lone character stays a unigram. English
words lose case, stop words and common suffixes, so "collected", "collection" and "collects"
meet at "collect".
"""

from __future__ import annotations

import re
import unicodedata

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"([{_HAN}]+)|([0-9a-z]+)")
_HAN_RUN = re.compile(rf"[{_HAN}]")

_STOP_WORDS = """
a about above after again all am an and any are as at be been being below between both but by
can could did do does doing down during each few for from further had has have having he her
here hers him his how i if in into is it its itself just me more most my myself no nor not now
of off on once only or other our ours out over own please same she should so some such than
that the their them then there these they this those through to too under until up very was
we were what when where which while who whom why will with would you your yours hi hello dear
sir madam thank thanks get got im ive dont can't cant want wanted need needs like know tell
ok okay um uh er erm yeah yes well also still even really just
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())

# Chinese function words and politeness that carry no topic; removed before making bigrams.
_ZH_NOISE = re.compile("|".join((
    "请问", "你好", "您好", "谢谢", "我想", "我要", "怎么", "怎样", "如何", "什么", "哪里", "可以",
    "需要", "一下", "的", "了", "吗", "呢", "吧", "啊", "我", "你", "您", "是", "在", "有")))


def normalise(text: str) -> str:
    """NFKC (full-width letters and digits become ASCII), lower case, single spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(text.split())


def has_han(text: str) -> bool:
    return _HAN_RUN.search(text) is not None


def stem(word: str) -> str:
    """A deliberately small suffix stripper: consistent, not linguistically perfect."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, keep in (("ational", "ate"), ("ation", "ate"), ("ness", ""), ("ment", ""),
                         ("ies", "y"), ("ing", ""), ("ied", "y"), ("ed", ""), ("ly", ""),
                         ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            if suffix == "es" and not word.endswith(("ches", "shes", "sses", "xes", "zes")):
                continue
            base = word[: len(word) - len(suffix)] + keep
            # "stopped" → "stopp" → "stop"; "filling" → "fill" keeps its double l.
            if suffix in ("ing", "ed") and len(base) > 3 and base[-1] == base[-2] \
                    and base[-1] not in "lsz":
                base = base[:-1]
            return base
    return word


def english_words(text: str) -> list[str]:
    """The content words of a (normalised) text, unstemmed, in order."""
    return [m.group(2) for m in _TOKEN.finditer(text)
            if m.group(2) and m.group(2) not in STOP_WORDS]


def han_terms(run: str) -> list[str]:
    run = _ZH_NOISE.sub(" ", run)
    terms: list[str] = []
    for part in run.split():
        # Unigrams too: "长霉" and "发霉" share only 霉. Search weighs them low (UNIGRAM_WEIGHT).
        terms.extend(part)
        terms.extend(part[i:i + 2] for i in range(len(part) - 1))
    return terms


def terms(text: str) -> list[str]:
    """Search terms of any text, in order, with repeats (term frequency matters)."""
    out: list[str] = []
    for match in _TOKEN.finditer(normalise(text)):
        han, word = match.groups()
        if han:
            out.extend(han_terms(han))
        elif word not in STOP_WORDS and (len(word) > 1 or word.isdigit()):
            out.append(stem(word))
    return out
