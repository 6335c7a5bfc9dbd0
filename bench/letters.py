"""Letters channel figures: OCR pages per minute with the default worker count (against one
worker, measured in the same run), peak memory, and character accuracy per real scan in
../shared/data/scans (channels/letters/accuracy.py: rapidfuzz ratio against the ground truth,
whitespace ignored, typographic quotes and dashes folded; "raw" without folding), side by
side with Tesseract where it is installed.

    python bench/letters.py [--letters N] [--skip-baseline]

Pages are read in reading order (channels/letters/layout.py: columns and line-number margins);
"order-free" sorts the words, to tell reading order from recognition. The machine's load
average is printed first and last: other work on the 2 cores slows every figure down. Peak
memory is this process's (RapidOCR runs inside it); each tesseract is a process of its own.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rapidfuzz import fuzz  # noqa: E402

from channels.letters.accuracy import character_accuracy, raw_accuracy  # noqa: E402
from channels.letters.ocr import engine_for  # noqa: E402
from channels.letters.pages import load_pages  # noqa: E402
from channels.letters.reading import read_pages  # noqa: E402
from settings import load_config  # noqa: E402

SCANS = ROOT.parent / "shared" / "data" / "scans"
# scan → ground truth; "clean" scans are the ones the 97 % goal is about.
TRUTH = {
    "en/tess_phototest.tif": ("en/tess_phototest.gold.txt", True),
    "en/tess_eurotext.tif": ("en/tess_eurotext.txt", True),
    "en/scribe_filing_01.png": ("en/scribe_filing_01.gt.txt", True),
    "en/scribe_filing_03.png": ("en/scribe_filing_03.gt.txt", True),
    "en/scribe_deposition_02.png": ("en/scribe_deposition_02.gt.txt", True),
    "zh/cnocr_multi-line_cn1.png": ("zh/cnocr_multi-line_cn1.gt.txt", True),
    "zh/cnocr_multi-line_cn2.png": ("zh/cnocr_multi-line_cn2.gt.txt", True),
    "zh/rapidocr_text_rec.jpg": ("zh/rapidocr_text_rec.gt.txt", True),
    "en/ocrmypdf_linn.png": ("en/ocrmypdf_linn.txt", False),
    "en/ocrmypdf_ccitt.pdf": ("en/ocrmypdf_linn.txt", False),
    "en/ocrmypdf_skew.pdf": ("en/ocrmypdf_linn.txt", False),
    "en/ocrmypdf_rotated_skew.pdf": ("en/ocrmypdf_linn.txt", False),
    "en/tess_8071_093.3B.tif": ("en/tess_8071_093.3B.txt", False),
    "en/tess_8087_054.3B.tif": ("en/tess_8087_054.3B.txt", False),
    "zh/cnocr_fanti.jpg": ("zh/cnocr_fanti.gt.txt", False),
}


def read_file(engine_name: str, path: Path) -> tuple[str, int, float]:
    start = time.perf_counter()
    images = load_pages(path.read_bytes(), 100_000_000, 50)
    pages = read_pages(engine_for(engine_name), images, 0.85)
    return "\n".join(p.text for p in pages), len(pages), time.perf_counter() - start


def throughput(engine_name: str, files: list[Path], workers: int) -> tuple[float, int, float]:
    """Pages per minute through `workers` threads, each with its own engine (as serve runs)."""
    with ThreadPoolExecutor(workers) as pool:
        # Load the models and read one page per worker first: serve's workers live for hours,
        # so neither the load nor ONNX Runtime's first-run allocations belong in the rate.
        barrier = threading.Barrier(workers)

        def warm(_: int) -> None:
            barrier.wait()  # one warm-up on each thread, not two on one
            read_file(engine_name, files[0])

        list(pool.map(warm, range(workers)))
        start = time.perf_counter()
        results = list(pool.map(lambda f: read_file(engine_name, f), files))
    wall = time.perf_counter() - start
    pages = sum(r[1] for r in results)
    return pages / wall * 60, pages, wall


def generated_letters(count: int, folder: Path) -> list[Path]:
    from tests.channels.letters.conftest import as_jpeg, english_letter, letter_image

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(count):
        path = folder / f"letter-{number}.jpg"
        path.write_bytes(as_jpeg(letter_image(english_letter(), seed=number,
                                              angle=(number % 5 - 2) * 0.7)))
        paths.append(path)
    return paths


def accuracy_table(engines: list[str]) -> None:
    # "order-free" compares sorted words: ground truths that list a column first (line
    # numbers of a deposition) are not counted as reading errors there.
    print(f"{'scan':34} {'clean':5} " + " ".join(
        f"{e + ' %':>12} {'raw %':>8} {'order-free %':>12} {'s':>6}" for e in engines))
    clean: dict[str, list[float]] = {e: [] for e in engines}
    for scan, (truth_name, is_clean) in TRUTH.items():
        truth = (SCANS / truth_name).read_text(encoding="utf-8")
        cells = []
        for engine_name in engines:
            text, _, seconds = read_file(engine_name, SCANS / scan)
            score = character_accuracy(text, truth)
            raw = raw_accuracy(text, truth)
            if is_clean:
                clean[engine_name].append(score)
            free = fuzz.token_sort_ratio(text, truth)
            cells.append(f"{score:12.1f} {raw:8.1f} {free:12.1f} {seconds:6.1f}")
        print(f"{scan:34} {'yes' if is_clean else 'no':5} " + " ".join(cells), flush=True)
    for engine_name in engines:
        values = clean[engine_name]
        print(f"{engine_name}: clean scans median {statistics.median(values):.1f} %, "
              f"mean {statistics.mean(values):.1f} %, min {min(values):.1f} % (goal >= 97 %)")


def rate(engine_name: str, label: str, files: list[Path], workers: int, baseline: bool
         ) -> None:
    pages_per_minute, pages, wall = throughput(engine_name, files, workers)
    line = (f"{engine_name}, {label}: {pages_per_minute:.1f} pages/min with {workers} workers "
            f"({pages} pages, {wall:.0f} s; peak memory so far {peak_memory()})")
    if baseline and workers != 1:
        base, _, _ = throughput(engine_name, files, 1)
        line += f"; 1 worker {base:.1f} pages/min; ratio {pages_per_minute / base:.2f}"
    print(line + " (goal >= 20 pages/min)", flush=True)


def peak_memory() -> str:
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"


def load() -> str:
    return "load average " + ", ".join(f"{value:.2f}" for value in os.getloadavg()) + \
        f" on {os.cpu_count()} cores"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--letters", type=int, default=12, help="generated A4 letters")
    parser.add_argument("--skip-baseline", action="store_true", help="no 1-worker run")
    args = parser.parse_args()
    workers = load_config(env={})["letters.workers"]
    engines = ["rapidocr"] + (["tesseract"] if shutil.which("tesseract") else [])
    print(f"engines: {', '.join(engines)}; default workers: {workers}; {load()}")
    real = [SCANS / name for name in TRUTH] + [SCANS / "en/ocrmypdf_c02-22.pdf",
                                               SCANS / "en/ocrmypdf_typewriter.png",
                                               SCANS / "zh/rapidlayout_layout.jpg"]
    letters = generated_letters(args.letters, Path("/tmp/cc-bench-letters"))
    # Letters first, in a fresh process: the first peak memory printed is what serve's pool
    # of RapidOCR workers reaches (the 1-worker baseline then loads one engine more).
    rate("rapidocr", "generated A4 letters (150 dpi JPEG)", letters, workers,
         not args.skip_baseline)
    if "tesseract" in engines:  # one tesseract process per page, outside this process
        rate("tesseract", "generated A4 letters (150 dpi JPEG)", letters, workers,
             not args.skip_baseline)
    accuracy_table(engines)
    rate("rapidocr", "real scans (dense pages)", real, workers, False)
    print(f"peak memory overall (300 dpi magazine pages included): {peak_memory()}")
    print(load())
    return 0


if __name__ == "__main__":
    sys.exit(main())
