"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

# Every module that declares tables, so the comparison sees the whole schema. The migrations
# themselves do not import the channels (the case board never imports channels).
import caseboard.board_models  # noqa: F401
import caseboard.case_models  # noqa: F401
import caseboard.models  # noqa: F401
import caseboard.supervisor_models  # noqa: F401
import channels.letters.models  # noqa: F401
import channels.phone.models  # noqa: F401
import channels.webchat.models  # noqa: F401
import knowledge_base.models  # noqa: F401
from caseboard.db import alembic_config, migrate
from caseboard.services import Services


def test_migrations_match_the_models(services: Services) -> None:
    with services.database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == [], "a model changed without a migration: " + repr(differences)


def test_migrating_again_is_harmless(services: Services) -> None:
    migrate(services.database)
    migrate(services.database)
    with services.database.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    assert current == ScriptDirectory.from_config(alembic_config("")).get_current_head()
