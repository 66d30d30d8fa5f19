"""the workspace directory (users.list) and agents deactivated in Slack

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

Members are read in pages from users.list and kept current by user_change and team_join, so
no DM waits on users.info or users.lookupByEmail. An agent deactivated in Slack is marked, so
their follow-ups go to whoever covers, or to triage.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'slack_users',
        sa.Column('slack_user_id', sa.String(length=32), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=True),
        sa.Column('display_name', sa.String(length=200), nullable=True),
        sa.Column('timezone', sa.String(length=64), nullable=True),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('is_bot', sa.Boolean(), nullable=False),
        sa.Column('seen_at', db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('slack_user_id', name=op.f('pk_slack_users')),
    )
    with op.batch_alter_table('slack_users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slack_users_email'), ['email'], unique=False)
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('deactivated', sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_column('deactivated')
    with op.batch_alter_table('slack_users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_slack_users_email'))
    op.drop_table('slack_users')
