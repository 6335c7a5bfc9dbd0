"""letters: claims on inbox files, so two workers never read the same scan

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import caseboard.models

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = caseboard.models.UTCDateTime
TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        'letter_claim',
        sa.Column('sha256', TEXT(length=64), nullable=False),
        sa.Column('owner', TEXT(length=120), nullable=False),
        sa.Column('filename', TEXT(), nullable=False),
        sa.Column('status', TEXT(length=10), nullable=False),
        sa.Column('claimed_at', UTC(), nullable=False),
        sa.Column('expires_at', UTC(), nullable=False),
        sa.Column('reference', TEXT(length=32), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('sha256'))


def downgrade() -> None:
    op.drop_table('letter_claim')
