"""writebacks: the outbox of notes and reopens owed to the helpdesks

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

An outcome or a lead's "Handled" writes one row here in its own transaction; a scheduler
pass delivers it to the case's helpdesk with retries (bot/writeback/worker.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'writebacks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=40), nullable=False),
        sa.Column('ticket', sa.String(length=200), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('follow_up_id', sa.Integer(), nullable=False),
        sa.Column('event', sa.String(length=30), nullable=False),
        sa.Column('reopen', sa.Boolean(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.Column('marker', sa.String(length=40), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('claimed_by', sa.String(length=100), nullable=True),
        sa.Column('lease_until', db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.Column('result', sa.String(length=300), nullable=True),
        sa.Column('created_at', db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('delivered_at', db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('updated_at', db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_writebacks_case_id_cases')),
        sa.ForeignKeyConstraint(
            ['follow_up_id'], ['follow_ups.id'], name=op.f('fk_writebacks_follow_up_id_follow_ups')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_writebacks')),
        sa.UniqueConstraint('marker', name=op.f('uq_writebacks_marker')),
    )
    with op.batch_alter_table('writebacks', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_writebacks_follow_up_id'), ['follow_up_id'], unique=False
        )
        batch_op.create_index(batch_op.f('ix_writebacks_lease_until'), ['lease_until'], unique=False)
        batch_op.create_index('ix_writebacks_source_ticket', ['source', 'ticket', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('writebacks', schema=None) as batch_op:
        batch_op.drop_index('ix_writebacks_source_ticket')
        batch_op.drop_index(batch_op.f('ix_writebacks_lease_until'))
        batch_op.drop_index(batch_op.f('ix_writebacks_follow_up_id'))
    op.drop_table('writebacks')
