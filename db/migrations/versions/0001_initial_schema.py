"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('surface', sa.String(length=30), nullable=False),
    sa.Column('entity', sa.String(length=30), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('working_days', sa.String(length=40), nullable=False),
    sa.Column('work_start', sa.String(length=5), nullable=False),
    sa.Column('work_end', sa.String(length=5), nullable=False),
    sa.Column('digest_channel', sa.String(length=100), nullable=True),
    sa.Column('escalation_channel', sa.String(length=100), nullable=True),
    sa.Column('digest_day', sa.String(length=3), server_default='mon', nullable=False),
    sa.Column('digest_time', sa.String(length=5), server_default='09:00', nullable=False),
    sa.Column('created_at', db.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams')),
    sa.UniqueConstraint('slug', name=op.f('uq_teams_slug'))
    )
    op.create_table('agents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slack_user_id', sa.String(length=32), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('display_name', sa.String(length=200), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('is_lead', sa.Boolean(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('backup_id', sa.Integer(), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('timezone_fetched_at', db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('working_days', sa.String(length=40), nullable=True),
    sa.Column('work_start', sa.String(length=5), nullable=True),
    sa.Column('work_end', sa.String(length=5), nullable=True),
    sa.Column('away_until', db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('dm_channel', sa.String(length=32), nullable=True),
    sa.Column('created_at', db.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['backup_id'], ['agents.id'], name=op.f('fk_agents_backup_id_agents')),
    sa.ForeignKeyConstraint(['lead_id'], ['agents.id'], name=op.f('fk_agents_lead_id_agents')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_agents_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agents')),
    sa.UniqueConstraint('slack_user_id', name=op.f('uq_agents_slack_user_id'))
    )
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agents_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_agents_team_id'), ['team_id'], unique=False)

    op.create_table('digests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('week', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('claimed_at', db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('posted_at', db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('slack_channel', sa.String(length=32), nullable=True),
    sa.Column('slack_ts', sa.String(length=32), nullable=True),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_digests_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digests')),
    sa.UniqueConstraint('team_id', 'week', name=op.f('uq_digests_team_id_week'))
    )
    op.create_table('agent_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('external_agent_id', sa.String(length=200), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('created_at', db.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_agent_links_agent_id_agents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_links')),
    sa.UniqueConstraint('source', 'external_agent_id', name=op.f('uq_agent_links_source_external_agent_id'))
    )
    with op.batch_alter_table('agent_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_links_agent_id'), ['agent_id'], unique=False)

    op.create_table('cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('cycle', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('customer_name', sa.String(length=320), nullable=True),
    sa.Column('customer_email', sa.String(length=320), nullable=True),
    sa.Column('company', sa.String(length=320), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('severity', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('b2b', sa.Boolean(), nullable=False),
    sa.Column('senior_involved', sa.Boolean(), nullable=False),
    sa.Column('owner_email', sa.String(length=320), nullable=True),
    sa.Column('owner_external_id', sa.String(length=200), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('account_manager_email', sa.String(length=320), nullable=True),
    sa.Column('account_manager_id', sa.Integer(), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=True),
    sa.Column('closed_at', db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reopened_at', db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_manager_id'], ['agents.id'], name=op.f('fk_cases_account_manager_id_agents')),
    sa.ForeignKeyConstraint(['owner_id'], ['agents.id'], name=op.f('fk_cases_owner_id_agents')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_cases_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('source', 'external_id', name=op.f('uq_cases_source_external_id'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_customer_email'), ['customer_email'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_team_id'), ['team_id'], unique=False)

    op.create_table('follow_ups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('cycle', sa.Integer(), nullable=False),
    sa.Column('touch', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('rule', sa.String(length=100), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('template', sa.String(length=100), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('handed_from_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('why', sa.String(length=200), nullable=False),
    sa.Column('automated_ok', sa.Boolean(), nullable=False),
    sa.Column('due_at', db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('remind_at', db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lead_at', db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('missed_at', db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('snoozed_until', db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('lease_until', db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('slack_channel', sa.String(length=32), nullable=True),
    sa.Column('slack_ts', sa.String(length=32), nullable=True),
    sa.Column('sent_at', db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lead_notified_at', db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('review_eligible', sa.Boolean(), nullable=False),
    sa.Column('referral_eligible', sa.Boolean(), nullable=False),
    sa.Column('review_offered', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('draft_flags', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['agents.id'], name=op.f('fk_follow_ups_assignee_id_agents')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_follow_ups_case_id_cases')),
    sa.ForeignKeyConstraint(['handed_from_id'], ['agents.id'], name=op.f('fk_follow_ups_handed_from_id_agents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_ups')),
    sa.UniqueConstraint('case_id', 'cycle', 'touch', name=op.f('uq_follow_ups_case_id_cycle_touch'))
    )
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_ups_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index('ix_follow_ups_due_at', ['due_at'], unique=False)
        batch_op.create_index('ix_follow_ups_missed_at', ['missed_at'], unique=False)
        batch_op.create_index('ix_follow_ups_state_due_at', ['state', 'due_at'], unique=False)

    op.create_table('inbound_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('result', sa.String(length=30), nullable=False),
    sa.Column('received_at', db.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_inbound_deliveries_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_deliveries')),
    sa.UniqueConstraint('source', 'key', name=op.f('uq_inbound_deliveries_source_key'))
    )
    with op.batch_alter_table('inbound_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_deliveries_received_at'), ['received_at'], unique=False)

    op.create_table('outcomes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('follow_up_id', sa.Integer(), nullable=False),
    sa.Column('result', sa.String(length=30), nullable=False),
    sa.Column('customer_said', sa.Text(), nullable=True),
    sa.Column('root_cause', sa.String(length=100), nullable=True),
    sa.Column('skip_reason', sa.Text(), nullable=True),
    sa.Column('review_asked', sa.Boolean(), nullable=False),
    sa.Column('review_given', sa.Boolean(), nullable=False),
    sa.Column('referral_asked', sa.Boolean(), nullable=False),
    sa.Column('referral_given', sa.Boolean(), nullable=False),
    sa.Column('recorded_by', sa.String(length=32), nullable=False),
    sa.Column('recorded_at', db.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['follow_up_id'], ['follow_ups.id'], name=op.f('fk_outcomes_follow_up_id_follow_ups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outcomes')),
    sa.UniqueConstraint('follow_up_id', name=op.f('uq_outcomes_follow_up_id'))
    )
    with op.batch_alter_table('outcomes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outcomes_recorded_at'), ['recorded_at'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('outcomes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outcomes_recorded_at'))

    op.drop_table('outcomes')
    with op.batch_alter_table('inbound_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_deliveries_received_at'))

    op.drop_table('inbound_deliveries')
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_index('ix_follow_ups_state_due_at')
        batch_op.drop_index('ix_follow_ups_missed_at')
        batch_op.drop_index('ix_follow_ups_due_at')
        batch_op.drop_index(batch_op.f('ix_follow_ups_assignee_id'))

    op.drop_table('follow_ups')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_team_id'))
        batch_op.drop_index(batch_op.f('ix_cases_owner_id'))
        batch_op.drop_index(batch_op.f('ix_cases_customer_email'))

    op.drop_table('cases')
    with op.batch_alter_table('agent_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_links_agent_id'))

    op.drop_table('agent_links')
    op.drop_table('digests')
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agents_team_id'))
        batch_op.drop_index(batch_op.f('ix_agents_email'))

    op.drop_table('agents')
    op.drop_table('teams')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')

