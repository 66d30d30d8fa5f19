"""Fixtures for write-back: the helpdesk sandbox and a vendor's client pointed at it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.cases import ClosedCase
from bot.intake.accept import accept_case
from bot.sandbox.helpdesks import HelpdeskSandbox
from bot.writeback.outbox import queue_outcome
from bot.writeback.transport import Http
from bot.writeback.vendors.base import Job
from bot.writeback.vendors.registry import writer
from db.models import FollowUp, Outcome


def settings_for(box: HelpdeskSandbox, source: str, **override: str) -> dict[str, str]:
    """The source's WRITEBACK_<SOURCE>_<FIELD> values (by FIELD) pointing at the sandbox."""
    prefix = f"WRITEBACK_{source.upper()}_"
    fields = {name.removeprefix(prefix): value for name, value in box.env(source).items()}
    fields.update(override)
    return fields


def client_for(box: HelpdeskSandbox, source: str, timeout: float = 2.0, **override: str) -> Any:
    return writer(source, settings_for(box, source, **override), Http(timeout=timeout))


def job(
    source: str,
    ticket: str,
    *,
    reopen: bool = False,
    retried: bool = False,
    marker: str = "fu-0a1b2c3d4e5f",
    body: str = 'Followed up by Ada Lovelace by email: resolved.\nThe customer said: "all good"',
    job_id: int = 1,
) -> Job:
    """A job as the outbox hands it to a vendor: the note ends with its marker line."""
    return Job(
        id=job_id,
        source=source,
        ticket=ticket,
        body=f"{body}\nFollowup ref {marker}",
        marker=marker,
        reopen=reopen,
        retried=retried,
    )


def owe_notes(
    deps: Any, helpdesk: HelpdeskSandbox, count: int, *, start: datetime, first: int = 7000
) -> list[str]:
    """`count` Zendesk tickets closed three days before `start`, each with a "still not
    right" outcome recorded at `start` and so owed a note and a reopen."""
    tickets = [str(first + n) for n in range(count)]
    with deps.session_factory.begin() as session:
        for ticket in tickets:
            helpdesk.add_ticket("zendesk", ticket)
            accept_case(
                session,
                deps,
                ClosedCase(
                    source="zendesk",
                    external_id=ticket,
                    subject=f"Case {ticket}",
                    closed_at=start - timedelta(days=3),
                    owner_email="ada@example.com",
                ),
                actor="test",
                surface="webhook",
            )
        session.flush()
        for followup in session.scalars(select(FollowUp).where(FollowUp.touch == 1)):
            outcome = Outcome(
                follow_up_id=followup.id,
                result="not_resolved",
                recorded_by="U0AGENT",
                recorded_at=start,
            )
            session.add(outcome)
            queue_outcome(session, deps.settings, followup, outcome, "Still not right")
    return tickets
