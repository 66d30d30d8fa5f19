"""Closed cases in: one unit of work per delivery, idempotent, nothing written on rejection."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bot import metrics
from bot.cases import ClosedCase, Kind
from bot.deps import Deps
from bot.planning.plan import plan_case, team_defaults
from db import cases as store
from db.models import Case, FollowUp

log = logging.getLogger("followup.intake")


@dataclass
class Accepted:
    """What one closed-case record did to the store."""

    change: store.Change
    case: Case | None
    planned: list[FollowUp] = field(default_factory=list)
    cancelled: list[FollowUp] = field(default_factory=list)

    @property
    def is_new(self) -> bool:
        return self.change in (store.Change.NEW, store.Change.NEW_CYCLE, store.Change.REOPENED)


COMPLAINT_TAGS = frozenset({"complaint"})
B2B_TAGS = frozenset({"b2b", "key_account", "key-account", "enterprise"})
SENIOR_TAGS = frozenset({"senior", "senior_involved", "senior-involved", "escalated"})


def tag_conventions(closed: ClosedCase) -> ClosedCase:
    """Helpdesks have no field for complaint, B2B or senior involvement; teams tag them.

    A vendor case tagged `complaint` is a complaint, `b2b`/`key_account`/`enterprise` is B2B,
    and `senior`/`senior_involved`/`escalated` means senior involvement. The generic webhook
    has real fields for all three and is left as sent.
    """
    if closed.source == "generic" or not closed.tags:
        return closed
    tags = {t.strip().lower() for t in closed.tags}
    changes: dict[str, object] = {}
    if tags & COMPLAINT_TAGS and closed.kind is not Kind.COMPLAINT:
        changes["kind"] = Kind.COMPLAINT
    if tags & B2B_TAGS and not closed.b2b:
        changes["b2b"] = True
    if tags & SENIOR_TAGS and not closed.senior_involved:
        changes["senior_involved"] = True
    return closed.replace(**changes) if changes else closed


def count_accepted(source: str, planned: int) -> None:
    """One closed case accepted (new, or a new cycle) with `planned` follow-ups, for metrics."""
    metrics.CASES_ACCEPTED.labels(source).inc()
    metrics.FOLLOWUPS_PLANNED.inc(planned)


def accept_case(
    session: Session, deps: Deps, closed: ClosedCase, *, actor: str, surface: str
) -> Accepted:
    """Store `closed` and plan its follow-ups (or cancel them on a reopen); caller commits."""
    now = deps.clock.now()
    team = store.team_for(session, closed.team, team_defaults(deps), now)
    upserted = store.upsert_case(session, closed, team, now)
    result = Accepted(upserted.change, upserted.case, cancelled=upserted.cancelled)
    case = upserted.case
    if case is None:
        return result
    if upserted.change in (store.Change.NEW, store.Change.NEW_CYCLE):
        if closed.owner_slack_id:
            case.owner_id = store.agent_by_slack_id(session, closed.owner_slack_id, now, team.id).id
        result.planned = plan_case(session, deps, case)
        if surface != "webhook":  # a webhook's are counted once committed (bot/intake/batch.py)
            count_accepted(closed.source, len(result.planned))
    if result.is_new or result.cancelled:
        store.audit(
            session,
            at=now,
            actor=actor,
            surface=surface,
            entity="case",
            entity_id=case.id,
            action=f"case_{upserted.change.value}",
            detail={
                "cycle": case.cycle,
                "planned": len(result.planned),
                "cancelled": len(result.cancelled),
            },
        )
    return result
