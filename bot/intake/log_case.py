"""`/followup log`: a modal to log a closed case by hand.

The modal builder and the submission's validation are pure functions; `log_command` opens the
modal and `record_logged_case` stores the case through the same intake as every webhook.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    Block,
    DatePickerElement,
    EmailInputElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
    TimePickerElement,
    UrlInputElement,
    UserSelectElement,
)
from slack_sdk.models.views import View
from sqlalchemy import select

from bot import ids
from bot.cases import (
    MAX_RESOLUTION,
    MAX_SHORT,
    MAX_SUBJECT,
    CaseError,
    Channel,
    ClosedCase,
    Kind,
    Severity,
)
from bot.commands import Invocation, Reply
from bot.deps import Deps
from db.models import Agent

SOURCE = "manual"
MIDDAY = time(12, 0)
"""A past close logged without a time is taken as midday that day, in the logger's zone."""

_LABELS = {
    Channel.EMAIL: "Email",
    Channel.PHONE: "Phone",
    Channel.CHAT: "Chat",
    Channel.WEB: "Web form",
    Channel.SOCIAL: "Social",
    Channel.OTHER: "Other",
    Kind.QUERY: "Query",
    Kind.COMPLAINT: "Complaint",
    Kind.INCIDENT: "Incident",
    Kind.REQUEST: "Request",
    Severity.LOW: "Low",
    Severity.NORMAL: "Normal",
    Severity.HIGH: "High",
    Severity.URGENT: "Urgent",
}
_FIELD_BLOCKS = {
    "subject": ids.LOG_SUBJECT,
    "resolution": ids.LOG_RESOLUTION,
    "customer_name": ids.LOG_CUSTOMER_NAME,
    "customer_email": ids.LOG_CUSTOMER_EMAIL,
    "company": ids.LOG_COMPANY,
    "closed_at": ids.LOG_CLOSED_DATE,
    "url": ids.LOG_URL,
    "owner_email": ids.LOG_OWNER,
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _options(members: tuple[Any, ...]) -> list[Option]:
    return [Option(value=m.value, label=_LABELS[m]) for m in members]


def _select(members: tuple[Any, ...], initial: Any) -> StaticSelectElement:
    return StaticSelectElement(
        action_id=ids.LOG_INPUT,
        options=_options(members),
        initial_option=Option(value=initial.value, label=_LABELS[initial]),
    )


def _text(max_length: int, multiline: bool = False) -> PlainTextInputElement:
    return PlainTextInputElement(
        action_id=ids.LOG_INPUT, max_length=max_length, multiline=multiline
    )


def log_case_modal(logger: str, today: date, tz: str, channel: str | None = None) -> View:
    """The modal: what the case was, who it was for, how and when it closed, and who owns it."""
    blocks: list[Block] = [
        InputBlock(block_id=ids.LOG_SUBJECT, label="Subject", element=_text(MAX_SUBJECT)),
        InputBlock(
            block_id=ids.LOG_RESOLUTION,
            label="What was done to resolve it",
            element=_text(MAX_RESOLUTION, multiline=True),
            optional=True,
        ),
        InputBlock(
            block_id=ids.LOG_CUSTOMER_NAME,
            label="Customer name",
            element=_text(MAX_SHORT),
            optional=True,
        ),
        InputBlock(
            block_id=ids.LOG_CUSTOMER_EMAIL,
            label="Customer email",
            element=EmailInputElement(action_id=ids.LOG_INPUT),
            optional=True,
        ),
        InputBlock(
            block_id=ids.LOG_COMPANY, label="Company", element=_text(MAX_SHORT), optional=True
        ),
        InputBlock(
            block_id=ids.LOG_CHANNEL,
            label="How the customer reached us",
            element=_select(tuple(Channel), Channel.EMAIL),
        ),
        InputBlock(block_id=ids.LOG_KIND, label="Kind", element=_select(tuple(Kind), Kind.REQUEST)),
        InputBlock(
            block_id=ids.LOG_SEVERITY,
            label="Severity",
            element=_select(tuple(Severity), Severity.NORMAL),
        ),
        InputBlock(
            block_id=ids.LOG_CLOSED_DATE,
            label="Closed on",
            element=DatePickerElement(action_id=ids.LOG_INPUT, initial_date=today.isoformat()),
        ),
        InputBlock(
            block_id=ids.LOG_CLOSED_TIME,
            label="Closed at (your time)",
            hint="Leave empty for now (today) or midday (an earlier day).",
            element=TimePickerElement(action_id=ids.LOG_INPUT),
            optional=True,
        ),
        InputBlock(
            block_id=ids.LOG_URL,
            label="Helpdesk link",
            element=UrlInputElement(action_id=ids.LOG_INPUT),
            optional=True,
        ),
        InputBlock(
            block_id=ids.LOG_OWNER,
            label="Who follows up",
            element=UserSelectElement(action_id=ids.LOG_INPUT, initial_user=logger),
        ),
    ]
    return View(
        type="modal",
        callback_id=ids.VIEW_LOG_CASE,
        title="Log a closed case",
        submit="Log it",
        close="Cancel",
        private_metadata=json.dumps({"tz": tz, "c": channel}),
        blocks=blocks,
    )


@dataclass(frozen=True)
class Submitted:
    """A valid submission, or the inline errors to show (keyed by block id)."""

    case: ClosedCase | None
    errors: dict[str, str]


def _value(values: dict[str, Any], block_id: str) -> Any:
    state = (values.get(block_id) or {}).get(ids.LOG_INPUT) or {}
    for key in ("value", "selected_date", "selected_time", "selected_user"):
        if key in state:
            found = state[key]
            return found.strip() or None if isinstance(found, str) else found
    option = state.get("selected_option")
    return option.get("value") if isinstance(option, dict) else None


def _closed_at(day: str | None, at: str | None, tz: ZoneInfo, now: datetime) -> datetime:
    if day is None:
        raise CaseError("closed_at", "Pick the day the case was closed.")
    try:
        local_day = date.fromisoformat(day)
        clock = time.fromisoformat(at) if at else None
    except ValueError:
        raise CaseError("closed_at", "That is not a date.") from None
    local_now = now.astimezone(tz)
    if clock is None:
        if local_day == local_now.date():
            return now
        clock = MIDDAY
    moment = datetime.combine(local_day, clock, tzinfo=tz)
    if moment > now:
        raise CaseError("closed_at", "A case cannot be closed in the future.")
    return moment


def read_submission(
    values: dict[str, Any], *, logger: str, view_id: str, metadata: str, now: datetime
) -> Submitted:
    """The case a submission describes, or inline errors; the case id is stable per modal."""
    try:
        meta = json.loads(metadata or "{}")
        tz = ZoneInfo(str(meta.get("tz") or "UTC"))
    except (ValueError, ZoneInfoNotFoundError):
        tz = ZoneInfo("UTC")
    errors: dict[str, str] = {}
    subject = _value(values, ids.LOG_SUBJECT)
    if subject is None:
        errors[ids.LOG_SUBJECT] = "Say what the case was about."
    email = _value(values, ids.LOG_CUSTOMER_EMAIL)
    if email is not None and not _EMAIL.match(email):
        errors[ids.LOG_CUSTOMER_EMAIL] = "That is not an email address."
    url = _value(values, ids.LOG_URL)
    if url is not None and not url.lower().startswith(("https://", "http://")):
        errors[ids.LOG_URL] = "Paste the case's link from the helpdesk (https://…)."
    owner = _value(values, ids.LOG_OWNER)
    if owner is None:
        errors[ids.LOG_OWNER] = "Pick who follows up on this case."
    closed_at = now
    time_given = _value(values, ids.LOG_CLOSED_TIME)
    try:
        closed_at = _closed_at(_value(values, ids.LOG_CLOSED_DATE), time_given, tz, now)
    except CaseError as error:
        errors[ids.LOG_CLOSED_TIME if time_given else ids.LOG_CLOSED_DATE] = error.message
    if errors:
        return Submitted(None, errors)
    try:
        case = ClosedCase(
            source=SOURCE,
            external_id=f"{logger}-{view_id}",
            subject=subject,
            closed_at=closed_at,
            owner_slack_id=owner,
            resolution=_value(values, ids.LOG_RESOLUTION),
            customer_name=_value(values, ids.LOG_CUSTOMER_NAME),
            customer_email=email,
            company=_value(values, ids.LOG_COMPANY),
            channel=Channel(_value(values, ids.LOG_CHANNEL) or Channel.EMAIL),
            kind=Kind(_value(values, ids.LOG_KIND) or Kind.REQUEST),
            severity=Severity(_value(values, ids.LOG_SEVERITY) or Severity.NORMAL),
            url=url,
        )
    except CaseError as error:
        return Submitted(None, {_FIELD_BLOCKS.get(error.field, ids.LOG_SUBJECT): error.message})
    except ValueError:  # an option value we never offered
        return Submitted(None, {ids.LOG_CHANNEL: "Pick one of the options."})
    return Submitted(case, {})


# --- Slack -------------------------------------------------------------------------------


def log_command(call: Invocation) -> Reply | None:
    """`/followup log`: open the modal at once (the trigger lives about three seconds)."""
    if not call.trigger_id:
        return Reply(text="I could not open the form: Slack sent no trigger. Try again.")
    deps = call.deps
    with deps.session_factory() as session:
        tz = session.scalar(select(Agent.timezone).where(Agent.slack_user_id == call.user_id))
    tz = tz or deps.policy.calendar.tz
    today = deps.clock.now().astimezone(ZoneInfo(tz)).date()
    view = log_case_modal(call.user_id, today, tz, call.channel_id or None)
    try:
        deps.client.views_open(trigger_id=call.trigger_id, view=view.to_dict())
    except SlackApiError as error:
        return Reply(text=f"I could not open the form ({error.response.get('error')}).")
    return None


def record_logged_case(deps: Deps, logger: str, case: ClosedCase, tz: str) -> str:
    """Store the logged case and plan it; DM the logger what happened (the text is returned)."""
    from bot.intake.accept import accept_case

    with deps.session_factory.begin() as session:
        accepted = accept_case(session, deps, case, actor=logger, surface="modal")
        due = min((f.due_at for f in accepted.planned), default=None)
    zone = ZoneInfo(tz)
    text = deps.renderer.render(
        "slack/case_logged.j2",
        {
            "subject": case.subject,
            "reference": f"{case.source}:{case.external_id}",
            "closed": f"{case.closed_at.astimezone(zone):%a %d %b %H:%M}",
            "duplicate": not accepted.is_new,
            "owner": case.owner_slack_id,
            "logger": logger,
            "first_due": f"{due.astimezone(zone):%a %d %b %H:%M} ({tz})" if due else None,
        },
    )
    # The case is stored; a lost confirmation is not worth failing the submission over.
    with contextlib.suppress(SlackApiError):
        deps.client.chat_postMessage(channel=logger, text=text)
    return text
