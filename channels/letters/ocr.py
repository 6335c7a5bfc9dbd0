"""OCR engines behind one small interface: RapidOCR (default, models in its wheel) or Tesseract.

An engine turns one page image into lines with a confidence and a box. Loading a model takes
about a second, so each worker thread keeps its own engine (engine_for) for its whole life.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class OcrLine:
    text: str
    confidence: float  # 0..1
    left: float
    top: float
    right: float
    bottom: float

    @property
    def height(self) -> float:
        return self.bottom - self.top


class OcrEngine(Protocol):
    name: str

    def read(self, image: Image.Image) -> list[OcrLine]: ...


class RapidOcrEngine:
    """RapidOCR on ONNX Runtime with the PP-OCR models its wheel carries: no download."""

    name = "rapidocr"

    def __init__(self, threads: int = 1) -> None:
        from rapidocr import RapidOCR

        self._ocr: Any = RapidOCR(params={
            "Global.log_level": "error",
            # No per-line 180° classifier: an upside-down page then reads poorly and
            # reading.py turns the whole page, which also keeps the line order right.
            "Global.use_cls": False,
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        })

    def read(self, image: Image.Image) -> list[OcrLine]:
        array = np.asarray(image.convert("RGB"))[:, :, ::-1]  # RapidOCR expects BGR
        result = self._ocr(np.ascontiguousarray(array))
        if result.boxes is None or not result.txts:
            return []
        lines = []
        for box, text, score in zip(result.boxes, result.txts, result.scores, strict=False):
            xs, ys = [float(p[0]) for p in box], [float(p[1]) for p in box]
            if text.strip():
                lines.append(OcrLine(text.strip(), float(score), min(xs), min(ys), max(xs),
                                     max(ys)))
        return lines


class TesseractEngine:
    """The tesseract command where it is installed (English and simplified Chinese)."""

    name = "tesseract"

    def __init__(self, languages: str = "eng+chi_sim") -> None:
        if shutil.which("tesseract") is None:
            raise RuntimeError("letters.ocr_engine = tesseract, but tesseract is not installed")
        self.languages = languages

    def read(self, image: Image.Image) -> list[OcrLine]:
        buffer = io.BytesIO()
        image.convert("L").save(buffer, format="PNG")
        tsv = subprocess.run(
            ["tesseract", "stdin", "stdout", "-l", self.languages, "tsv"],
            input=buffer.getvalue(), capture_output=True, check=True, timeout=300).stdout
        return _lines_from_tsv(tsv.decode("utf-8", "replace"))


def _lines_from_tsv(tsv: str) -> list[OcrLine]:
    """Tesseract reports words; join them per (block, paragraph, line)."""
    groups: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        if row.get("level") == "5" and (row.get("text") or "").strip():
            groups.setdefault((row["block_num"], row["par_num"], row["line_num"]), []).append(row)
    lines = []
    for words in groups.values():
        left = min(int(w["left"]) for w in words)
        top = min(int(w["top"]) for w in words)
        right = max(int(w["left"]) + int(w["width"]) for w in words)
        bottom = max(int(w["top"]) + int(w["height"]) for w in words)
        confidence = sum(max(float(w["conf"]), 0) for w in words) / len(words) / 100
        lines.append(OcrLine(" ".join(w["text"] for w in words), confidence, left, top, right,
                             bottom))
    return lines


_local = threading.local()


def engine_for(name: str) -> OcrEngine:
    """This thread's engine, loaded on first use and kept: one model load per worker."""
    engines: dict[str, OcrEngine] = getattr(_local, "engines", None) or {}
    _local.engines = engines
    if name not in engines:
        engines[name] = make_engine(name)
    return engines[name]


def make_engine(name: str) -> OcrEngine:
    if name == "rapidocr":
        return RapidOcrEngine()
    if name == "tesseract":
        return TesseractEngine()
    raise ValueError(f"unknown OCR engine {name!r}")
