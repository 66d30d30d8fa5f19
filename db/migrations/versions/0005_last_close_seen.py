"""the latest close seen in a case's cycle

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

Only a reopen starts a new follow-up cycle, so a close of a case already closed changes
nothing but this: the latest close time seen. A reopen that arrives after a later close (two
deliveries out of order) then knows the case was closed again, and starts the cycle that close
began, rather than leaving the case reopened for good.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('last_close_seen_at', db.models.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('last_close_seen_at')
