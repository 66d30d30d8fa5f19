"""Resolutions that did not hold: the escalation post, and the lead's "Handled"."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.loop import views as ov
from bot.loop.access import Refused, load_followup
from bot.loop.outcomes import Done, plan_extra
from bot.planning.plan import calendar_of, team_lead
from db import agents as roster_store
from db import cases as store
from db import outcomes as outcome_store

log = logging.getLogger("followup.escalation")


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
        text=f"A resolution did not hold: {args['reference']}",
        blocks=[b.to_dict() for b in blocks],
        unfurl_links=False,
    )


def mark_escalation_handled(deps: Deps, followup_id: int, user_id: str) -> list[Any]:
    """A lead's "Handled": plan a fresh check-in per policy; the updated post's blocks."""
    now = deps.clock.now()
    with deps.session_factory.begin() as session:
        followup = load_followup(session, followup_id, lock=True)
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
        followup.state = "escalation_handled"
        followup.version += 1
        followup.updated_at = now
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
        store.audit(
            session,
            at=now,
            actor=user_id,
            surface="escalation",
            entity="follow_up",
            entity_id=followup.id,
            action="escalation_handled",
            detail={},
        )
        case = followup.case
        outcome = outcome_store.for_followup(session, followup.id)
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
        )
