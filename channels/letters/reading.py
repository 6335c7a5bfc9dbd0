"""Reading a letter: pages → OCR lines → text per page (in reading order, layout.py), with
confidence and a 'check' flag."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from channels.letters.layout import page_text
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


def _chars(lines: list[OcrLine]) -> int:
    return sum(len(line.text) for line in lines)


def _sideways(lines: list[OcrLine]) -> bool:
    """Most of the text sits in boxes taller than wide: the lines run up or down the page."""
    tall = sum(len(ln.text) for ln in lines
               if len(ln.text) > 2 and ln.height > 1.5 * (ln.right - ln.left))
    return tall > 0.6 * max(_chars(lines), 1)


def _read_upright(engine: OcrEngine, image: Image.Image) -> list[OcrLine]:
    lines = engine.read(image)
    sideways = _sideways(lines)
    if not sideways and _mean_confidence(lines) >= 0.8 and _chars(lines) >= 4:
        return lines
    # Fed sideways or upside down (or just poorly read): turn the page and keep the reading
    # that is surest among those that found a fair share of the text.
    angles = (90, 270) if sideways else (180, 90, 270)
    readings = [engine.read(image.rotate(angle, expand=True)) for angle in angles]
    if not sideways:
        readings.append(lines)
    most = max(_chars(reading) for reading in readings)
    fair = [r for r in readings if _chars(r) >= most / 2 and not _sideways(r)] or readings
    return max(fair, key=_mean_confidence)


def read_pages(engine: OcrEngine, images: list[Image.Image], check_below: float
               ) -> list[PageText]:
    pages = []
    for number, image in enumerate(images, start=1):
        lines = _read_upright(engine, image)
        confidence = _mean_confidence(lines)
        pages.append(PageText(number, tuple(lines), page_text(lines), confidence,
                              check_text=confidence < check_below))
    return pages
