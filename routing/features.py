"""Features of a citizen's text for the learned model: words, word pairs, the letters inside
words (typos, speech and OCR errors still share most of them), Chinese characters and
character pairs (Chinese has no spaces, and most words are two characters long), and the
marks around words that the rest drops: runs of punctuation ("////printed", a street-light
crew's note) and a heading before a colon ("Fire: Odor of Gas", "Re: bins"), which web forms,
e-mail subjects and agents' notes use to say what a text is about."""

from __future__ import annotations

import re
from collections import Counter
from operator import add

from routing.text import cjk_stream, normalise, words

# Only the start of a very long text is read: a 100 kB letter is decided by its first pages,
# and a decision must stay within milliseconds whatever the length.
MAX_CHARS = 6000
_MAX_WORD_GRAMS_LENGTH = 24  # longer "words" are URLs, hashes, base64: no letter grams
_MARKS_RE = re.compile(r"[!-/:-@\[-`{-~]+")  # runs of ASCII punctuation (not emoji)
_MAX_MARKS = 8  # "////////////" says no more than "////////"
# A word right before a colon. The look-behind keeps it linear: without it, each character
# of a long run of Chinese (\w) would start a new attempt that reads to the run's end.
_COLON_WORD_RE = re.compile(r"(?<!\w)(\w+):")
_HEADING_CHARS = 80  # a heading ends with a colon near the start


def extract(text: str) -> Counter[str]:
    """Feature → count for `text` (empty for text with nothing to read, such as emoji)."""
    normalised = normalise(text[:MAX_CHARS])
    counts: Counter[str] = Counter()
    tokens = words(normalised)
    for i, token in enumerate(tokens):
        counts["w " + token] += 1
        if i:
            counts["p " + tokens[i - 1] + " " + token] += 1
        if len(token) <= _MAX_WORD_GRAMS_LENGTH and not token.isdigit():
            padded = f"<{token}>"
            for k in range(len(padded) - 2):
                counts["l " + padded[k:k + 3]] += 1
    cjk = cjk_stream(normalised)
    if cjk:
        # Characters and character pairs need no prefix: Latin features all have one. Counted
        # with C-level loops, as a long Chinese letter has thousands of them.
        counts.update(cjk.replace(" ", ""))
        counts.update(map(add, cjk, cjk[1:]))
        for broken in [f for f in counts if len(f) == 2 and " " in f]:
            del counts[broken]  # pairs across a run of Latin text
    if counts:  # marks alone ("???") are not something to read
        _marks(normalised, counts)
    return counts


def _marks(normalised: str, counts: Counter[str]) -> None:
    counts.update("y " + run[:_MAX_MARKS] for run in _MARKS_RE.findall(normalised))
    counts.update("u " + word for word in _COLON_WORD_RE.findall(normalised))
    head, colon, _ = normalised[:_HEADING_CHARS].partition(":")
    if colon and (heading := words(head)):
        counts["h " + " ".join(heading)] += 1
