"""OCR engines behind one small interface: RapidOCR (default, models in its wheel) or Tesseract.

An engine turns one page image into lines with a confidence and a box. Loading a model takes
about a second, so each worker thread keeps its own engine (engine_for) for its whole life.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import threading
from collections.abc import Iterable
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


def _cjk(ch: str) -> bool:
    return "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef"


def join_pieces(parts: Iterable[str]) -> str:
    """Pieces of one line: a space between words, none between Chinese characters."""
    out = ""
    for part in parts:
        if part:
            gap = "" if not out or (_cjk(out[-1]) and _cjk(part[0])) else " "
            out += gap + part
    return out


class OcrEngine(Protocol):
    name: str

    def read(self, image: Image.Image) -> list[OcrLine]: ...


class RapidOcrEngine:
    """RapidOCR on ONNX Runtime with the PP-OCR models its wheel carries: no download.

    Text detection is most of a page's time, and RapidOCR runs it at full size on anything
    whose shorter side is 736 px or more. A page that large is detected at 1280 px on its
    longer side instead (about three times faster on an A4 scan, same accuracy on the real
    scans); its lines are still read from the full page. A smaller image (a photo of a few
    words) keeps RapidOCR's own rule, which enlarges it to 736 px for detection.
    """

    name = "rapidocr"
    DETECT_SIDE = 1280
    SMALL_SIDE = 736

    def __init__(self, threads: int = 1) -> None:
        self._params = {
            "Global.log_level": "error",
            # No per-line 180° classifier: an upside-down page then reads poorly and
            # reading.py turns the whole page, which also keeps the line order right.
            "Global.use_cls": False,
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        self._pages = self._load({"Det.limit_type": "max",
                                  "Det.limit_side_len": self.DETECT_SIDE})
        self._small: Any = None  # loaded when the first small image comes

    def _load(self, detection: dict[str, object]) -> Any:
        from rapidocr import RapidOCR

        return RapidOCR(params={**self._params, **detection})

    def read(self, image: Image.Image) -> list[OcrLine]:
        if min(image.size) >= self.SMALL_SIDE:
            ocr = self._pages
        else:
            ocr = self._small = self._small or self._load({})
        array = np.asarray(image.convert("RGB"))[:, :, ::-1]  # RapidOCR expects BGR
        result = ocr(np.ascontiguousarray(array))
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
    """The tesseract command where it is installed (apt-get install tesseract-ocr
    tesseract-ocr-chi-sim): English and simplified Chinese, one process per page."""

    name = "tesseract"

    def __init__(self, languages: str = "eng+chi_sim") -> None:
        if shutil.which("tesseract") is None:
            raise RuntimeError("letters.ocr_engine = tesseract, but tesseract is not installed "
                               "(apt-get install tesseract-ocr tesseract-ocr-chi-sim)")
        installed = _tesseract_languages()
        missing = [lang for lang in languages.split("+") if lang not in installed]
        if missing:
            raise RuntimeError(f"tesseract has no {', '.join(missing)} language data "
                               "(apt-get install tesseract-ocr-chi-sim)")
        self.languages = languages
        # One thread per process: serve already runs one page per OCR worker, and OpenMP
        # threads on top of that only fight over the same cores.
        self._env = {**os.environ, "OMP_THREAD_LIMIT": "1"}

    def read(self, image: Image.Image) -> list[OcrLine]:
        buffer = io.BytesIO()
        image.convert("L").save(buffer, format="PNG")
        done = subprocess.run(
            ["tesseract", "stdin", "stdout", "-l", self.languages, "--psm", "3", "tsv"],
            input=buffer.getvalue(), capture_output=True, timeout=300, env=self._env)
        if done.returncode != 0:
            raise RuntimeError("tesseract failed: "
                               + done.stderr.decode("utf-8", "replace").strip()[-300:])
        return _lines_from_tsv(done.stdout.decode("utf-8", "replace"))


def _tesseract_languages() -> set[str]:
    listed = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True,
                            timeout=30, check=True).stdout
    return {line.strip() for line in listed.splitlines()[1:] if line.strip()}


def _lines_from_tsv(tsv: str) -> list[OcrLine]:
    """Tesseract reports words; join them per (block, paragraph, line). Its confidence is
    0..100 per word, -1 for what is not a word."""
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
        text = join_pieces(w["text"].strip() for w in words)
        weights = [len(w["text"].strip()) for w in words]
        confidence = sum(max(float(w["conf"]), 0) * n for w, n in zip(words, weights,
                                                                     strict=True))
        lines.append(OcrLine(text, confidence / sum(weights) / 100, left, top, right, bottom))
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
