"""The normalised closed-case record every intake path (webhook, channel, modal, CSV) produces."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
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

# Field limits: generous for real tickets, small enough that one case can never bloat a DM or row.
MAX_SUBJECT = 500
MAX_RESOLUTION = 4000
MAX_SHORT = 320
MAX_TAGS = 50


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

    def __post_init__(self) -> None:
        if self.source not in SOURCES and not self.source.startswith(("slack", "manual", "csv")):
            raise CaseError("source", f"unknown source {self.source!r}")
        if not self.external_id or len(self.external_id) > 200:
            raise CaseError("case_id", "must be a non-empty id of at most 200 characters")
        if self.closed_at.tzinfo is None or self.closed_at.utcoffset() is None:
            raise CaseError("closed_at", "must carry a time zone (ISO 8601 with offset or Z)")
        if self.event is Event.CLOSED and not self.subject.strip():
            raise CaseError("subject", "must not be empty")
        if len(self.subject) > MAX_SUBJECT:
            raise CaseError("subject", f"is longer than {MAX_SUBJECT} characters")
        if self.resolution is not None and len(self.resolution) > MAX_RESOLUTION:
            raise CaseError("resolution", f"is longer than {MAX_RESOLUTION} characters")
        if len(self.tags) > MAX_TAGS:
            raise CaseError("tags", f"has more than {MAX_TAGS} tags")
        for name in ("customer_name", "customer_email", "company", "owner_email", "url", "team"):
            value = getattr(self, name)
            if value is not None and len(value) > MAX_SHORT:
                raise CaseError(name, f"is longer than {MAX_SHORT} characters")

    def replace(self, **changes: object) -> ClosedCase:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
