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
BOT_EVENTS: Final = (EVENT_APP_HOME_OPENED, EVENT_MESSAGE_CHANNELS, EVENT_MESSAGE_GROUPS)

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

# Message metadata event type carried by every nudge DM (ids only, never customer data).
METADATA_NUDGE: Final = "followup_nudge"
