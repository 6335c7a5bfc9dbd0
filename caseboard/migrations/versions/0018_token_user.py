"""api_token.user_id: a token acts for a user and reads only what that user may see

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 23:40:00

Existing tokens get no user (NULL): intake tokens need none, supervisor and admin tokens keep
seeing every department as supervisors do on the board, and an agent token without a user
may still submit contacts but reads no cases (caseboard/api.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_api_token_user_id_users', 'users', ['user_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_constraint('fk_api_token_user_id_users', type_='foreignkey')
        batch_op.drop_column('user_id')
