"""dm_refreshes: sent DMs queued for a paced chat.update

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

A reopen storm cancels hundreds of follow-ups already DMed; chat.update is Tier 3 (50 a
minute), so their DMs are queued here, one row per message, and a scheduler pass sends them
within a budget (bot/nudge/refresh.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'dm_refreshes',
        sa.Column('channel', sa.String(length=32), nullable=False),
        sa.Column('ts', sa.String(length=32), nullable=False),
        sa.Column('queued_at', db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('sent_version', sa.Integer(), nullable=False),
        sa.Column('claimed_at', db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claimed_by', sa.String(length=100), nullable=True),
        sa.Column('lease_until', db.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('channel', 'ts', name=op.f('pk_dm_refreshes')),
    )
    with op.batch_alter_table('dm_refreshes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dm_refreshes_queued_at'), ['queued_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dm_refreshes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dm_refreshes_queued_at'))
    op.drop_table('dm_refreshes')
