"""Resolutions that did not hold (or held, with an unhappy customer): the escalation post, and
the lead's "Handled", which records what was done this time."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from sqlalchemy.orm import Session

from bot.deps import Deps
from bot.loop import views as ov
from bot.loop.access import Refused, load_followup, modal_case
from bot.loop.outcomes import Done, plan_extra
from bot.planning.plan import calendar_of, team_lead
from bot.writeback.outbox import queue_handled
from db import agents as roster_store
from db import cases as store
from db import outcomes as outcome_store
from db import writebacks as writeback_store
from db.models import FollowUp

log = logging.getLogger("followup.escalation")

FALLBACK = {
    "not_resolved": "A resolution did not hold",
    "unhappy": "Resolved, but the customer is unhappy with how it went",
}
"""The escalation post's notification text, by the outcome that raised it."""


def escalate(deps: Deps, done: Done) -> None:
    """Post "still not right" to the escalation channel at once, mentioning the lead."""
    with deps.session_factory() as session:
        followup = load_followup(session, done.followup_id)
        case = followup.case
        channel = (
            case.team.escalation_channel if case.team else None
        ) or deps.settings.escalation_channel
        lead = team_lead(session, case.team, followup.assignee)
        outcome = outcome_store.for_followup(session, followup.id)
        args = dict(
            followup_id=followup.id,
            reference=f"{case.source} #{case.external_id}",
            subject=case.subject,
            customer=case.customer_name or case.company,
            customer_said=outcome.customer_said if outcome else None,
            agent_id=outcome.recorded_by if outcome else (done.assignee_slack_id or ""),
            lead_id=lead.slack_user_id if lead else None,
            result=outcome.result if outcome else "not_resolved",
        )
        dm = (followup.slack_channel, followup.slack_ts)
    if channel is None:
        log.warning("follow-up %s escalated but ESCALATION_CHANNEL is not set", done.followup_id)
        return
    permalink = None
    if dm[0] and dm[1]:
        try:
            permalink = deps.client.chat_getPermalink(channel=dm[0], message_ts=dm[1])["permalink"]
        except SlackApiError as error:
            log.warning("no permalink for the DM: %s", error.response.get("error"))
    blocks = ov.escalation_blocks(permalink=permalink, **args)  # type: ignore[arg-type]
    deps.client.chat_postMessage(
        channel=channel,
        text=f"{FALLBACK.get(str(args['result']), FALLBACK['not_resolved'])}: {args['reference']}",
        blocks=[b.to_dict() for b in blocks],
        unfurl_links=False,
    )


def _check_lead(session: Session, followup: FollowUp, user_id: str) -> None:
    """A lead of the team may handle an escalation (the assignee when the team has none), and
    only once."""
    actor = roster_store.by_slack_id(session, user_id)
    lead = team_lead(session, followup.case.team, followup.assignee)
    allowed = (actor is not None and actor.is_lead) or (
        lead is None
        and followup.assignee is not None
        and followup.assignee.slack_user_id == user_id
    )
    if not allowed:
        raise Refused(
            "Only a lead of the team can mark an escalation handled. Nothing was changed."
        )
    if followup.state != "escalated":
        raise Refused("This escalation was already handled.")


def handled_modal_for(deps: Deps, meta: ov.HandledMeta, user_id: str) -> View:
    """The "Handled" modal for this escalation; raises Refused for someone who may not handle
    it, or when it was handled already."""
    with deps.session_factory() as session:
        followup = load_followup(session, meta.followup_id)
        _check_lead(session, followup, user_id)
        outcome = outcome_store.for_followup(session, followup.id)
        result = outcome.result if outcome else "not_resolved"
        return ov.handled_modal(modal_case(followup), result, ov.handled_metadata(meta))


def mark_escalation_handled(
    deps: Deps, followup_id: int, user_id: str, what_we_did: str | None = None
) -> list[Any]:
    """A lead's "Handled": keep what was done this time on the escalated outcome and, when the
    fix did not hold, plan a fresh check-in per policy; the updated post's blocks."""
    now = deps.clock.now()
    did = (what_we_did or "").strip()[: ov.DID_LIMIT] or None
    with deps.session_factory.begin() as session:
        followup = load_followup(session, followup_id, lock=True)
        _check_lead(session, followup, user_id)
        outcome = outcome_store.for_followup(session, followup.id)
        result = outcome.result if outcome else "not_resolved"
        if outcome is not None:
            outcome.what_we_did = did
        # After "unhappy" the customer had confirmed the fix: the loop closes once handled.
        followup.state = "escalation_handled" if result == "not_resolved" else "done"
        followup.version += 1
        followup.updated_at = now
        # A case reopened in its helpdesk (by hand, or by our write-back) is the helpdesk's
        # again: its next close starts a new cycle with its own touch, so none is planned here.
        # A reopen still on its way may fail: the check-in is planned, and the reopen cancels
        # it when it lands (db/cases.py), as any reopen cancels what is open.
        handed_back = followup.case.status == "reopened"
        underway = not handed_back and writeback_store.reopen_underway(session, followup.id)
        fresh = result == "not_resolved" and not handed_back
        if fresh:
            _plan_fresh_check_in(session, deps, followup, now)
        queue_handled(session, deps.settings, followup, user_id, did, now)
        next_step = ov.next_step_text(result, handed_back=handed_back, reopen_underway=underway)
        store.audit(
            session,
            at=now,
            actor=user_id,
            surface="escalation",
            entity="follow_up",
            entity_id=followup.id,
            action="escalation_handled",
            detail={"result": result, "what_we_did": did is not None},
        )
        case = followup.case
        return ov.escalation_blocks(
            followup_id=followup.id,
            reference=f"{case.source} #{case.external_id}",
            subject=case.subject,
            customer=case.customer_name or case.company,
            customer_said=outcome.customer_said if outcome else None,
            agent_id=outcome.recorded_by if outcome else "",
            lead_id=None,
            permalink=None,
            handled_by=user_id,
            result=result,
            what_we_did=did,
            next_step=next_step,
        )


def _plan_fresh_check_in(session: Session, deps: Deps, followup: FollowUp, now: datetime) -> None:
    rule = next((r for r in deps.policy.rules if r.name == followup.rule), None)
    offset = rule.touches[0].after.delta if rule and rule.touches else timedelta(hours=72)
    calendar = calendar_of(deps, followup.case.team, followup.assignee)
    plan_extra(
        session,
        deps,
        followup,
        calendar.next_window_start(now + offset),
        template="check_in",
        now=now,
        why="a fresh check-in after an escalation was handled",
    )
