"""`python app.py ingest-letter PATH…`: read scanned letters from files or folders.

Prints one line per file (the case reference created or joined) and a summary; a file that
cannot be taken is copied to quarantine with its reason, named on stderr, and the exit
status is 1. The files given stay where they are.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from caseboard.services import build_services, prepare_database
from channels.letters.inbox import FileOutcome, process_file
from settings import Config

SCAN_SUFFIXES = {".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg"}


def expand(paths: list[str]) -> list[Path]:
    """Files as given; folders become their scan files (sorted)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(p for p in path.iterdir()
                            if p.is_file() and p.suffix.lower() in SCAN_SUFFIXES)
        else:
            files.append(path)
    return files


def run_ingest(config: Config, paths: list[str]) -> int:
    files = expand(paths)
    missing = [f for f in files if not f.is_file()]
    if missing:
        print(f"error: {missing[0]}: no such file", file=sys.stderr)
        return 1
    if not files:
        print("error: no scan files (PDF, TIFF, PNG, JPEG) found", file=sys.stderr)
        return 1
    services = build_services(config)
    prepare_database(services)
    counts = {"created": 0, "joined": 0, "duplicate": 0, "quarantined": 0}
    try:
        with ThreadPoolExecutor(min(config["letters.workers"], len(files))) as pool:
            outcomes = pool.map(lambda f: process_file(services, f, remove=False), files)
            for number, outcome in enumerate(outcomes, start=1):
                _report(number, len(files), outcome, counts)
    finally:
        services.database.dispose()
    print(f"{len(files)} file(s): {counts['created']} new case(s), {counts['joined']} joined, "
          f"{counts['duplicate']} already taken, {counts['quarantined']} quarantined", flush=True)
    return 1 if counts["quarantined"] else 0


def _report(number: int, total: int, outcome: FileOutcome, counts: dict[str, int]) -> None:
    if outcome.duplicate_of or outcome.skipped:
        # Read before (or being read right now by serve): not read a second time.
        counts["duplicate"] += 1
        said = f"{outcome.duplicate_of} (duplicate)" if outcome.duplicate_of else outcome.skipped
        print(f"[{number}/{total}] {outcome.path.name}: {said}", flush=True)
        return
    if outcome.letter is None:
        counts["quarantined"] += 1
        print(f"error: {outcome.path}: {outcome.reason}", file=sys.stderr, flush=True)
        return
    result = outcome.letter.result
    counts[result.outcome.value] += 1
    check = sum(page.check_text for page in outcome.letter.pages)
    note = f", {check} page(s) to check" if check else ""
    print(f"[{number}/{total}] {outcome.path.name}: {result.reference} ({result.outcome.value}"
          f"{note})", flush=True)
