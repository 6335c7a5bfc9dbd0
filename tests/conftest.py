"""Fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is the server at CC_TEST_POSTGRES_URL (default 127.0.0.1:5432, user postgres).
Outside CI a missing server skips those tests with the reason shown; with CI=true it fails.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from caseboard import auth
from caseboard.db import Database, migrate
from caseboard.services import Services, build_services, prepare_database
from settings import Config, load_config

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
PG_ADMIN_URL = os.environ.get("CC_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_or_skip(available: bool, reason: str) -> None:
    """Skip with a visible reason on a developer machine; fail loudly in CI."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this must not be skipped)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str | None]:
    """A throw-away PostgreSQL database for this test run, migrated once."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    # One database per pytest-xdist worker (and per run): the uuid keeps names apart, the
    # worker id tells whose a leftover database was.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"cc_test_{worker}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        admin.dispose()
        yield None if not str(error) else None
        return
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    database = Database(url)
    migrate(database)
    database.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        tables = [t for t in sa.inspect(connection).get_table_names() if t != "alembic_version"]
        connection.execute(sa.text(
            "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cc.db'}"
    url = request.getfixturevalue("postgres_database")
    require_or_skip(url is not None, f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    _empty_postgres(url)
    return str(url)


def make_config(tmp_path: Path, db_url: str, **env: str) -> Config:
    return load_config(env={"CC_DATA_DIR": str(tmp_path / "data"), "CC_DATABASE_URL": db_url,
                            "CC_DEMO": "0", **env})


@pytest.fixture
def config(tmp_path: Path, db_url: str) -> Config:
    return make_config(tmp_path, db_url)


@pytest.fixture
def services(config: Config) -> Iterator[Services]:
    built = build_services(config)
    prepare_database(built)
    yield built
    built.database.dispose()


@pytest.fixture
def app(config: Config, services: Services) -> Flask:
    from app import create_app

    application = create_app(config, services)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def token_for(services: Services) -> Callable[[str], dict[str, str]]:
    """token_for("agent") → the Authorization header of a new token with that role (an agent
    token acts for a new agent working in every department: it reads cases as that user)."""

    def make(role: str) -> dict[str, str]:
        with services.database.write() as session:
            user = None
            if role == "agent":
                user = f"test_agent_{uuid.uuid4().hex[:8]}"
                auth.create_user(session, user, role, "test-password", departments=tuple(
                    d.id for d in services.config.departments))
            token = auth.create_token(session, f"test-{role}", role, user=user)
        return {"Authorization": f"Bearer {token}"}

    return make
