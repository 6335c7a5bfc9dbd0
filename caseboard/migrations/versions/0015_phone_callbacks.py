"""phone: call-back tasks left by voicemails and call-back requests

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-02 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import caseboard.models

revision: str = '0015'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = caseboard.models.UTCDateTime
TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        'phone_callback',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('call_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('department_id', TEXT(length=64), nullable=False),
        sa.Column('number', TEXT(length=64), nullable=False),
        sa.Column('kind', TEXT(length=16), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=True),
        sa.Column('status', TEXT(length=16), nullable=False),
        sa.Column('agent', TEXT(length=64), nullable=False),
        sa.Column('created_at', UTC(), nullable=False),
        sa.Column('taken_at', UTC(), nullable=True),
        sa.Column('done_at', UTC(), nullable=True),
        sa.ForeignKeyConstraint(['call_id'], ['phone_call.id']),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.ForeignKeyConstraint(['message_id'], ['message.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('call_id', name='uq_phone_callback_call'))
    op.create_index('ix_phone_callback_open', 'phone_callback', ['status', 'department_id'])


def downgrade() -> None:
    op.drop_index('ix_phone_callback_open', table_name='phone_callback')
    op.drop_table('phone_callback')
