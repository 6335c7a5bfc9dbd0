"""web chat channel

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 11:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import caseboard.models

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


UTC = caseboard.models.UTCDateTime
STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        'chat_session',
        sa.Column('id', STR(length=40), nullable=False),
        sa.Column('status', STR(length=16), nullable=False),
        sa.Column('language', STR(length=8), nullable=False),
        sa.Column('display_name', STR(length=80), nullable=False),
        sa.Column('origin', STR(length=200), nullable=False),
        sa.Column('address', STR(length=64), nullable=False),
        sa.Column('question', STR(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('department_id', STR(length=40), nullable=False),
        sa.Column('agent_user_id', sa.Integer(), nullable=True),
        sa.Column('contact_email', STR(length=320), nullable=False),
        sa.Column('contact_phone', STR(length=40), nullable=False),
        sa.Column('ended_reason', STR(length=40), nullable=False),
        sa.Column('created_at', UTC(), nullable=False),
        sa.Column('queued_at', UTC(), nullable=True),
        sa.Column('taken_at', UTC(), nullable=True),
        sa.Column('ended_at', UTC(), nullable=True),
        sa.Column('citizen_typing_at', UTC(), nullable=True),
        sa.Column('agent_typing_at', UTC(), nullable=True),
        sa.ForeignKeyConstraint(['agent_user_id'], ['users.id']),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('chat_session', schema=None) as batch_op:
        batch_op.create_index('ix_chat_session_status_queued', ['status', 'queued_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_chat_session_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_chat_session_agent_user_id'), ['agent_user_id'],
                              unique=False)
    op.create_table(
        'chat_line',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', STR(length=40), nullable=False),
        sa.Column('client_id', STR(length=64), nullable=False),
        sa.Column('author', STR(length=8), nullable=False),
        sa.Column('author_name', STR(length=80), nullable=False),
        sa.Column('text', STR(), nullable=False),
        sa.Column('address', STR(length=64), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTC(), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['message.id']),
        sa.ForeignKeyConstraint(['session_id'], ['chat_session.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('session_id', 'client_id', name='uq_chat_line_client_id'),
    )
    with op.batch_alter_table('chat_line', schema=None) as batch_op:
        batch_op.create_index('ix_chat_line_address_at', ['address', 'created_at'],
                              unique=False)
        batch_op.create_index('ix_chat_line_session_id_id', ['session_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('chat_line', schema=None) as batch_op:
        batch_op.drop_index('ix_chat_line_session_id_id')
        batch_op.drop_index('ix_chat_line_address_at')
    op.drop_table('chat_line')
    with op.batch_alter_table('chat_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chat_session_agent_user_id'))
        batch_op.drop_index(batch_op.f('ix_chat_session_case_id'))
        batch_op.drop_index('ix_chat_session_status_queued')
    op.drop_table('chat_session')
