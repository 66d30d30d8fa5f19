"""What an outcome owes the helpdesk, written to the outbox in the outcome's own transaction.

The note is plain text for the team reading the ticket later: who followed up, when, by which
channel, the outcome, what the customer said, the root cause and the lesson; after a lead's
"Handled", what was done. It is internal on every vendor (bot/writeback/vendors/), and it is
built here rather than from a team's templates because it is a record, not a message: its
lines are the same on every ticket so a search in the helpdesk finds them. Its last line is
the row's marker, which a retry looks for on the ticket before adding the note again.

Only cases that came from a helpdesk with write-back configured (WRITEBACK_<SOURCE>_*) owe
anything: a case logged by hand or imported from a CSV has no ticket to note.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.config import Settings
from db import directory
from db import writebacks as writeback_store
from db.models import FollowUp, Outcome, Writeback
from db.writebacks import Claimed

REOPENING = ("not_resolved", "unhappy")
"""Outcomes that put the ticket back in the helpdesk's open state: the fix did not hold, or
it held and the customer is unhappy with how it went; either way the helpdesk's own queue and
SLAs should take the case again while the lead looks at it."""

NEXT_STEP = "{next step}"
"""In a handled note, the line `settle` fills in as its delivery starts."""
FRESH_CHECK_IN = "Followup will prompt a fresh check-in with the customer."
HANDED_BACK = "The ticket is open again: Followup plans the next check-in when it is solved."
REOPEN_LINE = "Followup reopens this ticket:"
NOT_REOPENED = "Not reopened: the ticket was solved again before this note could land."

CHANNEL_WORDS = {
    "email": "by email",
    "phone": "by phone",
    "chat": "by chat",
    "web": "on the web",
    "social": "on social",
    "other": "",
}


@dataclass(frozen=True)
class Said:
    """What an outcome's note reports, besides the case: the recorder's words and labels."""

    result: str
    label: str
    """The outcome as the agent chose it ("Still not right")."""
    customer_said: str | None = None
    root_cause: str | None = None
    insight: str | None = None
    skip_reason: str | None = None


def writes_back(settings: Settings, followup: FollowUp) -> bool:
    return followup.case.source in settings.writeback


def new_marker() -> str:
    return "fu-" + secrets.token_hex(8)


def queue_outcome(
    session: Session, settings: Settings, followup: FollowUp, outcome: Outcome, label: str
) -> Writeback | None:
    """The note for an outcome just recorded (a reopen with it when the fix did not hold);
    None when the case's helpdesk has no write-back."""
    if not writes_back(settings, followup):
        return None
    said = Said(
        outcome.result,
        label,
        outcome.customer_said,
        outcome.root_cause,
        outcome.insight,
        outcome.skip_reason,
    )
    reopen = outcome.result in REOPENING
    who = _name(session, outcome.recorded_by)
    when = _when(followup, outcome.recorded_at, settings)
    lines = [f"Followup: customer follow-up recorded ({label})."]
    how = CHANNEL_WORDS.get(followup.channel, "")
    if outcome.result == "skipped":
        lines.append(f"Skipped by {who}, {when}: the customer was not contacted.")
    else:
        lines.append(f"Followed up by {who}{' ' + how if how else ''}, {when}.")
    lines += _said_lines(said)
    if outcome.result in ("no_reply", "unreachable"):
        lines.append(f"Followup will remind {who} to try once more, gently.")
    if reopen:
        lines.append(
            f"{REOPEN_LINE} the resolution did not hold, and it is escalated to the team lead "
            "in Slack."
            if outcome.result == "not_resolved"
            else f"{REOPEN_LINE} resolved, but the customer is unhappy with how it went; "
            "escalated to the team lead in Slack."
        )
    detail = {
        "event": "outcome_recorded",
        "outcome": outcome.result,
        "outcome_label": label,
        "followed_up_by": who,
        "followed_up_by_slack_id": outcome.recorded_by,
        "channel": followup.channel,
        "recorded_at": outcome.recorded_at.isoformat(),
        "customer_said": said.customer_said,
        "root_cause": said.root_cause,
        "insight": said.insight,
        "skip_reason": said.skip_reason,
        "reopen": reopen,
    }
    return _add(session, followup, "outcome", reopen, lines, detail, outcome.recorded_at)


def queue_handled(
    session: Session,
    settings: Settings,
    followup: FollowUp,
    lead_slack_id: str,
    what_we_did: str | None,
    now: datetime,
) -> Writeback | None:
    """The note for a lead's "Handled": what was done this time, and what comes next, which
    is only known once the rows before it on the ticket (the outcome's reopen) have gone:
    `NEXT_STEP` stands in for it until then (`settle`)."""
    if not writes_back(settings, followup):
        return None
    who = _name(session, lead_slack_id)
    lines = [
        "Followup: escalation handled.",
        f"Handled by {who}, {_when(followup, now, settings)}.",
        f"What we did: {_one_line(what_we_did)}" if what_we_did else "What we did: not noted.",
    ]
    lines.append(NEXT_STEP)
    detail = {
        "event": "escalation_handled",
        "handled_by": who,
        "handled_by_slack_id": lead_slack_id,
        "handled_at": now.isoformat(),
        "what_we_did": what_we_did,
        "reopen": False,
    }
    return _add(session, followup, "handled", False, lines, detail, now)


def _said_lines(said: Said) -> list[str]:
    lines = []
    if said.skip_reason:
        lines.append(f"Why: {_one_line(said.skip_reason)}")
    if said.customer_said:
        lines.append(f"What the customer said: {_one_line(said.customer_said)}")
    if said.root_cause:
        lines.append(f"Root cause: {_one_line(said.root_cause)}")
    if said.insight:
        lines.append(f"What we should change: {_one_line(said.insight)}")
    return lines


def _add(
    session: Session,
    followup: FollowUp,
    event: str,
    reopen: bool,
    lines: list[str],
    detail: Mapping[str, object],
    now: datetime,
) -> Writeback:
    marker = new_marker()
    case = followup.case
    detail = {
        **detail,
        "case": {"source": case.source, "id": case.external_id, "subject": case.subject},
        "follow_up_id": followup.id,
        "marker": marker,
    }
    row = Writeback(
        source=case.source,
        ticket=case.external_id,
        case_id=case.id,
        follow_up_id=followup.id,
        event=event,
        reopen=reopen,
        body="\n".join([*lines, f"Followup ref {marker}"]),
        detail=detail,
        marker=marker,
        state="pending",
        attempts=0,
        failures=0,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    return row


def _name(session: Session, slack_user_id: str) -> str:
    name = directory.display_name(session, slack_user_id)
    return _one_line(name) if name else f"Slack user {slack_user_id}"


def _when(followup: FollowUp, at: datetime, settings: Settings) -> str:
    team = followup.case.team
    zone = (team.timezone if team else None) or settings.timezone
    local = at.astimezone(ZoneInfo(zone))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} ({zone})"


def _one_line(text: str) -> str:
    """Free text on one line of the note, so no line of the customer's words can pass for
    one of the note's own ("Followup ref ...")."""
    return " ".join(text.split())


def settle(session: Session, item: Claimed) -> Claimed:
    """The row as it must go now, written back so that every retry sends the same: a reopen
    whose ticket was solved again since is dropped (its note says so), and a handled note's
    next step is filled in from what the case is now (one ticket's rows go in order, so the
    outcome's reopen has landed or failed by then)."""
    body, reopen, detail = item.body, item.reopen, dict(item.detail)
    if reopen and writeback_store.reopen_is_stale(session, item.id):
        reopen = False
        body = "\n".join(
            NOT_REOPENED if line.startswith(REOPEN_LINE) else line for line in body.split("\n")
        )
        detail["reopen"] = False
        detail["reopen_dropped"] = "solved again since"
    if NEXT_STEP in body:
        step = _next_step(session, item.follow_up_id)
        lines = [step if line == NEXT_STEP else line for line in body.split("\n")]
        body = "\n".join(line for line in lines if line)
        detail["next_step"] = step or None
    if (body, reopen) == (item.body, item.reopen):
        return item
    writeback_store.rewrite(session, item.id, body=body, reopen=reopen, detail=detail)
    return replace(item, body=body, reopen=reopen, detail=detail)


def _next_step(session: Session, followup_id: int) -> str:
    if writeback_store.fresh_check_in_planned(session, followup_id):
        return FRESH_CHECK_IN
    followup = session.get(FollowUp, followup_id)
    if followup is not None and (
        followup.case.status == "reopened" or followup.case.cycle > followup.cycle
    ):
        return HANDED_BACK
    return ""  # "resolved, but unhappy": the fix stands, nothing is planned
