"""A stored case's plan as plain tuples, agent ids replaced by Slack ids: what the tests of
the bulk paths (CSV import, group-committed webhooks) compare with `accept_case`'s plans."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import FollowUp


def stored_plan(
    session: Session, case_id: int, agents: Mapping[int | None, str], *, counters: bool = False
) -> list[tuple[Any, ...]]:
    """The case's follow-ups in touch order; `counters` adds draft flags, version, attempts."""
    return [
        (
            f.touch,
            f.role,
            agents.get(f.assignee_id),
            f.rule,
            f.channel,
            f.template,
            f.priority,
            f.why,
            f.due_at,
            f.remind_at,
            f.lead_at,
            f.missed_at,
            f.automated_ok,
            f.review_eligible,
            f.referral_eligible,
            f.state,
            *((f.draft_flags, f.version, f.attempts) if counters else ()),
        )
        for f in session.scalars(
            select(FollowUp).where(FollowUp.case_id == case_id).order_by(FollowUp.touch)
        )
    ]
