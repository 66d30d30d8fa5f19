"""What a recorded outcome, skip or snooze does in Slack once it has committed: the escalation
post, the DM(s) brought up to date, the assignee's App Home refreshed."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.loop.escalation import escalate
from bot.loop.outcomes import Done
from bot.loop.queue import publish_home
from bot.nudge.items import refresh_message_at, refresh_messages

log = logging.getLogger("followup.outcomes")


def after_commit(deps: Deps, done: Done, origin: tuple[str | None, str | None]) -> None:
    """Slack side effects of a recorded action: escalate, update the DM(s), refresh App Home."""
    if done.escalate:
        try:
            escalate(deps, done)
        except SlackApiError as error:
            log.error("escalation post failed: %s", error.response.get("error"))
    refresh_messages(deps, [done.followup_id])
    channel, ts = origin
    if channel and ts and (channel, ts) not in done.refresh and channel.startswith("D"):
        refresh_message_at(deps, channel, ts, done.followup_id)
    if done.assignee_slack_id:
        try:
            publish_home(deps, done.assignee_slack_id)
        except SlackApiError as error:
            log.warning("App Home refresh failed: %s", error.response.get("error"))
