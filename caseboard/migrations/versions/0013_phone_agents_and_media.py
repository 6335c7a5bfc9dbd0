"""phone: agents' numbers for calls put through, MMS media fetched after the webhook

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-02 15:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import caseboard.models

revision: str = '0013'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = caseboard.models.UTCDateTime
TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        'phone_agent',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('number', TEXT(length=32), nullable=False),
        sa.Column('browser_until', UTC(), nullable=True),
        sa.Column('updated_at', UTC(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('user_id'))
    op.create_table(
        'phone_media',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('url', TEXT(length=1000), nullable=False),
        sa.Column('content_type', TEXT(length=100), nullable=False),
        sa.Column('status', TEXT(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', UTC(), nullable=False),
        sa.Column('last_error', TEXT(length=500), nullable=False),
        sa.Column('created_at', UTC(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.ForeignKeyConstraint(['message_id'], ['message.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_id', 'position', name='uq_phone_media_message_position'))
    op.create_index('ix_phone_media_due', 'phone_media', ['status', 'next_attempt_at'])


def downgrade() -> None:
    op.drop_index('ix_phone_media_due', table_name='phone_media')
    op.drop_table('phone_media')
    op.drop_table('phone_agent')
