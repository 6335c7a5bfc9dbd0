"""The knowledge base's commands: kb-import, kb-export, kb-search, kb-gaps.

app.py adds these parsers and runs each handler with the KnowledgeBase it built.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from knowledge_base.articles import ImportFailed, KbError
from knowledge_base.service import KnowledgeBase

MAX_SEARCH_RESULTS = 50
MAX_GAPS = 1000


def _limit(high: int) -> Callable[[str], int]:
    """--limit from 1 to high: 0 or a negative number once still showed a result."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not 1 <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from 1 to {high}, got {value}")
        return value
    return parse


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("kb-import", help="import knowledge-base articles from a JSONL file")
    p.add_argument("file", help="one article per line (see README: Knowledge base)")
    p = sub.add_parser("kb-export", help="export the published articles as JSONL")
    p.add_argument("--output", help="file to write (default: standard output)")
    p = sub.add_parser("kb-search", help="search the knowledge base")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--language", choices=("en", "zh"), help="only articles in this language")
    p.add_argument("--department", help="only articles of this department")
    p.add_argument("--limit", type=_limit(MAX_SEARCH_RESULTS), default=5,
                   help=f"most results to show, 1 to {MAX_SEARCH_RESULTS} (default 5)")
    p.add_argument("question", help="the question, or - to read one question per line")
    p = sub.add_parser("kb-gaps", help="questions without a good answer, most asked first")
    p.add_argument("--limit", type=_limit(MAX_GAPS), default=50,
                   help=f"most questions to show, 1 to {MAX_GAPS} (default 50)")
    p.add_argument("--json", action="store_true", help="print JSON lines")


def cmd_import(kb: KnowledgeBase, args: argparse.Namespace) -> int:
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"error: cannot read {args.file}: {error}", file=sys.stderr)
        return 1
    try:
        counts = kb.import_lines(text.splitlines())
    except ImportFailed as failed:
        for line in failed.errors:
            print(f"{args.file}: {line}", file=sys.stderr)
        print(f"error: {failed}", file=sys.stderr)
        return 1
    print(f"imported {args.file}: {counts['created']} new, {counts['updated']} updated "
          f"(published as a new version), {counts['unchanged']} unchanged")
    return 0


def cmd_export(kb: KnowledgeBase, args: argparse.Namespace) -> int:
    lines = list(kb.export_lines())
    text = "".join(line + "\n" for line in lines)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"exported {len(lines)} articles to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_search(kb: KnowledgeBase, args: argparse.Namespace) -> int:
    if args.department and args.department not in kb.catalogue:
        # Searched, it would find nothing and record the question as a knowledge gap.
        print(f"error: unknown department {args.department!r} (one of "
              f"{', '.join(sorted(kb.catalogue))})", file=sys.stderr)
        return 2
    questions = sys.stdin.read().splitlines() if args.question == "-" else [args.question]
    status = 0
    for question in questions:
        try:
            outcome = kb.search(question, args.language, args.department, args.limit)
        except KbError as error:
            if args.question != "-":
                print(f"error: {error}", file=sys.stderr)
                return 1
            print(json.dumps({"error": str(error), "results": [], "gap": False}), flush=True)
            status = 1
            continue
        if args.json:
            print(json.dumps(outcome.as_dict(), ensure_ascii=False), flush=True)
        elif outcome.gap:
            print("no good answer (recorded as a knowledge gap)", flush=True)
        else:
            for result in outcome.results:
                print(f"{result.score:.3f}  {result.slug} ({result.language})  {result.title}",
                      flush=True)
    return status


def cmd_gaps(kb: KnowledgeBase, args: argparse.Namespace) -> int:
    for gap in kb.gaps(args.limit):
        if args.json:
            print(json.dumps({"question": gap.question, "language": gap.language,
                              "count": gap.count, "first_seen": gap.first_seen.isoformat(),
                              "last_seen": gap.last_seen.isoformat()}, ensure_ascii=False))
        else:
            print(f"{gap.count:5d}  {gap.language}  {gap.question}")
    return 0


COMMANDS: dict[str, Callable[[KnowledgeBase, argparse.Namespace], int]] = {
    "kb-import": cmd_import, "kb-export": cmd_export, "kb-search": cmd_search,
    "kb-gaps": cmd_gaps,
}
