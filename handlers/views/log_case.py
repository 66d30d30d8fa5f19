"""Submission of the log-a-case modal: validate first (inline errors), then ack, then store."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack

from bot.deps import Deps
from bot.log_case import read_submission, record_logged_case


def handle_log_case_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], deps: Deps
) -> None:
    logger = body["user"]["id"]
    submitted = read_submission(
        view["state"]["values"],
        logger=logger,
        view_id=view["id"],
        metadata=view.get("private_metadata", ""),
        now=deps.clock.now(),
    )
    if submitted.errors:
        ack(response_action="errors", errors=submitted.errors)
        return
    ack()
    assert submitted.case is not None
    tz = json.loads(view.get("private_metadata") or "{}").get("tz") or "UTC"
    record_logged_case(deps, logger, submitted.case, tz)
