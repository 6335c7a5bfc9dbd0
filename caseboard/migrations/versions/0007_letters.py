"""scanned letters channel

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 11:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import caseboard.models

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'letter_print_job',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('outbox_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('recipient_name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('recipient_address', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column('pdf_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('pages', sa.Integer(), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column('created_at', caseboard.models.UTCDateTime(), nullable=False),
        sa.Column('posted_at', caseboard.models.UTCDateTime(), nullable=True),
        sa.Column('posted_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('outbox_id'),
    )
    with op.batch_alter_table('letter_print_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_letter_print_job_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_letter_print_job_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('letter_print_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_letter_print_job_status'))
        batch_op.drop_index(batch_op.f('ix_letter_print_job_case_id'))
    op.drop_table('letter_print_job')
