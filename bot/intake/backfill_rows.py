"""One row of a `followup import` CSV: the columns, the header check, and a record parsed and
validated into a `ClosedCase` by the generic webhook's rules (`RowError` when it cannot be).
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from bot.cases import CaseError, Channel, ClosedCase, Kind, Severity, case_time_problem

COLUMNS = (
    "case_id",
    "subject",
    "closed_at",
    "owner_email",
    "owner_slack_id",
    "resolution",
    "customer_name",
    "customer_email",
    "company",
    "channel",
    "severity",
    "kind",
    "b2b",
    "senior_involved",
    "account_manager_email",
    "team",
    "tags",
    "url",
)
REQUIRED_COLUMNS = ("case_id", "subject", "closed_at")

_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")
_TAG_SPLIT = re.compile(r"[,;]")
_SPACE = re.compile(r"\s")
_UNDECODABLE = re.compile("[\udc80-\udcff]")
"""Bytes that were not UTF-8, kept by the surrogateescape decoder so one row can be refused."""
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0", ""}
E = TypeVar("E", bound=StrEnum)


class BackfillError(Exception):
    """The file as a whole cannot be imported (missing, no header, unknown columns)."""


class RowError(ValueError):
    """One row cannot be imported; the message is the reason shown with its line number."""


# --- one row ------------------------------------------------------------------------------


_MEMBERS: dict[type[StrEnum], dict[str, StrEnum]] = {
    kind: {member.value: member for member in kind} for kind in (Channel, Severity, Kind)
}


def _choice(value: str | None, name: str, kind: type[E], default: E) -> E:
    if value is None:
        return default
    found = _MEMBERS[kind].get(value.lower())
    if found is None:
        allowed = ", ".join(member.value for member in kind)
        raise RowError(f"{name}: unknown value {value[:40]!r} (one of: {allowed})")
    return found  # type: ignore[return-value]


def _flag(value: str | None, name: str) -> bool:
    word = (value or "").lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise RowError(f"{name}: expected true or false, got {word[:40]!r}")


def _email(value: str | None, name: str) -> str | None:
    if value is not None and (value.count("@") != 1 or _SPACE.search(value)):
        raise RowError(f"{name}: is not an email address: {value[:80]!r}")
    return value


def _closed_at(value: str | None, now: datetime | None) -> datetime:
    if value is None:
        raise RowError("closed_at: is required (ISO 8601 with an offset)")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise RowError(f"closed_at: not an ISO 8601 date and time: {value[:40]!r}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise RowError(f"closed_at: needs an offset or Z (e.g. 2026-11-20T10:00:00Z): {value!r}")
    problem = case_time_problem(moment, now)
    if problem is not None:
        raise RowError(f"closed_at: {problem}")
    return moment


def parse_row(
    header: list[str], values: list[str], source: str, now: datetime | None = None
) -> ClosedCase:
    """A closed case from one CSV record, with the generic webhook's rules; RowError if not.

    `now`: the import's time; a close more than a year after it is refused."""
    if len(values) != len(header):
        raise RowError(f"has {len(values)} fields, the header has {len(header)}")
    joined = "".join(values)
    try:
        # Encoding fails only on a surrogate, and fast: scanning every row with the regex
        # took longer than the rest of the checks together.
        joined.encode()
    except UnicodeEncodeError:
        if _UNDECODABLE.search(joined):
            raise RowError("contains bytes that are not valid UTF-8") from None
    data = {name: raw.strip() or None for name, raw in zip(header, values, strict=True)}
    get = data.get
    case_id, subject = get("case_id"), get("subject")
    if case_id is None:
        raise RowError("case_id: is required")
    if subject is None:
        raise RowError("subject: is required")
    owner_email = _email(get("owner_email"), "owner_email")
    owner_slack_id = get("owner_slack_id")
    if owner_slack_id is not None and not _SLACK_USER.match(owner_slack_id):
        raise RowError(f"owner_slack_id: is not a Slack user id: {owner_slack_id[:40]!r}")
    if not (owner_email or owner_slack_id):
        raise RowError("owner_email: an owner_email or owner_slack_id is required")
    url = get("url")
    if url is not None and not url.lower().startswith(("https://", "http://")):
        raise RowError("url: must be an http(s) URL")
    tags = get("tags")
    try:
        return ClosedCase(
            source=source,
            external_id=case_id,
            subject=subject,
            closed_at=_closed_at(get("closed_at"), now),
            owner_email=owner_email,
            owner_slack_id=owner_slack_id,
            resolution=get("resolution"),
            customer_name=get("customer_name"),
            customer_email=_email(get("customer_email"), "customer_email"),
            company=get("company"),
            channel=_choice(get("channel"), "channel", Channel, Channel.EMAIL),
            severity=_choice(get("severity"), "severity", Severity, Severity.NORMAL),
            kind=_choice(get("kind"), "kind", Kind, Kind.REQUEST),
            b2b=_flag(get("b2b"), "b2b"),
            senior_involved=_flag(get("senior_involved"), "senior_involved"),
            account_manager_email=_email(get("account_manager_email"), "account_manager_email"),
            team=get("team"),
            tags=tuple(t.strip() for t in _TAG_SPLIT.split(tags) if t.strip()) if tags else (),
            url=url,
        )
    except CaseError as error:
        raise RowError(str(error)) from None


def check_header(record: list[str]) -> list[str]:
    """The column names of a header row; BackfillError naming unknown or missing columns."""
    header = [name.strip().lower() for name in record]
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise BackfillError(
            f"unknown column(s) {', '.join(repr(n) for n in unknown)} in the header (line 1); "
            f"the columns are: {', '.join(COLUMNS)}"
        )
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise BackfillError(f"column(s) {', '.join(repeated)} appear more than once")
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise BackfillError(f"the header lacks the required column(s) {', '.join(missing)}")
    if "owner_email" not in header and "owner_slack_id" not in header:
        raise BackfillError("the header needs an owner_email or an owner_slack_id column")
    return header
