"""Every Slack id the bot uses, once: commands, action ids, block ids, callback ids, events.

A test checks that app.yaml and the registered listeners agree with these.
"""

from __future__ import annotations

from typing import Final

# Slash command (app.yaml `features.slash_commands`).
COMMAND: Final = "/followup"

# Events the bot subscribes to (app.yaml `settings.event_subscriptions.bot_events`).
EVENT_APP_HOME_OPENED: Final = "app_home_opened"
EVENT_MESSAGE_CHANNELS: Final = "message.channels"
EVENT_MESSAGE_GROUPS: Final = "message.groups"
# The directory's updates between two users.list reads (bot/people/directory.py).
EVENT_USER_CHANGE: Final = "user_change"
EVENT_TEAM_JOIN: Final = "team_join"
BOT_EVENTS: Final = (
    EVENT_APP_HOME_OPENED,
    EVENT_MESSAGE_CHANNELS,
    EVENT_MESSAGE_GROUPS,
    EVENT_USER_CHANGE,
    EVENT_TEAM_JOIN,
)

# Buttons on a follow-up (DM, /followup due, App Home). The value carries the follow-up id.
ACTION_FOLLOWED_UP: Final = "followup_done"
ACTION_SNOOZE: Final = "followup_snooze"
ACTION_SKIP: Final = "followup_skip"
ACTION_OPEN_CASE: Final = "followup_open_case"
ACTION_ESCALATION_HANDLED: Final = "escalation_handled"
ACTION_TRIAGE_ASSIGN: Final = "triage_assign"
ACTION_DIGEST_DRILLDOWN: Final = "digest_drilldown"

# Modals.
VIEW_OUTCOME: Final = "outcome_modal"
VIEW_SKIP: Final = "skip_modal"
VIEW_SNOOZE: Final = "snooze_modal"
VIEW_LOG_CASE: Final = "log_case_modal"
VIEW_DIGEST_DRILLDOWN: Final = "digest_drilldown_modal"
VIEW_ESCALATION_HANDLED: Final = "escalation_handled_modal"
VIEW_PROFILE: Final = "profile_modal"

# Inputs of the outcome, skip and snooze modals: the block id (the errors map is keyed by it)
# and the action id of the one element in that block.
OUTCOME_RESULT: Final = "outcome_result"
OUTCOME_RESULT_INPUT: Final = "result"
OUTCOME_SAID: Final = "outcome_said"
OUTCOME_SAID_INPUT: Final = "said"
OUTCOME_INSIGHT: Final = "outcome_insight"
OUTCOME_INSIGHT_INPUT: Final = "insight"
OUTCOME_CAUSE: Final = "outcome_cause"
OUTCOME_CAUSE_INPUT: Final = "cause"
OUTCOME_ASKS: Final = "outcome_asks"
OUTCOME_ASKS_INPUT: Final = "asks"
SKIP_REASON: Final = "skip_reason"
SKIP_REASON_INPUT: Final = "reason"
SNOOZE_WHEN: Final = "snooze_when"
SNOOZE_WHEN_INPUT: Final = "when"
SNOOZE_DATE: Final = "snooze_date"
SNOOZE_DATE_INPUT: Final = "date"
# The lead's "Handled" modal after an escalation: what was done this time.
HANDLED_DID: Final = "handled_did"
HANDLED_DID_INPUT: Final = "did"
# The `/followup profile` modal: an agent's own direct phone and signature.
PROFILE_PHONE: Final = "profile_phone"
PROFILE_PHONE_INPUT: Final = "phone"
PROFILE_SIGNATURE: Final = "profile_signature"
PROFILE_SIGNATURE_INPUT: Final = "signature"

# The triage post's user picker: its block id is this prefix and the follow-up id.
TRIAGE_ASSIGN_BLOCK_PREFIX: Final = "triage-assign-"

# Inputs of the log-a-case modal: block ids (the errors map is keyed by them); the element in
# each block has the action id LOG_INPUT.
LOG_INPUT: Final = "value"
LOG_SUBJECT: Final = "log_subject"
LOG_RESOLUTION: Final = "log_resolution"
LOG_CUSTOMER_NAME: Final = "log_customer_name"
LOG_CUSTOMER_EMAIL: Final = "log_customer_email"
LOG_COMPANY: Final = "log_company"
LOG_CHANNEL: Final = "log_channel"
LOG_KIND: Final = "log_kind"
LOG_SEVERITY: Final = "log_severity"
LOG_CLOSED_DATE: Final = "log_closed_date"
LOG_CLOSED_TIME: Final = "log_closed_time"
LOG_URL: Final = "log_url"
LOG_OWNER: Final = "log_owner"

# Message metadata event type carried by every nudge DM (ids only, never customer data).
METADATA_NUDGE: Final = "followup_nudge"
# ... and by every weekly digest post (its digest id), so a crashed run is reconciled.
METADATA_DIGEST: Final = "followup_digest"
