"""supervisors: dashboard counters, alerts, extensions, satisfaction

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 11:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import caseboard.models
import caseboard.supervisor_models  # noqa: F401  (its tables on SQLModel.metadata)

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = caseboard.models.UTCDateTime
TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        'audit_cursor',
        sa.Column('name', TEXT(length=40), nullable=False),
        sa.Column('last_event_id', sa.Integer(), nullable=False),
        sa.Column('updated_at', UTC(), nullable=True),
        sa.PrimaryKeyConstraint('name'))
    op.create_table(
        'sup_open_case',
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('department_id', TEXT(length=40), nullable=False),
        sa.Column('channel', TEXT(length=16), nullable=False),
        sa.Column('waiting', sa.Boolean(), nullable=False),
        sa.Column('held_by', sa.Integer(), nullable=True),
        sa.Column('created_at', UTC(), nullable=False),
        sa.Column('risk_at', UTC(), nullable=True),
        sa.Column('breach_at', UTC(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('case_id'))
    op.create_index('ix_sup_open_case_waiting', 'sup_open_case',
                    ['waiting', 'department_id', 'channel', 'created_at'])
    op.create_index('ix_sup_open_case_risk', 'sup_open_case',
                    ['risk_at', 'department_id', 'channel', 'breach_at'])
    op.create_index('ix_sup_open_case_breach', 'sup_open_case', ['breach_at'])
    op.create_table(
        'sup_live_counter',
        sa.Column('metric', TEXT(length=24), nullable=False),
        sa.Column('department_id', TEXT(length=40), nullable=False),
        sa.Column('channel', TEXT(length=16), nullable=False),
        sa.Column('value', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('metric', 'department_id', 'channel'))
    op.create_table(
        'sup_agent_load',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('work', TEXT(length=16), nullable=False),
        sa.Column('value', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('user_id', 'work'))
    op.create_table(
        'sup_daily_counter',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('hour', sa.Integer(), nullable=False),
        sa.Column('metric', TEXT(length=24), nullable=False),
        sa.Column('department_id', TEXT(length=40), nullable=False),
        sa.Column('channel', TEXT(length=16), nullable=False),
        sa.Column('value', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'hour', 'metric', 'department_id', 'channel'))
    op.create_table(
        'sup_alert',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('kind', TEXT(length=16), nullable=False),
        sa.Column('due', UTC(), nullable=True),
        sa.Column('to_user_id', sa.Integer(), nullable=True),
        sa.Column('message', TEXT(), nullable=False),
        sa.Column('raised_at', UTC(), nullable=False),
        sa.Column('resolved', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('case_id', 'kind', 'due', name='uq_sup_alert_once'))
    op.create_index('ix_sup_alert_case_id', 'sup_alert', ['case_id'])
    op.create_index('ix_sup_alert_open', 'sup_alert', ['resolved', 'raised_at'])
    op.create_table(
        'sup_extension',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('requested_by', TEXT(length=64), nullable=False),
        sa.Column('hours', sa.Float(), nullable=False),
        sa.Column('reason', TEXT(), nullable=False),
        sa.Column('status', TEXT(length=12), nullable=False),
        sa.Column('decided_by', TEXT(), nullable=False),
        sa.Column('created_at', UTC(), nullable=False),
        sa.Column('decided_at', UTC(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_sup_extension_case_id', 'sup_extension', ['case_id'])
    op.create_index('ix_sup_extension_status', 'sup_extension', ['status'])
    op.create_table(
        'sup_survey',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('channel', TEXT(length=16), nullable=False),
        sa.Column('department_id', TEXT(length=40), nullable=False),
        sa.Column('agent_user_id', sa.Integer(), nullable=True),
        sa.Column('article_slug', TEXT(length=120), nullable=True),
        sa.Column('score', sa.Integer(), nullable=True),
        sa.Column('created_at', UTC(), nullable=False),
        sa.Column('answered_at', UTC(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_sup_survey_case_id', 'sup_survey', ['case_id'])


def downgrade() -> None:
    for index, table in (('ix_sup_survey_case_id', 'sup_survey'),
                         ('ix_sup_extension_status', 'sup_extension'),
                         ('ix_sup_extension_case_id', 'sup_extension'),
                         ('ix_sup_alert_open', 'sup_alert'),
                         ('ix_sup_alert_case_id', 'sup_alert'),
                         ('ix_sup_open_case_breach', 'sup_open_case'),
                         ('ix_sup_open_case_risk', 'sup_open_case'),
                         ('ix_sup_open_case_waiting', 'sup_open_case')):
        op.drop_index(index, table_name=table)
    for table in ('sup_survey', 'sup_extension', 'sup_alert', 'sup_daily_counter',
                  'sup_agent_load', 'sup_live_counter', 'sup_open_case', 'audit_cursor'):
        op.drop_table(table)
