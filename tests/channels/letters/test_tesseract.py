"""The Tesseract engine (letters.ocr_engine = tesseract) on real scans and a generated letter.

Tesseract is installed by the README's test command (apt-get install tesseract-ocr
tesseract-ocr-chi-sim); without it these tests skip with that line, and fail under CI=true.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from caseboard.models import Case
from caseboard.services import build_services, prepare_database
from channels.letters import ingest, ocr
from channels.letters.accuracy import character_accuracy
from channels.letters.ocr import TesseractEngine
from channels.letters.pages import load_pages
from channels.letters.reading import read_pages
from tests.channels.letters.conftest import SCANS, as_jpeg, english_letter, letter_image
from tests.conftest import make_config, require_or_skip

INSTALL = "apt-get install tesseract-ocr tesseract-ocr-chi-sim (as .ci/run does)"
# Measured by bench/letters.py: 100.0, 97.6 and 97.8 %; the floors leave room for noise.
TESSERACT_SCANS = [("en/tess_phototest.tif", "en/tess_phototest.gold.txt", 98.0),
                   ("en/tess_eurotext.tif", "en/tess_eurotext.txt", 95.0),
                   ("zh/cnocr_multi-line_cn1.png", "zh/cnocr_multi-line_cn1.gt.txt", 95.0)]


@pytest.fixture(scope="module")
def tesseract() -> TesseractEngine:
    require_or_skip(shutil.which("tesseract") is not None, f"tesseract is missing: {INSTALL}")
    languages = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True,
                               check=True).stdout.split()
    require_or_skip("chi_sim" in languages and "eng" in languages,
                    f"tesseract's eng or chi_sim data is missing: {INSTALL}")
    return TesseractEngine()


@pytest.mark.parametrize("scan, truth, floor", TESSERACT_SCANS)
def test_tesseract_reads_the_real_scans(tesseract: TesseractEngine, scan: str, truth: str,
                                        floor: float) -> None:
    pages = read_pages(tesseract, load_pages((SCANS / scan).read_bytes(), 50_000_000, 5), 0.85)
    text = "\n".join(p.text for p in pages)
    accuracy = character_accuracy(text, (SCANS / truth).read_text(encoding="utf-8"))
    assert accuracy >= floor, f"{scan}: {accuracy:.1f} % < {floor} %"
    if scan.startswith("zh/"):  # Tesseract reports each Chinese character as a word
        assert "网络支付并无本质的区别" in text


def test_a_letter_read_by_tesseract_opens_a_case(tesseract: TesseractEngine, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # conftest hands intake the session's RapidOCR engine; here the configured one is used.
    monkeypatch.setattr(ingest, "engine_for", ocr.engine_for)
    config = make_config(tmp_path, f"sqlite:///{tmp_path / 't.db'}",
                         CC_LETTERS_OCR_ENGINE="tesseract")
    services = build_services(config)
    prepare_database(services)
    try:
        assert ingest.engine_of(services).name == "tesseract"
        letter = ingest.ingest(services, as_jpeg(letter_image(english_letter())), "l.jpg")
        with services.database.read() as session:
            case = session.get(Case, letter.result.case_id)
    finally:
        services.database.dispose()
    # (Tesseract reads some specks of dust as full stops, so the name is not compared here.)
    assert letter.facts.postcode == "EX4 7QT"
    assert letter.facts.address == "14 Willow Crescent, Exampleton, EX4 7QT"
    assert case is not None and (case.department_id, case.service_code) == ("roads", "pothole")
    assert not any(page.check_text for page in letter.pages)


def test_a_missing_tesseract_language_is_a_clear_error(tesseract: TesseractEngine) -> None:
    with pytest.raises(RuntimeError, match="tesseract has no klingon language data"):
        TesseractEngine("eng+klingon")
