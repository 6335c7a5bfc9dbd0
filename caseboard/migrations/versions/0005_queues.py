"""case board: queue indexes and search

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 11:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import caseboard.board_models  # noqa: F401  (its tables and indexes join the metadata)
import caseboard.models  # noqa: F401

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'case_term',
        sa.Column('term', sa.String(length=40), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('term', 'case_id'),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_assigned_status', ['assigned_user_id', 'status'])
        batch_op.create_index('ix_cases_status', ['status'])
        batch_op.create_index('ix_cases_updated_at', ['updated_at'])
    _index_existing_cases()  # cases from before this migration become searchable too


def _index_existing_cases() -> None:
    from caseboard.case_search import terms

    connection = op.get_bind()
    rows = connection.execute(sa.text(
        "SELECT c.id, c.subject, m.text FROM cases c LEFT JOIN message m"
        " ON m.case_id = c.id AND m.direction = 'in' ORDER BY c.id"))
    found: dict[int, set[str]] = {}
    for case_id, subject, text in rows:
        found.setdefault(case_id, set()).update(terms(f"{subject}\n{text or ''}"))
    values = [{"term": term, "case_id": case_id}
              for case_id, words in found.items() for term in words]
    if values:
        connection.execute(sa.text("INSERT INTO case_term (term, case_id)"
                                   " VALUES (:term, :case_id)"), values)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_updated_at')
        batch_op.drop_index('ix_cases_status')
        batch_op.drop_index('ix_cases_assigned_status')
    op.drop_table('case_term')
