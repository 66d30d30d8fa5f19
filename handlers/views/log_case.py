"""Submission of the log-a-case modal: validate first (inline errors), then ack, then store."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_bolt import Ack

from bot.deps import Deps
from bot.intake.log_case import read_submission, record_logged_case
from handlers.actions.common import SLACK_CHANNEL, slack_id
from handlers.views import common


def _zone(value: Any) -> str:
    """The time zone the modal was opened in, when it is one."""
    if not isinstance(value, str) or not value or "\x00" in value:
        return "UTC"
    try:
        ZoneInfo(value)
    except (ValueError, OSError, ZoneInfoNotFoundError):  # OSError: a name too long for a file
        return "UTC"
    return value


def handle_log_case_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], deps: Deps
) -> None:
    logger = body["user"]["id"]
    meta = common.metadata(view) or {}
    tz = _zone(meta.get("tz"))
    clean = json.dumps({"tz": tz, "c": slack_id(meta.get("c"), SLACK_CHANNEL)})
    submitted = read_submission(
        common.values(view),
        logger=logger,
        view_id=str(view.get("id", "")),
        metadata=clean,
        now=deps.clock.now(),
    )
    if submitted.errors:
        ack(response_action="errors", errors=submitted.errors)
        return
    ack()
    assert submitted.case is not None
    record_logged_case(deps, logger, submitted.case, tz)
