"""How OCR text is scored against a ground truth (the letters tests and bench/letters.py).

Character accuracy is rapidfuzz's ratio with whitespace ignored (line breaks and spacing are
layout, not reading). Typographic twins are folded first: a ground truth typed with curly
quotes and en dashes (’ “ ” –) for a page printed with ' " - is not a reading error, so both
sides use the plain character. `raw_accuracy` keeps the unfolded figure for reports.
"""

from __future__ import annotations

from rapidfuzz import fuzz

_TYPOGRAPHIC_TWINS = str.maketrans({"‘": "'", "’": "'", "‚": "'", "′": "'",
                                    "“": '"', "”": '"', "„": '"', "″": '"',
                                    "–": "-", "—": "-", "‐": "-", "‑": "-", "−": "-"})


def _squeezed(text: str) -> str:
    return "".join(text.split())


def raw_accuracy(read: str, truth: str) -> float:
    """Percentage of characters right, whitespace ignored, nothing folded."""
    return fuzz.ratio(_squeezed(read), _squeezed(truth))


def character_accuracy(read: str, truth: str) -> float:
    """Percentage of characters right, whitespace ignored, typographic twins folded."""
    return raw_accuracy(read.translate(_TYPOGRAPHIC_TWINS), truth.translate(_TYPOGRAPHIC_TWINS))
