"""Recording what a follow-up came to: an outcome or a skip, first wins, with what it plans
next (a gentle retry after no reply) and what is left to do once it has committed."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot import metrics
from bot.deps import Deps
from bot.loop import views as ov
from bot.loop.access import load_followup, modal_case, why_not
from bot.planning.plan import calendar_of, lead_calendar, lead_of
from bot.rules.touch_plan import no_reply_retry_at
from bot.writeback.outbox import queue_outcome
from db import cases as store
from db import followups as followup_store
from db.models import FollowUp, Outcome

log = logging.getLogger("followup.outcomes")

NO_REPLY_TEMPLATE = "no_reply_nudge"
OUTCOME_LABELS = {
    **ov.RESULTS,
    "no_response": "No reply, after one more gentle try",
    "skipped": "Skipped",
}
"""Every stored result as the agent's own words, for the helpdesk's note."""

Errors = dict[str, str]
"""Inline errors keyed by the form's field name ("result", "said", "asks", "reason", ...)."""


@dataclass
class Done:
    """What a recorded action leaves to do after the commit (Slack calls, never in the txn)."""

    followup_id: int
    assignee_slack_id: str | None
    refresh: set[tuple[str, str]] = field(default_factory=set)
    escalate: bool = False
    confirmation: str = ""


def check_outcome(form: ov.OutcomeForm, case: ov.ModalCase) -> tuple[set[str], Errors]:
    """The asks to record (a "given" implies its "asked"; none the case is not eligible for)
    and the form's errors."""
    errors: Errors = {}
    if form.result not in ov.RESULTS:
        errors["result"] = "Choose how it went."
    if form.said is not None and len(form.said) > ov.SAID_LIMIT:
        errors["said"] = f"Keep it to {ov.SAID_LIMIT} characters: a sentence or two."
    if form.insight is not None and len(form.insight) > ov.INSIGHT_LIMIT:
        errors["insight"] = f"Keep it to {ov.INSIGHT_LIMIT} characters: the one thing to change."
    asks = set(form.asks) & set(ov.ASKS)
    if asks & {"referral_asked", "referral_given"} and form.result != "resolved":
        errors["asks"] = (
            "A referral is only asked once the customer confirmed it's "
            "resolved: untick it, or change the outcome."
        )
    if "review_given" in asks:
        asks.add("review_asked")
    if "referral_given" in asks:
        asks.add("referral_asked")
    if not case.review_eligible:
        asks -= {"review_asked", "review_given"}
    if not case.referral_eligible:
        asks -= {"referral_asked", "referral_given"}
    return asks, errors


def record_outcome(
    deps: Deps, user_id: str, meta: ov.ModalMeta, form: ov.OutcomeForm
) -> tuple[Errors | None, Done | None]:
    """Validate and store "Followed up"; (inline errors, None) or (None, what to do next)."""
    now = deps.clock.now()
    with deps.session_factory.begin() as session:
        followup = load_followup(session, meta.followup_id, lock=True)
        asks, errors = check_outcome(form, modal_case(followup))
        refusal = why_not(session, followup, user_id)
        if refusal is not None:
            return {"result": refusal}, None
        if errors:
            return errors, None
        result = str(form.result)
        final = result
        if result in ("no_reply", "unreachable") and followup.template == NO_REPLY_TEMPLATE:
            final = "no_response"  # the extra gentle touch also went unanswered: close it
        outcome = Outcome(
            follow_up_id=followup.id,
            result=final,
            customer_said=form.said or None,
            insight=form.insight or None,
            root_cause=form.cause,
            recorded_by=user_id,
            recorded_at=now,
            review_asked="review_asked" in asks,
            review_given="review_given" in asks,
            referral_asked="referral_asked" in asks,
            referral_given="referral_given" in asks,
        )
        session.add(outcome)
        # The helpdesk's note (and reopen) commits with the outcome or not at all.
        queue_outcome(session, deps.settings, followup, outcome, OUTCOME_LABELS[final])
        state = {
            "resolved": "done",
            "not_resolved": "escalated",
            "unhappy": "escalated",  # to the lead like "still not right"; the fix stands
            "no_response": "no_response",
        }
        followup.state = state.get(final, "no_reply")
        _close(followup, now)
        done = done_for(followup)
        if final in ("no_reply", "unreachable"):
            _plan_gentle_touch(session, deps, followup, now)
            done.confirmation = "Noted. I'll remind you to try once more, gently, later."
        done.escalate = final in ov.ESCALATING
        audit_action(
            session,
            now,
            user_id,
            meta.surface,
            followup,
            f"outcome_{final}",
            {"root_cause": form.cause, "asks": sorted(asks)},
        )
        recorded = Recorded.of(followup, final)
    recorded.log()
    metrics.FOLLOWUPS_DONE.labels(recorded.outcome).inc()
    return None, done


def record_skip(
    deps: Deps, user_id: str, meta: ov.ModalMeta, form: ov.SkipForm
) -> tuple[Errors | None, Done | None]:
    """ "Skip" with its required reason."""
    reason = form.reason.strip()
    now = deps.clock.now()
    with deps.session_factory.begin() as session:
        followup = load_followup(session, meta.followup_id, lock=True)
        refusal = why_not(session, followup, user_id)
        if refusal is not None:
            return {"reason": refusal}, None
        if len(reason) < 3:
            return {"reason": "Say briefly why, so the team can tell skipped from forgotten."}, None
        outcome = Outcome(
            follow_up_id=followup.id,
            result="skipped",
            skip_reason=reason[: ov.REASON_LIMIT],
            recorded_by=user_id,
            recorded_at=now,
        )
        session.add(outcome)
        queue_outcome(session, deps.settings, followup, outcome, OUTCOME_LABELS["skipped"])
        followup.state = "skipped"
        _close(followup, now)
        audit_action(
            session, now, user_id, meta.surface, followup, "skipped", {"reason": reason[:300]}
        )
        done, recorded = done_for(followup), Recorded.of(followup, "skipped")
    recorded.log()
    metrics.FOLLOWUPS_DONE.labels(recorded.outcome).inc()
    return None, done


@dataclass(frozen=True)
class Recorded:
    """The ids of an outcome just committed, for its log line (ids only, no case text)."""

    followup_id: int
    case_id: int
    agent_id: int | None
    outcome: str

    @classmethod
    def of(cls, followup: FollowUp, outcome: str) -> Recorded:
        return cls(followup.id, followup.case_id, followup.assignee_id, outcome)

    def log(self) -> None:
        log.info(
            "outcome %s recorded for follow-up %s (case %s)",
            self.outcome,
            self.followup_id,
            self.case_id,
            extra={
                "event": "outcome_recorded",
                "follow_up": self.followup_id,
                "case": self.case_id,
                "agent": self.agent_id,
                "outcome": self.outcome,
            },
        )


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
    surface: str,
    followup: FollowUp,
    action: str,
    detail: dict[str, Any],
) -> None:
    store.audit(
        session,
        at=now,
        actor=user_id,
        surface=surface,
        entity="follow_up",
        entity_id=followup.id,
        action=action,
        detail=detail,
    )


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
        touch=followup_store.next_touch(session, followup.case_id, followup.cycle),
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
