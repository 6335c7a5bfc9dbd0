"""supervisors: a survey remembers the outbox item asking and the channels tried

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sup_survey', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outbox_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column(
            'asked_on', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False,
            server_default=''))
        batch_op.create_index(batch_op.f('ix_sup_survey_outbox_id'), ['outbox_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sup_survey', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sup_survey_outbox_id'))
        batch_op.drop_column('asked_on')
        batch_op.drop_column('outbox_id')
