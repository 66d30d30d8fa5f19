"""Overdue follow-ups: one reminder to the assignee, then one private word to their lead.

A follow-up that was DMed (state `sent`) and has no outcome by its `remind_at` gets one
reminder, as a reply in the thread of the original DM, broadcast to the conversation: the
reminder sits under the draft and the buttons it is about (one place to act), and broadcasting
makes Slack show and notify it in the DM, which a plain reply to the bot's own message would
not (the agent does not follow that thread). By `lead_at` the lead (the agent's own lead, else
the team's) gets one DM naming the case and the agent; it goes to the lead alone, never to a
channel. Past `missed_at` the follow-up counts as missed in the digest
(`db.digest.count_missed`); no state changes.

Both happen in the recipient's working hours only, and not while they are away. Both are
claimed in the database before Slack is called (`reminded_at`, `lead_notified_at`), so several
passes at once, in threads or processes, send each at most once; a refused call un-claims so a
later pass retries. A crash between the claim and Slack's answer loses that one reminder rather
than risking a second: a missing reminder is cheaper than a duplicate, and the lead notice and
the digest still follow.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot import metrics
from bot.deps import Deps
from bot.people.away import is_away
from bot.people.profiles import ensure_profile
from bot.planning.plan import calendar_of, lead_calendar, lead_of
from bot.report import PassReport
from bot.rules.policy import Overdue
from bot.rules.working_hours import WorkingCalendar
from db import cases as store
from db import digest as digest_store
from db import overdue as overdue_store
from db.models import Agent, FollowUp

log = logging.getLogger("followup.overdue")

Unclaim = Callable[[Session, Sequence[int], datetime], int]


@dataclass
class OverdueReport(PassReport):
    """What one overdue pass did."""

    reminded: int = 0
    reminder_messages: int = 0
    leads_told: int = 0
    lead_dms: int = 0
    waiting: int = 0
    """Due but held back: the recipient is outside working hours or away."""
    failed: int = 0

    def summary(self) -> str:
        return (
            f"reminded {self.reminded} in {self.reminder_messages} messages, "
            f"told leads about {self.leads_told} in {self.lead_dms} DMs, "
            f"waiting for working hours {self.waiting}, failed {self.failed}"
        )


@dataclass(frozen=True)
class Pending:
    """One overdue follow-up, as plain data a worker thread can use without a session."""

    followup_id: int
    assignee_id: int
    agent_name: str
    subject: str
    reference: str
    channel: str | None
    ts: str | None
    due_at: datetime
    missed_at: datetime | None


def overdue_pass(deps: Deps, *, threads: int = 4) -> OverdueReport:
    """Send every reminder and lead notice that is due now; idempotent, safe in parallel."""
    report = OverdueReport()
    now = deps.clock.now()
    with deps.session_factory() as session:
        reminders: dict[int, list[Pending]] = defaultdict(list)
        for followup in overdue_store.reminders_due(session, now):
            if _reminder_ready(deps, followup, now):
                reminders[followup.assignee_id or 0].append(_pending(followup))
        notices: dict[int, list[Pending]] = defaultdict(list)
        for followup in overdue_store.lead_notices_due(session, now):
            lead = lead_of(session, followup)
            if lead is not None and _lead_notice_ready(deps, followup, lead, now):
                notices[lead.id].append(_pending(followup))
    jobs: list[tuple[Job, int, list[Pending]]]
    jobs = [(_remind, agent_id, items) for agent_id, items in reminders.items()]
    jobs += [(_tell_lead, lead_id, items) for lead_id, items in notices.items()]
    if jobs:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="overdue") as pool:
            list(pool.map(lambda job: _guarded(deps, job[0], job[1], job[2], report), jobs))
    if report.reminded or report.leads_told or report.failed:
        log.info("overdue: %s", report.summary())
    if deps.settings.metrics:  # a query per team: only when someone scrapes the figure
        metrics.FOLLOWUPS_MISSED.set(_missed_past_week(deps, now))
    return report


MISSED_WINDOW = timedelta(days=7)


def _missed_past_week(deps: Deps, now: datetime) -> int:
    """Follow-ups whose missed cut-off fell in the last 7 days with no outcome by then, as
    the digest counts them (`db.digest.count_missed`)."""
    with deps.session_factory() as session:
        return sum(
            digest_store.count_missed(session, team.id, now - MISSED_WINDOW, now)
            for team in digest_store.teams(session)
        )


def _pending(followup: FollowUp) -> Pending:
    case = followup.case
    assignee = followup.assignee
    assert assignee is not None and followup.assignee_id is not None
    return Pending(
        followup_id=followup.id,
        assignee_id=followup.assignee_id,
        agent_name=assignee.display_name or assignee.slack_user_id,
        subject=case.subject,
        reference=f"{case.source} #{case.external_id}",
        channel=followup.slack_channel,
        ts=followup.slack_ts,
        due_at=followup.due_at,
        missed_at=followup.missed_at,
    )


def _overdue_rule(deps: Deps, followup: FollowUp) -> Overdue:
    for rule in deps.policy.rules:
        if rule.name == followup.rule:
            return rule.overdue
    return deps.policy.overdue


def _assignee_calendar(deps: Deps, followup: FollowUp) -> WorkingCalendar:
    return calendar_of(deps, followup.case.team, followup.assignee)


def _reminder_ready(deps: Deps, followup: FollowUp, now: datetime) -> bool:
    """At `remind_at`; a DM that went out late is given its full working hours first."""
    if followup.remind_at is None or followup.remind_at > now:
        return False
    if followup.sent_at is None:
        return True
    hours = _overdue_rule(deps, followup).remind_after_working_hours
    return _assignee_calendar(deps, followup).add_working_hours(followup.sent_at, hours) <= now


def _lead_notice_ready(deps: Deps, followup: FollowUp, lead: Agent, now: datetime) -> bool:
    """At `lead_at` (planned in the lead's hours); a late DM gives the agent the full time."""
    if followup.lead_at is None or followup.lead_at > now:
        return False
    if followup.sent_at is None:
        return True
    hours = _overdue_rule(deps, followup).lead_after_working_hours
    earliest = _assignee_calendar(deps, followup).add_working_hours(followup.sent_at, hours)
    return lead_calendar(deps, followup, lead).next_window_start(earliest) <= now


Job = Callable[[Deps, int, list[Pending], "OverdueReport"], None]


def _guarded(
    deps: Deps, job: Job, agent_id: int, items: list[Pending], report: OverdueReport
) -> None:
    try:
        job(deps, agent_id, items, report)
    except Exception as error:  # one person's failure must not stop the others' messages
        log.exception("overdue messages for agent %s failed", agent_id)
        report.add(failed=len(items))
        report.note(f"agent {agent_id}: {type(error).__name__}")


def _reachable(deps: Deps, agent_id: int, now: datetime) -> tuple[Agent, WorkingCalendar] | None:
    """The person with a fresh profile when they may be messaged now, else None."""
    agent = ensure_profile(deps, agent_id)
    if is_away(agent, now):  # away, or deactivated in Slack: nobody to message
        return None
    with deps.session_factory() as session:
        stored = session.get(Agent, agent_id)
        team = stored.team if stored else None
    calendar = calendar_of(deps, team, agent)
    return (agent, calendar) if calendar.is_working(now) else None


def _remind(deps: Deps, agent_id: int, items: list[Pending], report: OverdueReport) -> None:
    now = deps.clock.now()
    reachable = _reachable(deps, agent_id, now)
    if reachable is None:
        report.add(waiting=len(items))
        return
    agent, _ = reachable
    with deps.session_factory.begin() as session:
        won = set(overdue_store.claim_reminders(session, [i.followup_id for i in items], now))
    threads: dict[tuple[str | None, str | None], list[Pending]] = defaultdict(list)
    for item in items:
        if item.followup_id in won:
            threads[(item.channel, item.ts)].append(item)
    for (channel, ts), shown in threads.items():
        text = deps.renderer.render(
            "slack/overdue_reminder.j2",
            {"items": [{"subject": i.subject, "reference": i.reference} for i in shown]},
        )
        ids = [i.followup_id for i in shown]
        try:
            if channel and ts:
                deps.client.chat_postMessage(
                    channel=channel, thread_ts=ts, reply_broadcast=True, text=text
                )
            else:  # no original DM on record: a DM of its own
                deps.client.chat_postMessage(
                    channel=agent.dm_channel or agent.slack_user_id, text=text
                )
        except SlackApiError as error:
            _refused(deps, ids, now, error, report, overdue_store.unclaim_reminders)
            continue
        _record(deps, ids, now, "reminded", {"to": agent.slack_user_id})
        report.add(reminded=len(ids), reminder_messages=1)


def _tell_lead(deps: Deps, lead_id: int, items: list[Pending], report: OverdueReport) -> None:
    now = deps.clock.now()
    reachable = _reachable(deps, lead_id, now)
    if reachable is None:
        report.add(waiting=len(items))
        return
    lead, calendar = reachable
    with deps.session_factory.begin() as session:
        won = set(overdue_store.claim_lead_notices(session, [i.followup_id for i in items], now))
    told = [i for i in items if i.followup_id in won]
    if not told:
        return
    text = deps.renderer.render(
        "slack/overdue_lead.j2",
        {
            "items": [
                {
                    "agent": i.agent_name,
                    "subject": i.subject,
                    "reference": i.reference,
                    "due": _day(calendar, i.due_at),
                    "missed": _day(calendar, i.missed_at) if i.missed_at else "a week late",
                }
                for i in told
            ]
        },
    )
    ids = [i.followup_id for i in told]
    try:
        deps.client.chat_postMessage(channel=lead.dm_channel or lead.slack_user_id, text=text)
    except SlackApiError as error:
        _refused(deps, ids, now, error, report, overdue_store.unclaim_lead_notices)
        return
    _record(deps, ids, now, "lead_notified", {"lead": lead.slack_user_id})
    report.add(leads_told=len(ids), lead_dms=1)


def _day(calendar: WorkingCalendar, moment: datetime) -> str:
    local = calendar.local(moment)
    return f"{local:%a} {local.day} {local:%b}"


def _refused(
    deps: Deps,
    ids: list[int],
    claimed_at: datetime,
    error: SlackApiError,
    report: OverdueReport,
    unclaim: Unclaim,
) -> None:
    code = str(error.response.get("error", ""))
    log.warning("overdue message for %s refused: %s; a later pass retries", ids, code)
    with deps.session_factory.begin() as session:
        unclaim(session, ids, claimed_at)
    report.add(failed=len(ids))
    report.note(code)


def _record(deps: Deps, ids: list[int], now: datetime, action: str, detail: dict[str, str]) -> None:
    with deps.session_factory.begin() as session:
        for followup_id in ids:
            store.audit(
                session,
                at=now,
                actor="scheduler",
                surface="dm",
                entity="follow_up",
                entity_id=followup_id,
                action=action,
                detail=detail,
            )
