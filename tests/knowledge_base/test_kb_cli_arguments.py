"""kb-search and kb-gaps refuse wrong arguments with one line, and record nothing then."""

from __future__ import annotations

import json
from pathlib import Path

from tests.knowledge_base.conftest import ARTICLES
from tests.test_cli import cli_env, run


def test_limits_and_departments_are_checked(tmp_path: Path, db_url: str) -> None:
    env = cli_env(tmp_path, db_url, CC_DEMO="0")
    assert run(["kb-import", str(ARTICLES)], env).returncode == 0
    question = "my bin was not collected"
    for limit in ("0", "-3", "51"):  # 0 and -3 once still showed one result
        refused = run(["kb-search", "--json", "--limit", limit, question], env)
        assert refused.returncode == 2 and refused.stdout == ""
        assert "argument --limit:" in refused.stderr.strip().splitlines()[-1]
    one = run(["kb-search", "--json", "--limit", "1", question], env)
    assert one.returncode == 0, one.stderr
    assert [r["slug"] for r in json.loads(one.stdout)["results"]] == ["missed-bin"]

    # An unknown department found nothing, exited 0 and recorded the question as a gap.
    for args in (["bins"], ["-"]):
        unknown = run(["kb-search", "--json", "--department", "nosuch", *args], env,
                      stdin="bins\n")
        assert unknown.returncode == 2 and unknown.stdout == ""
        last = unknown.stderr.strip().splitlines()[-1]  # after the start-up's log lines
        assert last.startswith("error: unknown department 'nosuch' (one of ")
        assert "housing, licensing" in last  # the departments one may give
        assert "Traceback" not in unknown.stderr
    assert run(["kb-gaps", "--json"], env).stdout == ""
    known = run(["kb-search", "--json", "--department", "waste", question], env)
    assert json.loads(known.stdout)["results"][0]["slug"] == "missed-bin"

    assert run(["kb-gaps", "--limit", "0"], env).returncode == 2
