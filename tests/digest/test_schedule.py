"""When the digest posts: the team's day and time in its zone, late catch-up, staleness, and
exactly once across threads, instances, PostgreSQL and a crash between claim and record."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot import ids
from bot.digest.post import STALE_CLAIM, digest_due_pass
from bot.runtime.scheduler import JOB_DIGEST, build_scheduler
from bot.runtime.start import build_deps
from db import cases as store
from db import digest_runs
from db.models import Case, Digest, FollowUp, Team

NY = "America/New_York"
# Week 47 ends Monday 23 Nov 05:00 UTC in New York; its digest is due at 09:00 there (14:00 UTC).
DUE = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def seed_team(deps: Any, slug: str = "support", **settings: str) -> int:
    """One team in New York with one closed case and a follow-up done in week 47."""
    created = datetime(2026, 10, 1, tzinfo=UTC)
    with deps.session_factory.begin() as session:
        team = store.team_for(session, slug, {"name": slug.title()}, created)
        team.timezone = NY
        for name, value in settings.items():
            setattr(team, name, value)
        case = Case(
            source="zendesk",
            external_id=f"{slug}-1",
            team_id=team.id,
            subject="Export fails",
            channel="email",
            severity="normal",
            kind="request",
            tags=[],
            closed_at=datetime(2026, 11, 16, 15, 0, tzinfo=UTC),
            created_at=created,
            updated_at=created,
        )
        session.add(case)
        session.flush()
        session.add(
            FollowUp(
                case_id=case.id,
                cycle=1,
                touch=1,
                role="owner",
                rule="ordinary",
                channel="email",
                template="check_in",
                state="planned",
                due_at=datetime(2026, 11, 19, 15, 0, tzinfo=UTC),
                missed_at=datetime(2026, 11, 26, 15, 0, tzinfo=UTC),
                created_at=created,
                updated_at=created,
            )
        )
        return team.id


def posts(bot: Any, channel: str = "C0DIGEST") -> list[dict[str, Any]]:
    return [
        m
        for m in bot.sandbox.messages(channel)
        if (m.get("metadata") or {}).get("event_type") == ids.METADATA_DIGEST
    ]


def rows(deps: Any) -> list[tuple[str, str]]:
    with deps.session_factory() as session:
        return [(d.week, d.state) for d in session.scalars(select(Digest).order_by(Digest.week))]


def test_the_job_is_registered_with_a_stable_id(bot: Any) -> None:
    scheduler = build_scheduler(bot.deps)
    job = scheduler.get_job(JOB_DIGEST)
    assert job is not None and job.name.startswith("post each team's weekly digest")


def test_posts_at_monday_0900_in_the_teams_zone_not_before(bot: Any) -> None:
    seed_team(bot.deps)
    bot.clock.set(DUE - timedelta(minutes=1))  # 08:59 in New York, 13:59 UTC
    assert digest_due_pass(bot.deps).posted == []
    bot.clock.set(DUE)
    assert digest_due_pass(bot.deps).posted == ["support 2026-W47"]
    bot.clock.set(DUE + timedelta(minutes=5))
    assert digest_due_pass(bot.deps).posted == []
    assert len(posts(bot)) == 1
    assert rows(bot.deps) == [("2026-W47", "posted")]


def test_day_time_and_channel_are_the_teams_own(bot: Any) -> None:
    bot.sandbox.add_channel("C0TEAM", "team-support")
    seed_team(bot.deps, digest_day="fri", digest_time="16:30", digest_channel="C0TEAM")
    bot.clock.set(DUE)  # Monday: not their day
    assert digest_due_pass(bot.deps).posted == []
    friday = datetime(2026, 11, 27, 21, 30, tzinfo=UTC)  # 16:30 in New York
    bot.clock.set(friday - timedelta(minutes=1))
    assert digest_due_pass(bot.deps).posted == []
    bot.clock.set(friday)
    assert digest_due_pass(bot.deps).posted == ["support 2026-W47"]
    assert len(posts(bot, "C0TEAM")) == 1 and posts(bot) == []


def test_teams_set_changes_the_schedule_from_the_command_line(bot: Any) -> None:
    import argparse
    import io

    from bot.digest.cli import run

    seed_team(bot.deps)
    out = io.StringIO()
    args = argparse.Namespace(
        command="teams",
        teams_command="set",
        slug="support",
        digest_day="tue",
        digest_time="08:15",
        digest_channel="C0TEAM",
        timezone=None,
    )
    assert run(bot.deps, args, out) == 0
    said = out.getvalue().strip()
    assert said == "support (Support): digest tue 08:15 (America/New_York) in C0TEAM"
    bad = replace_namespace(args, digest_time="25:00")
    assert run(bot.deps, bad, io.StringIO()) == 2
    with bot.deps.session_factory() as session:
        team = session.scalar(select(Team).where(Team.slug == "support"))
        assert team is not None
        assert (team.digest_day, team.digest_time, team.digest_channel) == (
            "tue",
            "08:15",
            "C0TEAM",
        )


def replace_namespace(args: Any, **changes: Any) -> Any:
    import argparse

    return argparse.Namespace(**{**vars(args), **changes})


def test_a_run_missed_while_down_posts_when_the_bot_is_back(bot: Any) -> None:
    seed_team(bot.deps)
    bot.clock.set(datetime(2026, 11, 30, 4, 0, tzinfo=UTC))  # Sunday 23:00 in New York
    assert digest_due_pass(bot.deps).posted == ["support 2026-W47"]
    assert rows(bot.deps) == [("2026-W47", "posted")]


def test_too_late_is_skipped_and_logged_once(bot: Any, caplog: pytest.LogCaptureFixture) -> None:
    seed_team(bot.deps)
    bot.clock.set(DUE - timedelta(weeks=1))  # the digests were running: week 46's posted
    assert digest_due_pass(bot.deps).posted == ["support 2026-W46"]
    bot.clock.set(datetime(2026, 11, 30, 13, 0, tzinfo=UTC))  # Monday 08:00: week 48 began
    with caplog.at_level(logging.WARNING, logger="followup.digest"):
        report = digest_due_pass(bot.deps)
        digest_due_pass(bot.deps)
    assert (report.posted, report.stale) == ([], ["support 2026-W47"])
    assert len([r for r in caplog.records if "2026-W47 was not posted" in r.getMessage()]) == 1
    assert rows(bot.deps) == [("2026-W46", "posted"), ("2026-W47", "stale")]
    assert len(posts(bot)) == 1
    bot.clock.set(datetime(2026, 11, 30, 14, 0, tzinfo=UTC))  # 09:00: week 48's is due
    assert digest_due_pass(bot.deps).posted == ["support 2026-W48"]
    assert rows(bot.deps) == [("2026-W46", "posted"), ("2026-W47", "stale"), ("2026-W48", "posted")]


def _race(deps_list: list[Any], per_deps: int = 2) -> None:
    barrier = threading.Barrier(len(deps_list) * per_deps)
    errors: list[BaseException] = []

    def run(deps: Any) -> None:
        barrier.wait()
        try:
            digest_due_pass(deps)
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=(deps,)) for deps in deps_list for _ in range(per_deps)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors


def test_concurrent_runners_in_two_instances_post_once(bot_on_each_db: Any) -> None:
    bot = bot_on_each_db
    seed_team(bot.deps)
    seed_team(bot.deps, "billing")
    bot.clock.set(DUE)
    other = replace(build_deps(bot.deps.settings, bot.clock), worker="other-instance:1")
    try:
        _race([bot.deps, other])
    finally:
        other.engine.dispose()
    assert len(posts(bot)) == 2  # one per team
    assert rows(bot.deps) == [("2026-W47", "posted"), ("2026-W47", "posted")]


def test_a_crash_after_posting_is_reconciled_from_history_not_posted_again(bot: Any) -> None:
    seed_team(bot.deps)
    bot.clock.set(DUE)
    digest_due_pass(bot.deps)
    [post] = posts(bot)
    # As if the process died between Slack's answer and our commit.
    with bot.deps.session_factory.begin() as session:
        session.execute(
            update(Digest).values(
                state="claimed", slack_ts=None, slack_channel=None, posted_at=None
            )
        )
    bot.clock.advance(timedelta(minutes=5))
    assert digest_due_pass(bot.deps).posted == []  # a recent claim: someone may be posting
    bot.clock.advance(STALE_CLAIM)
    report = digest_due_pass(bot.deps)
    assert (report.posted, report.reconciled) == ([], ["support 2026-W47"])
    assert len(posts(bot)) == 1
    with bot.deps.session_factory() as session:
        row = session.scalar(select(Digest))
        assert row is not None and (row.state, row.slack_ts) == ("posted", post["ts"])


def test_a_crash_before_posting_posts_once_the_claim_is_stale(bot: Any) -> None:
    team_id = seed_team(bot.deps)
    bot.clock.set(DUE)
    with bot.deps.session_factory.begin() as session:
        assert digest_runs.claim(session, team_id, "2026-W47", "crashed:1", DUE) is not None
    assert digest_due_pass(bot.deps).posted == []
    bot.clock.advance(STALE_CLAIM + timedelta(seconds=1))
    assert digest_due_pass(bot.deps).posted == ["support 2026-W47"]
    assert digest_due_pass(bot.deps).posted == []
    assert len(posts(bot)) == 1


def test_a_channel_slack_refuses_marks_the_digest_failed_until_rerun(bot: Any) -> None:
    seed_team(bot.deps, digest_channel="C0GONE")
    bot.clock.set(DUE)
    report = digest_due_pass(bot.deps)
    assert report.failed == ["support 2026-W47"]
    assert rows(bot.deps) == [("2026-W47", "failed")]
    bot.clock.advance(STALE_CLAIM * 2)
    assert digest_due_pass(bot.deps).failed == []  # not retried every pass


def test_an_operator_reposts_a_failed_week_with_force_never_a_posted_one(bot: Any) -> None:
    import argparse
    import io

    from bot.digest.cli import run

    seed_team(bot.deps, digest_channel="C0GONE")
    bot.clock.set(DUE)
    digest_due_pass(bot.deps)
    with bot.deps.session_factory.begin() as session:
        session.execute(update(Team).values(digest_channel=None))  # back to DIGEST_CHANNEL
    args = argparse.Namespace(
        command="digest",
        team="support",
        week="2026-W47",
        dry_run=False,
        format="text",
        chart_dir=None,
        force=False,
    )
    out = io.StringIO()
    assert run(bot.deps, args, out) == 1
    assert out.getvalue().strip() == "support 2026-W47: failed"
    forced = argparse.Namespace(**{**vars(args), "force": True})
    out = io.StringIO()
    assert run(bot.deps, forced, out) == 0
    assert out.getvalue().strip() == "support 2026-W47: posted"
    out = io.StringIO()
    assert run(bot.deps, forced, out) == 0
    assert out.getvalue().strip() == "support 2026-W47: already posted"
    assert len(posts(bot)) == 1
    this_week = argparse.Namespace(**{**vars(args), "week": "2026-W48"})
    out = io.StringIO()
    assert run(bot.deps, this_week, out) == 1
    assert "has not ended yet" in out.getvalue()
