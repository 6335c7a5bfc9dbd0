"""phone and SMS channel

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 11:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

import caseboard.models

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = caseboard.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'sms_opt_out',
        sa.Column('number', sa.String(length=64), nullable=False),
        sa.Column('opted_out', sa.Boolean(), nullable=False),
        sa.Column('keyword', sa.String(length=32), nullable=False),
        sa.Column('changed_at', UTC(), nullable=False),
        sa.PrimaryKeyConstraint('number'),
    )
    op.create_table(
        'phone_call',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('call_sid', sa.String(length=64), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('from_number', sa.String(length=64), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('department_id', sa.String(length=64), nullable=True),
        sa.Column('agent', sa.String(length=64), nullable=False),
        sa.Column('created_at', UTC(), nullable=False),
        sa.Column('queued_at', UTC(), nullable=True),
        sa.Column('ended_at', UTC(), nullable=True),
        sa.Column('updated_at', UTC(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('call_sid'),
    )
    with op.batch_alter_table('phone_call', schema=None) as batch_op:
        batch_op.create_index('ix_phone_call_case_id', ['case_id'], unique=False)
        batch_op.create_index('ix_phone_call_waiting', ['status', 'department_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('phone_call', schema=None) as batch_op:
        batch_op.drop_index('ix_phone_call_waiting')
        batch_op.drop_index('ix_phone_call_case_id')
    op.drop_table('phone_call')
    op.drop_table('sms_opt_out')
