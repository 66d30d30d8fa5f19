"""follow-ups: an (assignee, state, due) index for the dispatcher's claim

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

The claim picks the agents of the oldest due rows, then claims those agents' due rows. With
only an index on assignee_id, SQLite preferred the (state, due_at) range, so every claim read
the whole backlog. The new index leads with assignee_id, so it also serves every lookup the
single-column index did, which it replaces.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.create_index(
            'ix_follow_ups_assignee_state_due', ['assignee_id', 'state', 'due_at'], unique=False
        )
        batch_op.drop_index(batch_op.f('ix_follow_ups_assignee_id'))


def downgrade() -> None:
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_ups_assignee_id'), ['assignee_id'], unique=False)
        batch_op.drop_index('ix_follow_ups_assignee_state_due')
