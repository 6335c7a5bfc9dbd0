"""Reading a letter: pages → OCR lines → text per page, with confidence and a 'check' flag."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from PIL import Image

from channels.letters.ocr import OcrEngine, OcrLine


@dataclass(frozen=True)
class PageText:
    number: int
    lines: tuple[OcrLine, ...]
    text: str
    confidence: float
    check_text: bool

    def as_dict(self) -> dict[str, object]:
        return {"number": self.number, "text": self.text, "confidence": round(self.confidence, 3),
                "check_text": self.check_text,
                "lines": [{"text": line.text, "confidence": round(line.confidence, 3)}
                          for line in self.lines]}


def _mean_confidence(lines: list[OcrLine]) -> float:
    """Confidence weighted by length: a long line read well counts more than a stray mark."""
    total = sum(len(line.text) for line in lines)
    if not total:
        return 0.0
    return sum(line.confidence * len(line.text) for line in lines) / total


def _read_upright(engine: OcrEngine, image: Image.Image) -> list[OcrLine]:
    lines = engine.read(image)
    if _mean_confidence(lines) >= 0.8 and len(lines) >= 2:
        return lines
    # Poorly read: perhaps the page was fed upside down. Keep whichever reads better.
    flipped = engine.read(image.rotate(180))
    if _mean_confidence(flipped) > _mean_confidence(lines) + 0.05:
        return flipped
    return lines


def page_text(lines: list[OcrLine]) -> str:
    """Lines top to bottom, left to right on one row; a blank line where a block ends."""
    if not lines:
        return ""
    heights = [line.height for line in lines if line.height > 0] or [1.0]
    row_height = statistics.median(heights)
    ordered = sorted(lines, key=lambda line: (round(line.top / (row_height * 0.6)), line.left))
    out: list[str] = []
    previous: OcrLine | None = None
    for line in ordered:
        if previous is not None and line.top - previous.bottom > row_height * 0.9:
            out.append("")
        out.append(line.text)
        previous = line
    return "\n".join(out)


def read_pages(engine: OcrEngine, images: list[Image.Image], check_below: float
               ) -> list[PageText]:
    pages = []
    for number, image in enumerate(images, start=1):
        lines = _read_upright(engine, image)
        confidence = _mean_confidence(lines)
        pages.append(PageText(number, tuple(lines), page_text(lines), confidence,
                              check_text=confidence < check_below))
    return pages
