"""kb-import, kb-export, kb-search and kb-gaps as an administrator runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.knowledge_base.conftest import ARTICLES, article
from tests.test_cli import cli_env, run


def test_import_search_and_export(tmp_path: Path, db_url: str) -> None:
    env = cli_env(tmp_path, db_url, CC_DEMO="0")
    imported = run(["kb-import", str(ARTICLES)], env)
    assert imported.returncode == 0, imported.stderr
    assert "10 new" in imported.stdout

    found = run(["kb-search", "--json", "how do i get rid of an old so far"], env)
    assert found.returncode == 0, found.stderr
    answer = json.loads(found.stdout)
    assert answer["gap"] is False
    assert answer["results"][0] == {"slug": "bulky-waste", "title": "Bulky waste collection",
                                    "language": "en", "score": answer["results"][0]["score"]}
    assert 0 < answer["results"][0]["score"] <= 1

    many = run(["kb-search", "--json", "-"], env,
               stdin="my bin was not collected\n路上有个大坑\ncapital of France\n")
    assert many.returncode == 0, many.stderr
    lines = [json.loads(line) for line in many.stdout.splitlines()]
    assert [line["results"][0]["slug"] if line["results"] else None for line in lines] == [
        "missed-bin", "report-pothole", None]
    assert [line["gap"] for line in lines] == [False, False, True]

    gaps = run(["kb-gaps", "--json"], env)
    assert json.loads(gaps.stdout.splitlines()[0])["question"] == "capital of france"

    out = tmp_path / "export.jsonl"
    exported = run(["kb-export", "--output", str(out)], env)
    assert exported.returncode == 0, exported.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == 10
    to_stdout = run(["kb-export"], env)
    assert to_stdout.stdout == out.read_text(encoding="utf-8")


def test_a_bad_file_is_reported_line_by_line_and_imports_nothing(tmp_path: Path,
                                                                 db_url: str) -> None:
    env = cli_env(tmp_path, db_url, CC_DEMO="0")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([
        json.dumps(article("missed-bin")),
        json.dumps({k: v for k, v in article("bulky-waste").items() if k != "key_facts"}),
        json.dumps(article("missed-bin")),
    ]) + "\n", encoding="utf-8")
    result = run(["kb-import", str(bad)], env)
    assert result.returncode == 1
    assert "line 2: missing field(s): key_facts" in result.stderr
    assert "line 3: duplicate slug 'missed-bin'" in result.stderr
    assert "nothing was imported" in result.stderr
    assert run(["kb-export"], env).stdout == ""
    empty = run(["kb-search", "--json", "  "], env)
    assert empty.returncode == 1 and "the question is empty" in empty.stderr
