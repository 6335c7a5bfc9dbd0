"""Features of a citizen's text for the learned model: words, word pairs, the letters inside
words (typos, speech and OCR errors still share most of them) and Chinese characters and
character pairs (Chinese has no spaces, and most words are two characters long)."""

from __future__ import annotations

from collections import Counter
from operator import add

from routing.text import cjk_stream, normalise, words

# Only the start of a very long text is read: a 100 kB letter is decided by its first pages,
# and a decision must stay within milliseconds whatever the length.
MAX_CHARS = 6000
_MAX_WORD_GRAMS_LENGTH = 24  # longer "words" are URLs, hashes, base64: no letter grams


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
    return counts
