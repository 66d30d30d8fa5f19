"""Submission of the log-a-case modal: read the form here, at the edge; validate (inline
errors), then ack, then store."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_bolt import Ack

from bot import ids
from bot.deps import Deps
from bot.intake.log_case import LogCaseForm, read_submission, record_logged_case
from handlers.views import common

FIELD_BLOCKS: dict[str, str] = {
    "subject": ids.LOG_SUBJECT,
    "resolution": ids.LOG_RESOLUTION,
    "customer_name": ids.LOG_CUSTOMER_NAME,
    "customer_email": ids.LOG_CUSTOMER_EMAIL,
    "company": ids.LOG_COMPANY,
    "channel": ids.LOG_CHANNEL,
    "kind": ids.LOG_KIND,
    "severity": ids.LOG_SEVERITY,
    "closed_date": ids.LOG_CLOSED_DATE,
    "closed_time": ids.LOG_CLOSED_TIME,
    "url": ids.LOG_URL,
    "owner": ids.LOG_OWNER,
}
"""Each form field and the modal block that holds its input (and shows its error)."""


def _zone(value: Any) -> str:
    """The time zone the modal was opened in, when it is one."""
    if not isinstance(value, str) or not value or "\x00" in value:
        return "UTC"
    try:
        ZoneInfo(value)
    except (ValueError, OSError, ZoneInfoNotFoundError):  # OSError: a name too long for a file
        return "UTC"
    return value


def _value(values: dict[str, Any], block_id: str) -> str | None:
    state = (values.get(block_id) or {}).get(ids.LOG_INPUT) or {}
    for key in ("value", "selected_date", "selected_time", "selected_user"):
        if key in state:
            found = state[key]
            return (found.strip() or None) if isinstance(found, str) else None
    option = state.get("selected_option")
    return option.get("value") if isinstance(option, dict) else None


def read_log_case(values: dict[str, Any]) -> LogCaseForm:
    """The modal's state (as `common.values` cleaned it) as a form."""
    return LogCaseForm(**{name: _value(values, block) for name, block in FIELD_BLOCKS.items()})


def block_errors(errors: dict[str, str]) -> dict[str, str]:
    """Form errors keyed by the modal's block ids, as Slack shows them."""
    return {FIELD_BLOCKS[name]: message for name, message in errors.items()}


def handle_log_case_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], deps: Deps
) -> None:
    logger = body["user"]["id"]
    meta = common.metadata(view) or {}
    tz = _zone(meta.get("tz"))
    submitted = read_submission(
        read_log_case(common.values(view)),
        logger=logger,
        view_id=str(view.get("id", "")),
        tz=ZoneInfo(tz),
        now=deps.clock.now(),
    )
    if submitted.errors:
        ack(response_action="errors", errors=block_errors(submitted.errors))
        return
    ack()
    assert submitted.case is not None
    record_logged_case(deps, logger, submitted.case, tz)
