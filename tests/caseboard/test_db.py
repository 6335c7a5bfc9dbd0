"""SQLite settings that the durability promise rests on."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from caseboard.db import Database


@pytest.mark.parametrize("mode, expected", [("full", 2), ("normal", 1)])
def test_sqlite_runs_in_wal_with_the_configured_durability(tmp_path: Path, mode: str,
                                                           expected: int) -> None:
    database = Database(f"sqlite:///{tmp_path / 'x.db'}", mode)
    try:
        with database.read() as session:
            assert session.execute(sa.text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert session.execute(sa.text("PRAGMA synchronous")).scalar_one() == expected
            assert session.execute(sa.text("PRAGMA foreign_keys")).scalar_one() == 1
    finally:
        database.dispose()


def test_unknown_durability_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous"):
        Database(f"sqlite:///{tmp_path / 'x.db'}", "off")
