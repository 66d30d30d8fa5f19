"""Who may act on a follow-up, and whether it is still open: the checks every button, modal
and `/followup` command makes before anything is written."""

from __future__ import annotations

from typing import Literal

from slack_sdk.models.views import View
from sqlalchemy.orm import Session

from bot.deps import Deps
from bot.loop import views as ov
from bot.planning.plan import calendar_of
from db import agents as roster_store
from db import outcomes as outcome_store
from db.models import FollowUp

OPEN = ("sent", "planned", "claimed", "snoozed")
"""States in which a follow-up still waits for its outcome."""

ModalKind = Literal["done", "skip", "snooze"]


class Refused(Exception):
    """The user may not act on this follow-up, or it is no longer open; the text says which."""


def may_act(session: Session, followup: FollowUp, slack_user_id: str) -> bool:
    """The assignee (a backup holds the follow-up as assignee while cover runs), or a lead."""
    assignee = followup.assignee
    if assignee is not None and assignee.slack_user_id == slack_user_id:
        return True
    actor = roster_store.by_slack_id(session, slack_user_id)
    if actor is None or not actor.is_lead:
        return False
    if assignee is not None and assignee.lead_id == actor.id:
        return True
    team_id = followup.case.team_id
    return team_id is not None and actor.team_id == team_id


def refusal_text(followup: FollowUp) -> str:
    return (
        f"Only the person this follow-up is assigned to, or a lead of the team, can act on "
        f"{followup.case.source} #{followup.case.external_id}. Nothing was changed."
    )


def finished_text(session: Session, followup: FollowUp) -> str:
    outcome = outcome_store.for_followup(session, followup.id)
    who = f" by <@{outcome.recorded_by}>" if outcome else ""
    return f"This follow-up was already closed{who} ({followup.state}). Nothing was changed."


def why_not(session: Session, followup: FollowUp, slack_user_id: str) -> str | None:
    """Why `slack_user_id` may not record anything on `followup` now, or None if they may."""
    if not may_act(session, followup, slack_user_id):
        return refusal_text(followup)
    if followup.state not in OPEN:
        return finished_text(session, followup)
    return None


def load_followup(session: Session, followup_id: int, lock: bool = False) -> FollowUp:
    followup = session.get(FollowUp, followup_id, with_for_update=lock)
    if followup is None:
        raise Refused("That follow-up no longer exists.")
    return followup


def modal_case(followup: FollowUp) -> ov.ModalCase:
    case = followup.case
    return ov.ModalCase(
        followup_id=followup.id,
        reference=f"{case.source} #{case.external_id}",
        subject=case.subject,
        customer=case.customer_name or case.company,
        review_eligible=followup.review_eligible,
        referral_eligible=followup.referral_eligible,
    )


def prepare_modal(deps: Deps, kind: ModalKind, meta: ov.ModalMeta, user_id: str) -> View:
    """The modal a button ("done", "skip", "snooze") opens; raises Refused for a stranger or a
    follow-up that is closed."""
    with deps.session_factory() as session:
        followup = load_followup(session, meta.followup_id)
        refusal = why_not(session, followup, user_id)
        if refusal is not None:
            raise Refused(refusal)
        private = ov.metadata(meta)
        case = modal_case(followup)
        if kind == "done":
            return ov.outcome_modal(case, list(deps.policy.root_causes), private)
        if kind == "skip":
            return ov.skip_modal(case, private)
        calendar = calendar_of(deps, followup.case.team, followup.assignee)
        today = deps.clock.now().astimezone(calendar.zone).date()
        return ov.snooze_modal(case, private, today)
