"""Overdue follow-ups: one reminder to the assignee in their hours, one private word to the lead.

Ada (London) closes cases on Friday 20 Nov 2026 10:00 UTC; the ordinary case is DMed on
Monday 23 Nov at 10:00. Grace (New York) is her lead.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.dispatch.dispatcher import dispatch_pass
from bot.dispatch.overdue import OverdueReport, overdue_pass
from bot.planning.plan import team_defaults
from bot.runtime.scheduler import JOB_DISPATCH, JOB_OVERDUE, build_scheduler
from db import cases as store
from db import digest as digest_store
from db.models import Agent, AuditEntry, FollowUp

FRIDAY_10_UTC = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MONDAY_10_UTC = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def post_case(bot: Any, **fields: Any) -> int:
    payload = {
        "case_id": "1001",
        "subject": "Refund not showing on the March invoice",
        "resolution": "Re-issued the credit note and confirmed it posted to the account",
        "closed_at": FRIDAY_10_UTC.isoformat(),
        "owner_email": "ada@example.com",
        "customer_name": "Priya Shah",
        "kind": "request",
        **fields,
    }
    return int(bot.post_generic(payload)[0])


def people(
    bot: Any, *, own_lead: bool = True, team_lead: bool = False, more: tuple[str, ...] = ()
) -> None:
    """Ada (and `more` London agents) in the default team; Grace is their lead (or the team's)."""
    deps = bot.deps
    now = bot.clock.now()
    with deps.session_factory.begin() as session:
        team = store.team_for(session, None, team_defaults(deps), now)
        grace = store.agent_by_slack_id(session, "U0LEAD", now, team.id)
        grace.email, grace.timezone = "grace@example.com", "America/New_York"
        grace.is_lead = team_lead
        session.flush()
        for name in ("ada", *more):
            user = f"U0{name.upper()}" if name != "ada" else "U0AGENT"
            if name != "ada":
                bot.sandbox.add_user(user, name=name, email=f"{name}@example.com")
            agent = store.agent_by_slack_id(session, user, now, team.id)
            agent.email, agent.timezone = f"{name}@example.com", "Europe/London"
            agent.display_name = name.capitalize()
            if own_lead:
                agent.lead_id = grace.id


def name_of(bot: Any, user: str) -> str:
    """The agent's name as stored (fresh from users.info after a pass)."""
    with bot.deps.session_factory() as session:
        name = session.scalar(select(Agent.display_name).where(Agent.slack_user_id == user))
    assert name
    return name


def followups(bot: Any) -> list[FollowUp]:
    with bot.deps.session_factory() as session:
        return list(session.scalars(select(FollowUp).order_by(FollowUp.id)))


def sent_one(bot: Any, **fields: Any) -> FollowUp:
    """One case posted and DMed on Monday 10:00 UTC; the follow-up as stored."""
    assert post_case(bot, **fields) == 202
    bot.clock.set(MONDAY_10_UTC)
    assert dispatch_pass(bot.deps).delivered == 1
    [followup] = [f for f in followups(bot) if f.state == "sent"]
    return followup


def at(bot: Any, moment: datetime) -> OverdueReport:
    bot.clock.set(moment)
    return overdue_pass(bot.deps)


def thread_replies(bot: Any, user: str) -> list[dict[str, Any]]:
    return [m for m in bot.sandbox.dm_messages(user) if m.get("thread_ts") not in (None, m["ts"])]


def plain_dms(bot: Any, user: str) -> list[dict[str, Any]]:
    return [
        m
        for m in bot.sandbox.dm_messages(user)
        if "metadata" not in m and m.get("thread_ts") is None
    ]


def test_one_reminder_exactly_at_remind_at_in_the_thread_of_the_dm(bot: Any) -> None:
    people(bot)
    followup = sent_one(bot)
    assert followup.remind_at is not None and followup.remind_at > MONDAY_10_UTC
    assert at(bot, followup.remind_at - timedelta(minutes=1)).reminded == 0
    assert thread_replies(bot, "U0AGENT") == []

    report = at(bot, followup.remind_at)
    assert (report.reminded, report.reminder_messages) == (1, 1)
    [reply] = thread_replies(bot, "U0AGENT")
    assert reply["thread_ts"] == followup.slack_ts
    assert "Refund not showing on the March invoice" in reply["text"]
    [call] = [c for c in bot.sandbox.calls_to("chat.postMessage") if c.args.get("thread_ts")]
    assert call.args["reply_broadcast"] in (True, "true", "1", 1)

    assert at(bot, followup.remind_at + timedelta(minutes=1)).reminded == 0
    assert at(bot, followup.remind_at + timedelta(hours=3)).reminded == 0
    assert len(thread_replies(bot, "U0AGENT")) == 1
    [stored] = followups(bot)
    assert stored.reminded_at == followup.remind_at
    with bot.deps.session_factory() as session:
        actions = list(session.scalars(select(AuditEntry.action)))
    assert actions.count("reminded") == 1


def test_a_reminder_due_after_hours_waits_for_the_next_working_morning(bot: Any) -> None:
    people(bot)
    followup = sent_one(bot)
    assert followup.remind_at is not None
    # The pass did not run at remind_at (the bot was down); it is 19:00 in London now.
    evening = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
    report = at(bot, evening)
    assert (report.reminded, report.waiting) == (0, 1)
    assert at(bot, datetime(2026, 11, 24, 3, 0, tzinfo=UTC)).reminded == 0  # 03:00 Tuesday
    assert thread_replies(bot, "U0AGENT") == []
    assert at(bot, datetime(2026, 11, 24, 9, 0, tzinfo=UTC)).reminded == 1
    assert len(thread_replies(bot, "U0AGENT")) == 1


def test_a_dm_sent_late_still_gets_its_working_hours_before_the_reminder(bot: Any) -> None:
    people(bot)
    assert post_case(bot) == 202
    [planned] = followups(bot)
    assert planned.remind_at is not None
    # The dispatcher was down on Monday morning: the DM goes out two hours late, shortly
    # before remind_at. The reminder must not follow it moments later.
    late = planned.due_at + timedelta(hours=2)
    assert late < planned.remind_at
    bot.clock.set(late)
    assert dispatch_pass(bot.deps).delivered == 1
    assert at(bot, planned.remind_at).reminded == 0
    assert at(bot, planned.remind_at + timedelta(hours=1)).reminded == 0
    gap = planned.remind_at - planned.due_at  # the rule's working hours, all on Monday here
    assert at(bot, late + gap - timedelta(minutes=1)).reminded == 0
    assert at(bot, late + gap).reminded == 1


def test_the_lead_is_told_once_privately_naming_the_case_and_the_agent(bot: Any) -> None:
    people(bot)
    followup = sent_one(bot)
    assert followup.lead_at is not None and followup.remind_at is not None
    assert followup.lead_at > followup.remind_at
    # lead_at falls in Grace's New York working hours.
    local = followup.lead_at.astimezone(ZoneInfo("America/New_York"))
    assert local.weekday() < 5 and 9 <= local.hour < 18

    before = at(bot, followup.lead_at - timedelta(minutes=1))
    assert before.leads_told == 0
    assert plain_dms(bot, "U0LEAD") == []
    report = at(bot, followup.lead_at)
    assert (report.leads_told, report.lead_dms) == (1, 1)
    [notice] = plain_dms(bot, "U0LEAD")
    assert "Refund not showing on the March invoice" in notice["text"]
    assert f"{name_of(bot, 'U0AGENT')}'s follow-up" in notice["text"]
    assert "generic #1001" in notice["text"]
    assert at(bot, followup.lead_at + timedelta(hours=1)).leads_told == 0
    assert len(plain_dms(bot, "U0LEAD")) == 1
    # Privately: nothing in any channel, and the agent is not told about the lead notice.
    for channel in ("C0ESCALATE", "C0TRIAGE", "C0DIGEST"):
        assert bot.sandbox.messages(channel) == []
    assert plain_dms(bot, "U0AGENT") == []


def test_without_an_own_lead_the_teams_lead_is_told(bot: Any) -> None:
    people(bot, own_lead=False, team_lead=True)
    followup = sent_one(bot)
    assert followup.lead_at is not None
    assert at(bot, followup.lead_at).leads_told == 1
    assert len(plain_dms(bot, "U0LEAD")) == 1


def test_nobody_is_told_when_there_is_no_lead(bot: Any) -> None:
    people(bot, own_lead=False, team_lead=False)
    followup = sent_one(bot)
    assert followup.lead_at is not None
    report = at(bot, followup.lead_at)
    assert report.leads_told == 0
    assert plain_dms(bot, "U0LEAD") == []


def test_nothing_for_follow_ups_with_an_outcome(bot: Any) -> None:
    people(bot)
    followup = sent_one(bot)
    with bot.deps.session_factory.begin() as session:
        row = session.get(FollowUp, followup.id)
        assert row is not None
        row.state = "done"
        row.completed_at = MONDAY_10_UTC + timedelta(hours=1)
    assert followup.missed_at is not None
    for moment in (followup.remind_at, followup.lead_at, followup.missed_at):
        assert moment is not None
        report = at(bot, moment)
        assert (report.reminded, report.leads_told) == (0, 0)
    assert thread_replies(bot, "U0AGENT") == []
    assert plain_dms(bot, "U0LEAD") == []


def test_past_missed_at_a_follow_up_without_outcome_counts_as_missed(bot: Any) -> None:
    people(bot)
    followup = sent_one(bot)
    assert followup.missed_at == followup.due_at + timedelta(days=7)
    missed_at = followup.missed_at
    week_before, just_after = missed_at - timedelta(days=7), missed_at + timedelta(seconds=1)
    with bot.deps.session_factory() as session:
        team_id = session.scalar(select(Agent.team_id).where(Agent.slack_user_id == "U0AGENT"))
        assert team_id is not None
        # The digest's week ending just before the cut-off: not missed yet.
        assert digest_store.count_missed(session, team_id, week_before, missed_at) == 0
        assert digest_store.count_missed(session, team_id, week_before, just_after) == 1
        assert digest_store.count_missed(session, team_id + 1, week_before, just_after) == 0


def test_one_reminder_covers_a_batched_dm(bot: Any) -> None:
    people(bot)
    for n in range(3):
        assert post_case(bot, case_id=f"B-{n}", subject=f"Billing case {n}") == 202
    bot.clock.set(MONDAY_10_UTC)
    assert dispatch_pass(bot.deps).dms == 1
    remind_at = max(f.remind_at for f in followups(bot) if f.remind_at)
    report = at(bot, remind_at)
    assert (report.reminded, report.reminder_messages) == (3, 1)
    [reply] = thread_replies(bot, "U0AGENT")
    assert all(f"Billing case {n}" in reply["text"] for n in range(3))


def test_a_refused_reminder_is_retried_by_the_next_pass(bot: Any) -> None:
    people(bot)
    followup = sent_one(bot)
    assert followup.remind_at is not None
    bot.sandbox.fail_next("chat.postMessage", times=1, status=None, error="fatal_error")
    failed = at(bot, followup.remind_at)
    assert (failed.reminded, failed.failed) == (0, 1)
    assert at(bot, followup.remind_at + timedelta(minutes=1)).reminded == 1
    assert len(thread_replies(bot, "U0AGENT")) == 1


def test_two_overdue_passes_in_parallel_threads_remind_once(bot_on_each_db: Any) -> None:
    bot = bot_on_each_db
    people(bot, more=("bea", "cal"))
    for n in range(4):
        for name in ("ada", "bea", "cal"):
            assert post_case(bot, case_id=f"{name}-{n}", owner_email=f"{name}@example.com") == 202
    bot.clock.set(MONDAY_10_UTC)
    assert dispatch_pass(bot.deps).delivered == 12
    moment = max(f.lead_at for f in followups(bot) if f.lead_at)
    bot.clock.set(moment)
    passes = [replace(bot.deps, worker=f"instance-{n}") for n in range(2)]
    start = threading.Barrier(len(passes))
    reports: list[OverdueReport] = []

    def run(deps: Any) -> None:
        start.wait()
        reports.append(overdue_pass(deps))

    threads = [threading.Thread(target=run, args=(deps,)) for deps in passes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(reports) == 2
    assert sum(r.reminded for r in reports) == 12
    assert sum(r.failed for r in reports) == 0
    reminded = [
        m["thread_ts"] for user in ("U0AGENT", "U0BEA", "U0CAL") for m in thread_replies(bot, user)
    ]
    assert len(reminded) == len(set(reminded)) == 3  # one per batched DM, never twice
    assert sum(r.leads_told for r in reports) == 12
    [notice] = plain_dms(bot, "U0LEAD")
    assert all(f"{name_of(bot, u)}:" in notice["text"] for u in ("U0AGENT", "U0BEA", "U0CAL"))
    assert all(f.reminded_at is not None for f in followups(bot))


def test_the_scheduler_runs_dispatch_and_overdue_as_stable_jobs(bot: Any) -> None:
    scheduler = build_scheduler(bot.deps)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert {JOB_DISPATCH, JOB_OVERDUE} <= set(jobs)
    assert jobs[JOB_OVERDUE].trigger.interval.total_seconds() == 60
