"""Reading interaction payloads at the edge: only ids shaped like ours go further.

Slack sends back what we put in (button values, block ids, private_metadata) and what its own
widgets produce; anything else is answered with a short "out of date" note, never an exception.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_sdk.errors import SlackApiError

log = logging.getLogger("followup.actions")

SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,30}$")
SLACK_CHANNEL = re.compile(r"^[CDG][A-Z0-9]{2,30}$")
SLACK_TS = re.compile(r"^\d{1,12}\.\d{1,9}$")
MAX_ROW_ID = 2**31 - 1  # ids are INTEGER columns (int4 on PostgreSQL)
OUT_OF_DATE = "That button is out of date: nothing was changed."


def row_id(value: Any) -> int | None:
    """A database id sent back in a button value or metadata (digits), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    else:
        return None
    return number if 0 < number <= MAX_ROW_ID else None


def slack_id(value: Any, pattern: re.Pattern[str]) -> str | None:
    """A Slack user, channel or message id of the right shape, or None."""
    return value if isinstance(value, str) and pattern.match(value) else None


def tell(body: dict[str, Any], client: Any, respond: Any, text: str) -> None:
    """Answer the clicker only: ephemeral where the click happened, a small modal from the
    App Home (Slack gives Home-tab clicks no response_url)."""
    if body.get("response_url"):
        respond(text=text, response_type="ephemeral", replace_original=False)
        return
    trigger = body.get("trigger_id")
    if not trigger:
        log.warning("no way to answer %s: %s", (body.get("user") or {}).get("id"), text)
        return
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Followup"},
        "close": {"type": "plain_text", "text": "OK"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }
    try:
        client.views_open(trigger_id=trigger, view=view)
    except SlackApiError as error:
        log.warning("could not show %r: %s", text, error.response.get("error"))
