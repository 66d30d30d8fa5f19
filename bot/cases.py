"""The normalised closed-case record every intake path (webhook, channel, modal, CSV) produces."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum


class Channel(StrEnum):
    """How the customer reached us; the follow-up matches it."""

    EMAIL = "email"
    PHONE = "phone"
    CHAT = "chat"
    WEB = "web"
    SOCIAL = "social"
    OTHER = "other"


class Severity(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Kind(StrEnum):
    QUERY = "query"
    COMPLAINT = "complaint"
    INCIDENT = "incident"
    REQUEST = "request"


class Event(StrEnum):
    CLOSED = "closed"
    REOPENED = "reopened"


SOURCES: tuple[str, ...] = (
    "generic",
    "zendesk",
    "intercom",
    "freshdesk",
    "hubspot",
    "jira",
    "helpscout",
    "front",
    "chatwoot",
    "zammad",
)
"""Webhook sources; also the suffixes of the WEBHOOK_SECRET_<SOURCE> variables."""

SOURCE_NAMES: dict[str, str] = {
    "generic": "your system",
    "zendesk": "Zendesk",
    "intercom": "Intercom",
    "freshdesk": "Freshdesk",
    "hubspot": "HubSpot",
    "jira": "Jira Service Management",
    "helpscout": "Help Scout",
    "front": "Front",
    "chatwoot": "Chatwoot",
    "zammad": "Zammad",
}
"""Each source as people call it, for text shown to them."""

# Field limits: generous for real tickets, small enough that one case can never bloat a DM or row.
MAX_SUBJECT = 500
MAX_RESOLUTION = 4000
MAX_SHORT = 320
MAX_TAGS = 50
MAX_ID = 200
MAX_SLACK_ID = 32
_SHORT_FIELDS = (
    "customer_name",
    "customer_email",
    "company",
    "owner_email",
    "account_manager_email",
    "url",
    "team",
)
_TEXT_FIELDS = (
    "external_id",
    "subject",
    "owner_email",
    "owner_slack_id",
    "owner_external_id",
    "resolution",
    "customer_name",
    "customer_email",
    "company",
    "account_manager_email",
    "team",
    "url",
    "delivery_id",
    "customer_external_id",
)
EARLIEST_CASE_TIME = datetime(2000, 1, 1, tzinfo=UTC)
"""No helpdesk case closed before this; an earlier time is a sender's mistake (or year 1)."""
_SHOWN_AS = {"external_id": "case_id"}
"""Fields named as the generic webhook and the CSV name them, where they differ."""


def latest_case_time(now: datetime) -> datetime:
    """The latest case time accepted at `now`: the same moment one year on (29 Feb: 28 Feb)."""
    try:
        return now.replace(year=now.year + 1)
    except ValueError:
        return now.replace(year=now.year + 1, day=28)


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def case_time_problem(moment: datetime, now: datetime | None = None) -> str | None:
    """Why an aware case time is outside the window accepted at `now`, or None when inside.

    The window runs from 2000-01-01 to one year after `now` (when given). Only comparisons are
    made on `moment`, never arithmetic, so year 1 or 9999 at any offset cannot overflow here.
    """
    earliest = EARLIEST_CASE_TIME
    latest = latest_case_time(now) if now is not None else None
    if earliest <= moment and (latest is None or moment <= latest):
        return None
    if latest is None:
        return f"must not be before {_day(earliest).isoformat()}"
    return (
        f"must be between {_day(earliest).isoformat()} and {_day(latest).isoformat()} "
        "(no earlier than 2000, at most one year after it was received)"
    )


class CaseError(ValueError):
    """A closed-case record that cannot be accepted; `field` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class ClosedCase:
    """One case closed (or reopened) in a helpdesk, in our own vocabulary.

    `external_id` is unique per `source`; `closed_at` is time-zone aware. The owner is named by
    `owner_slack_id`, `owner_email` or `owner_external_id` (a vendor's agent id, resolved through
    the agent link table), or by none of them: a case nobody owns is still kept, and its
    follow-ups go to the triage channel. (The generic webhook itself requires an owner.)
    """

    source: str
    external_id: str
    subject: str
    closed_at: datetime
    owner_email: str | None = None
    owner_slack_id: str | None = None
    owner_external_id: str | None = None
    resolution: str | None = None
    customer_name: str | None = None
    customer_email: str | None = None
    company: str | None = None
    channel: Channel = Channel.EMAIL
    severity: Severity = Severity.NORMAL
    kind: Kind = Kind.REQUEST
    b2b: bool = False
    senior_involved: bool = False
    account_manager_email: str | None = None
    team: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    url: str | None = None
    event: Event = Event.CLOSED
    delivery_id: str | None = None
    """The vendor's own delivery id, when it sends one (recorded for idempotency)."""
    customer_external_id: str | None = None
    """The helpdesk's own id for the requester, when it sends one (the review cap's key when
    there is no customer email)."""

    def __post_init__(self) -> None:
        # PostgreSQL refuses NUL in text: refused here, with the field named, for every way in.
        for name in _TEXT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, str) and "\x00" in value:
                raise CaseError(
                    _SHOWN_AS.get(name, name), "must not contain NUL (U+0000) characters"
                )
        if any("\x00" in tag for tag in self.tags):
            raise CaseError("tags", "must not contain NUL (U+0000) characters")
        if self.source not in SOURCES and not self.source.startswith(("slack", "manual", "csv")):
            raise CaseError("source", f"unknown source {self.source!r}")
        if not self.external_id or len(self.external_id) > MAX_ID:
            raise CaseError("case_id", f"must be a non-empty id of at most {MAX_ID} characters")
        if self.closed_at.tzinfo is None or self.closed_at.utcoffset() is None:
            raise CaseError("closed_at", "must carry a time zone (ISO 8601 with offset or Z)")
        time_problem = case_time_problem(self.closed_at)
        if time_problem is not None:
            raise CaseError("closed_at", time_problem)
        if self.event is Event.CLOSED and not self.subject.strip():
            raise CaseError("subject", "must not be empty")
        if len(self.subject) > MAX_SUBJECT:
            raise CaseError("subject", f"is longer than {MAX_SUBJECT} characters")
        if self.resolution is not None and len(self.resolution) > MAX_RESOLUTION:
            raise CaseError("resolution", f"is longer than {MAX_RESOLUTION} characters")
        if len(self.tags) > MAX_TAGS:
            raise CaseError("tags", f"has more than {MAX_TAGS} tags")
        for name in _SHORT_FIELDS:
            value = getattr(self, name)
            if value is not None and len(value) > MAX_SHORT:
                raise CaseError(name, f"is longer than {MAX_SHORT} characters")
        if self.owner_external_id is not None and len(self.owner_external_id) > MAX_ID:
            raise CaseError("owner_external_id", f"must be an id of at most {MAX_ID} characters")
        if self.customer_external_id is not None and len(self.customer_external_id) > MAX_ID:
            raise CaseError("customer_id", f"must be an id of at most {MAX_ID} characters")
        if self.owner_slack_id is not None and len(self.owner_slack_id) > MAX_SLACK_ID:
            raise CaseError("owner_slack_id", f"is longer than {MAX_SLACK_ID} characters")

    def replace(self, **changes: object) -> ClosedCase:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
