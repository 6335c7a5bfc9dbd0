"""case board: case page (viewers, links, merges, form tokens)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 11:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import caseboard.case_models  # noqa: F401  (its tables join the metadata)
import caseboard.models

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = caseboard.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'case_viewer',
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('seen_at', UTC(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('case_id', 'user_id'),
    )
    op.create_table(
        'case_link',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('other_case_id', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', UTC(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.ForeignKeyConstraint(['other_case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('case_id', 'other_case_id', name='uq_case_link_pair'),
    )
    op.create_index('ix_case_link_case_id', 'case_link', ['case_id'])
    op.create_index('ix_case_link_other_case_id', 'case_link', ['other_case_id'])
    op.create_table(
        'case_merge',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source_case_id', sa.Integer(), nullable=False),
        sa.Column('target_case_id', sa.Integer(), nullable=False),
        sa.Column('message_ids', sa.JSON(), nullable=False),
        sa.Column('source_state', sa.JSON(), nullable=False),
        sa.Column('merged_by', sa.String(length=64), nullable=False),
        sa.Column('merged_at', UTC(), nullable=False),
        sa.Column('undone_by', sa.String(length=64), nullable=True),
        sa.Column('undone_at', UTC(), nullable=True),
        sa.ForeignKeyConstraint(['source_case_id'], ['cases.id']),
        sa.ForeignKeyConstraint(['target_case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_case_merge_source_case_id', 'case_merge', ['source_case_id'])
    op.create_index('ix_case_merge_target_case_id', 'case_merge', ['target_case_id'])
    op.create_table(
        'form_submission',
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTC(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.ForeignKeyConstraint(['message_id'], ['message.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('token'),
    )


def downgrade() -> None:
    op.drop_table('form_submission')
    op.drop_index('ix_case_merge_target_case_id', table_name='case_merge')
    op.drop_index('ix_case_merge_source_case_id', table_name='case_merge')
    op.drop_table('case_merge')
    op.drop_index('ix_case_link_other_case_id', table_name='case_link')
    op.drop_index('ix_case_link_case_id', table_name='case_link')
    op.drop_table('case_link')
    op.drop_table('case_viewer')
