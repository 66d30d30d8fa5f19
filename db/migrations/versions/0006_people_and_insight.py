"""what drafts and digests need from people and outcomes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

Drafts fill their placeholders from the people behind them (an agent's direct phone and
signature, a team's public review link), cap review asks by the customer however the helpdesk
names them (its requester id when there is no email), and after an escalation tell the customer
what was done this time. Outcomes keep the insight ("what we should change") apart from what
the customer said, for the digest.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_link', sa.String(length=2000), nullable=True))
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('signature', sa.String(length=500), nullable=True))
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('customer_external_id', sa.String(length=200), nullable=True)
        )
        batch_op.create_index(
            batch_op.f('ix_cases_customer_external_id'), ['customer_external_id'], unique=False
        )
    with op.batch_alter_table('outcomes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('insight', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('what_we_did', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outcomes', schema=None) as batch_op:
        batch_op.drop_column('what_we_did')
        batch_op.drop_column('insight')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_customer_external_id'))
        batch_op.drop_column('customer_external_id')
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_column('signature')
        batch_op.drop_column('phone')
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.drop_column('review_link')
