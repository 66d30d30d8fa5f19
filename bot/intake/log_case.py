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
from zoneinfo import ZoneInfo

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
from bot.intake.accept import accept_case
from db import agents as agent_store

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
_CASE_FIELDS = {"closed_at": "closed_date", "owner_email": "owner"}
"""A `CaseError` field that is not one of the form's, and the form field that shows it."""
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SLACK_TEXT_INPUT_MAX = 3000
"""Slack refuses a plain_text_input whose max_length is over 3,000 (plain-text input element
reference), so a webhook's longer resolution (MAX_RESOLUTION) cannot be typed in the modal."""


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
            element=_text(min(MAX_RESOLUTION, SLACK_TEXT_INPUT_MAX), multiline=True),
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
class LogCaseForm:
    """The log-a-case modal as submitted: each input's text or chosen value, None when empty."""

    subject: str | None = None
    resolution: str | None = None
    customer_name: str | None = None
    customer_email: str | None = None
    company: str | None = None
    channel: str | None = None
    kind: str | None = None
    severity: str | None = None
    closed_date: str | None = None
    closed_time: str | None = None
    url: str | None = None
    owner: str | None = None


@dataclass(frozen=True)
class Submitted:
    """A valid submission, or the inline errors to show (keyed by the form's field names)."""

    case: ClosedCase | None
    errors: dict[str, str]


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
    form: LogCaseForm, *, logger: str, view_id: str, tz: ZoneInfo, now: datetime
) -> Submitted:
    """The case a submission describes, or inline errors; the case id is stable per modal.
    `tz` is the zone the modal was opened in (the date and time are read in it)."""
    errors: dict[str, str] = {}
    subject = form.subject
    if subject is None:
        errors["subject"] = "Say what the case was about."
    email = form.customer_email
    if email is not None and not _EMAIL.match(email):
        errors["customer_email"] = "That is not an email address."
    url = form.url
    if url is not None and not url.lower().startswith(("https://", "http://")):
        errors["url"] = "Paste the case's link from the helpdesk (https://…)."
    if form.owner is None:
        errors["owner"] = "Pick who follows up on this case."
    closed_at = now
    try:
        closed_at = _closed_at(form.closed_date, form.closed_time, tz, now)
    except CaseError as error:
        errors["closed_time" if form.closed_time else "closed_date"] = error.message
    if errors or subject is None:
        return Submitted(None, errors)
    try:
        case = ClosedCase(
            source=SOURCE,
            external_id=f"{logger}-{view_id}",
            subject=subject,
            closed_at=closed_at,
            owner_slack_id=form.owner,
            resolution=form.resolution,
            customer_name=form.customer_name,
            customer_email=email,
            company=form.company,
            channel=Channel(form.channel or Channel.EMAIL),
            kind=Kind(form.kind or Kind.REQUEST),
            severity=Severity(form.severity or Severity.NORMAL),
            url=url,
        )
    except CaseError as error:
        field = _CASE_FIELDS.get(error.field, error.field)
        known = field in LogCaseForm.__dataclass_fields__
        return Submitted(None, {field if known else "subject": error.message})
    except ValueError:  # an option value we never offered
        return Submitted(None, {"channel": "Pick one of the options."})
    return Submitted(case, {})


# --- Slack -------------------------------------------------------------------------------


def log_command(call: Invocation) -> Reply | None:
    """`/followup log`: open the modal at once (the trigger lives about three seconds)."""
    if not call.trigger_id:
        return Reply(text="I could not open the form: Slack sent no trigger. Try again.")
    deps = call.deps
    with deps.session_factory() as session:
        tz = agent_store.timezone_of(session, call.user_id)
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
