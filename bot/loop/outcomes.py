"""Closing the loop: outcomes, skips, snoozes and escalations, with who-may-act and first-wins."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.deps import Deps
from bot.loop import views as ov
from bot.planning.plan import calendar_of, lead_calendar, lead_of
from bot.rules.touch_plan import no_reply_retry_at
from db import cases as store
from db.models import Agent, FollowUp, Outcome

log = logging.getLogger("followup.outcomes")

OPEN = ("sent", "planned", "claimed", "snoozed")
"""States in which a follow-up still waits for its outcome."""
NO_REPLY_TEMPLATE = "no_reply_nudge"


class Refused(Exception):
    """The user may not act on this follow-up, or it is no longer open; the text says which."""


@dataclass
class Done:
    """What a recorded action leaves to do after the commit (Slack calls, never in the txn)."""

    followup_id: int
    assignee_slack_id: str | None
    refresh: set[tuple[str, str]] = field(default_factory=set)
    escalate: bool = False
    confirmation: str = ""


def agent_by_slack_user(session: Session, slack_user_id: str) -> Agent | None:
    return session.scalar(select(Agent).where(Agent.slack_user_id == slack_user_id))


def may_act(session: Session, followup: FollowUp, slack_user_id: str) -> bool:
    """The assignee (a backup holds the follow-up as assignee while cover runs), or a lead."""
    assignee = followup.assignee
    if assignee is not None and assignee.slack_user_id == slack_user_id:
        return True
    actor = agent_by_slack_user(session, slack_user_id)
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
    outcome = session.scalar(select(Outcome).where(Outcome.follow_up_id == followup.id))
    who = f" by <@{outcome.recorded_by}>" if outcome else ""
    return f"This follow-up was already closed{who} ({followup.state}). Nothing was changed."


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


def prepare_modal(
    deps: Deps,
    kind: str,
    followup_id: int,
    user_id: str,
    channel: str | None,
    ts: str | None,
    surface: str,
) -> Any:
    """The modal for a button ("done", "skip", "snooze"); raises Refused for a stranger."""
    with deps.session_factory() as session:
        followup = load_followup(session, followup_id)
        if not may_act(session, followup, user_id):
            raise Refused(refusal_text(followup))
        if followup.state not in OPEN:
            raise Refused(finished_text(session, followup))
        meta = ov.metadata(followup.id, channel, ts, surface)
        case = modal_case(followup)
        if kind == "done":
            return ov.outcome_modal(case, list(deps.policy.root_causes), meta)
        if kind == "skip":
            return ov.skip_modal(case, meta)
        calendar = calendar_of(deps, followup.case.team, followup.assignee)
        today = deps.clock.now().astimezone(calendar.zone).date()
        return ov.snooze_modal(case, meta, today)


def modal_value(values: dict[str, Any], block: str, action: str) -> dict[str, Any]:
    return dict((values.get(block) or {}).get(action) or {})


def selected(values: dict[str, Any], block: str, action: str) -> Any:
    """The value of the option chosen in a select or radio group, or None."""
    return (modal_value(values, block, action).get("selected_option") or {}).get("value")


def _parse_outcome(
    values: dict[str, Any], case: ov.ModalCase
) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    result = (modal_value(values, ov.B_RESULT, ov.A_RESULT).get("selected_option") or {}).get(
        "value"
    )
    if result not in ov.RESULTS:
        errors[ov.B_RESULT] = "Choose how it went."
    said = (modal_value(values, ov.B_SAID, ov.A_SAID).get("value") or "").strip()
    if len(said) > ov.SAID_LIMIT:
        errors[ov.B_SAID] = f"Keep it to {ov.SAID_LIMIT} characters: a sentence or two."
    cause = (modal_value(values, ov.B_CAUSE, ov.A_CAUSE).get("selected_option") or {}).get("value")
    asks = {
        o.get("value")
        for o in modal_value(values, ov.B_ASKS, ov.A_ASKS).get("selected_options") or []
    }
    if asks & {"referral_asked", "referral_given"} and result != "resolved":
        errors[ov.B_ASKS] = (
            "A referral is only asked once the customer confirmed it's "
            "resolved: untick it, or change the outcome."
        )
    if "review_given" in asks and "review_asked" not in asks:
        asks.add("review_asked")
    if "referral_given" in asks and "referral_asked" not in asks:
        asks.add("referral_asked")
    if not case.review_eligible:
        asks -= {"review_asked", "review_given"}
    if not case.referral_eligible:
        asks -= {"referral_asked", "referral_given"}
    return {"result": result, "said": said or None, "cause": cause, "asks": asks}, errors


def record_outcome(
    deps: Deps, user_id: str, private_metadata: str, values: dict[str, Any]
) -> tuple[dict[str, str] | None, Done | None]:
    """Validate and store "Followed up"; (inline errors, None) or (None, what to do next)."""
    meta = ov.read_metadata(private_metadata)
    now = deps.clock.now()
    with deps.session_factory.begin() as session:
        followup = load_followup(session, int(meta["f"]), lock=True)
        parsed, errors = _parse_outcome(values, modal_case(followup))
        if not may_act(session, followup, user_id):
            return {ov.B_RESULT: refusal_text(followup)}, None
        if followup.state not in OPEN:
            return {ov.B_RESULT: finished_text(session, followup)}, None
        if errors:
            return errors, None
        result = str(parsed["result"])
        asks: set[str] = parsed["asks"]
        final = result
        if result in ("no_reply", "unreachable") and followup.template == NO_REPLY_TEMPLATE:
            final = "no_response"  # the extra gentle touch also went unanswered: close it
        session.add(
            Outcome(
                follow_up_id=followup.id,
                result=final,
                customer_said=parsed["said"],
                root_cause=parsed["cause"],
                recorded_by=user_id,
                recorded_at=now,
                review_asked="review_asked" in asks,
                review_given="review_given" in asks,
                referral_asked="referral_asked" in asks,
                referral_given="referral_given" in asks,
            )
        )
        state = {"resolved": "done", "not_resolved": "escalated", "no_response": "no_response"}
        followup.state = state.get(final, "no_reply")
        _close(followup, now)
        done = done_for(followup)
        if final in ("no_reply", "unreachable"):
            _plan_gentle_touch(session, deps, followup, now)
            done.confirmation = "Noted. I'll remind you to try once more, gently, later."
        done.escalate = final == "not_resolved"
        audit_action(
            session,
            now,
            user_id,
            meta,
            followup,
            f"outcome_{final}",
            {"root_cause": parsed["cause"], "asks": sorted(asks)},
        )
    return None, done


def record_skip(
    deps: Deps, user_id: str, private_metadata: str, values: dict[str, Any]
) -> tuple[dict[str, str] | None, Done | None]:
    """ "Skip" with its required reason."""
    meta = ov.read_metadata(private_metadata)
    reason = (modal_value(values, ov.B_REASON, ov.A_REASON).get("value") or "").strip()
    now = deps.clock.now()
    with deps.session_factory.begin() as session:
        followup = load_followup(session, int(meta["f"]), lock=True)
        if not may_act(session, followup, user_id):
            return {ov.B_REASON: refusal_text(followup)}, None
        if followup.state not in OPEN:
            return {ov.B_REASON: finished_text(session, followup)}, None
        if len(reason) < 3:
            return {
                ov.B_REASON: "Say briefly why, so the team can tell skipped from forgotten."
            }, None
        session.add(
            Outcome(
                follow_up_id=followup.id,
                result="skipped",
                skip_reason=reason[: ov.REASON_LIMIT],
                recorded_by=user_id,
                recorded_at=now,
            )
        )
        followup.state = "skipped"
        _close(followup, now)
        audit_action(session, now, user_id, meta, followup, "skipped", {"reason": reason[:300]})
        return None, done_for(followup)


def _close(followup: FollowUp, now: datetime) -> None:
    followup.completed_at = now
    followup.lease_until = None
    followup.version += 1
    followup.updated_at = now


def done_for(followup: FollowUp) -> Done:
    done = Done(followup.id, followup.assignee.slack_user_id if followup.assignee else None)
    if followup.slack_channel and followup.slack_ts:
        done.refresh.add((followup.slack_channel, followup.slack_ts))
    return done


def audit_action(
    session: Session,
    now: datetime,
    user_id: str,
    meta: dict[str, Any],
    followup: FollowUp,
    action: str,
    detail: dict[str, Any],
) -> None:
    store.audit(
        session,
        at=now,
        actor=user_id,
        surface=str(meta.get("s") or "modal"),
        entity="follow_up",
        entity_id=followup.id,
        action=action,
        detail=detail,
    )


def _next_touch(session: Session, followup: FollowUp) -> int:
    highest = session.scalar(
        select(func.max(FollowUp.touch)).where(
            FollowUp.case_id == followup.case_id, FollowUp.cycle == followup.cycle
        )
    )
    return int(highest or 0) + 1


def plan_extra(
    session: Session,
    deps: Deps,
    followup: FollowUp,
    due: datetime,
    *,
    template: str,
    why: str,
    now: datetime,
) -> FollowUp:
    calendar = calendar_of(deps, followup.case.team, followup.assignee)
    overdue = deps.policy.overdue
    lead_at = calendar.add_working_hours(due, overdue.lead_after_working_hours)
    lead = lead_of(session, followup)
    if lead is not None:  # the lead hears in the lead's own working hours, as for planned touches
        lead_at = lead_calendar(deps, followup, lead).next_window_start(lead_at)
    extra = FollowUp(
        case_id=followup.case_id,
        cycle=followup.cycle,
        touch=_next_touch(session, followup),
        role=followup.role,
        rule=followup.rule,
        channel=followup.channel,
        template=template,
        priority=followup.priority,
        why=why[:200],
        automated_ok=False,
        assignee_id=followup.assignee_id,
        state="planned",
        due_at=due,
        remind_at=calendar.add_working_hours(due, overdue.remind_after_working_hours),
        lead_at=lead_at,
        missed_at=due + overdue.missed_after,
        review_eligible=False,
        referral_eligible=followup.referral_eligible,
        draft_flags=[],
        version=1,
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    session.add(extra)
    session.flush()
    return extra


def _plan_gentle_touch(session: Session, deps: Deps, followup: FollowUp, now: datetime) -> None:
    calendar = calendar_of(deps, followup.case.team, followup.assignee)
    due = no_reply_retry_at(now, deps.policy, calendar)
    plan_extra(
        session,
        deps,
        followup,
        due,
        template=NO_REPLY_TEMPLATE,
        now=now,
        why="one more gentle try: no reply to the last follow-up",
    )


def after_commit(deps: Deps, done: Done, origin: tuple[str | None, str | None]) -> None:
    """Slack side effects of a recorded action: escalate, update the DM(s), refresh App Home."""
    from bot.loop.queue import publish_home
    from bot.nudge.items import refresh_message_at, refresh_messages

    if done.escalate:
        from bot.loop.escalation import escalate

        try:
            escalate(deps, done)
        except SlackApiError as error:
            log.error("escalation post failed: %s", error.response.get("error"))
    refresh_messages(deps, [done.followup_id])
    channel, ts = origin
    if channel and ts and (channel, ts) not in done.refresh and channel.startswith("D"):
        refresh_message_at(deps, channel, ts, done.followup_id)
    if done.assignee_slack_id:
        try:
            publish_home(deps, done.assignee_slack_id)
        except SlackApiError as error:
            log.warning("App Home refresh failed: %s", error.response.get("error"))
