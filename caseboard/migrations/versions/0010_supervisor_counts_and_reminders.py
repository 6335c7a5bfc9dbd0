"""supervisors: at-risk and breach counters kept by the monitor, agents' reminders read

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import caseboard.models
import caseboard.supervisor_models  # noqa: F401  (its tables on SQLModel.metadata)

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = caseboard.models.UTCDateTime


def upgrade() -> None:
    # Existing open-case rows start as "not counted": the time-limit monitor's first passes
    # find those already at risk or in breach and count them (CounterFolder.rebuild also does).
    op.add_column('sup_open_case',
                  sa.Column('counted', sa.Integer(), server_default='0', nullable=False))
    op.create_index('ix_sup_open_case_cross_risk', 'sup_open_case', ['counted', 'risk_at'])
    op.create_index('ix_sup_open_case_cross_breach', 'sup_open_case',
                    ['counted', 'breach_at'])
    op.create_index('ix_sup_alert_to_user', 'sup_alert', ['to_user_id', 'raised_at'])
    op.create_table(
        'sup_alert_read',
        sa.Column('alert_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('read_at', UTC(), nullable=False),
        sa.ForeignKeyConstraint(['alert_id'], ['sup_alert.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('alert_id', 'user_id'))


def downgrade() -> None:
    op.drop_table('sup_alert_read')
    op.drop_index('ix_sup_alert_to_user', table_name='sup_alert')
    op.drop_index('ix_sup_open_case_cross_breach', table_name='sup_open_case')
    op.drop_index('ix_sup_open_case_cross_risk', table_name='sup_open_case')
    with op.batch_alter_table('sup_open_case') as batch_op:
        batch_op.drop_column('counted')
