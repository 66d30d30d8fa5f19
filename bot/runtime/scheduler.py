"""APScheduler as a trigger only: due times live in our tables, jobs are idempotent passes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.deps import Deps
from bot.digest.post import digest_due_pass
from bot.dispatch.dispatcher import dispatch_pass
from bot.dispatch.overdue import overdue_pass
from bot.nudge.refresh import DRAIN_EVERY_SECONDS, drain_refreshes
from bot.people.directory import REFRESH, sync_directory

log = logging.getLogger("followup.scheduler")

JOB_DISPATCH = "dispatch"
JOB_OVERDUE = "overdue"
JOB_DM_REFRESH = "dm_refresh"
OVERDUE_INTERVAL_SECONDS = 60
"""Reminders and lead notices are hours apart; a minute's precision is plenty."""
JOB_DIRECTORY = "directory"
JOB_DIGEST = "digest"
DIGEST_INTERVAL_SECONDS = 300
"""The digest is due weekly; a pass every 5 minutes posts it within minutes of its moment."""


def build_scheduler(deps: Deps) -> BackgroundScheduler:
    """This process's own in-memory scheduler (APScheduler 3 job stores can't be shared).

    Every job first runs at start-up, then at its interval: a restart delays no due DM,
    reminder or digest by a whole interval (the digest's is 5 minutes).
    """

    scheduler = BackgroundScheduler(
        timezone=UTC,
        job_defaults={
            # A pass that ran late or was missed while suspended just runs once, now.
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": 3600,
        },
    )

    def dispatch_job() -> None:
        try:
            dispatch_pass(deps)
        except Exception:
            log.exception("dispatch pass failed; the next pass retries")

    scheduler.add_job(
        dispatch_job,
        IntervalTrigger(seconds=deps.settings.dispatch_interval_seconds, timezone=UTC),
        id=JOB_DISPATCH,
        next_run_time=datetime.now(UTC),
        name="claim and deliver due follow-ups",
        replace_existing=True,
    )

    def overdue_job() -> None:
        try:
            overdue_pass(deps)
        except Exception:
            log.exception("overdue pass failed; the next pass retries")

    scheduler.add_job(
        overdue_job,
        IntervalTrigger(seconds=OVERDUE_INTERVAL_SECONDS, timezone=UTC),
        id=JOB_OVERDUE,
        next_run_time=datetime.now(UTC),
        name="remind assignees and tell leads about overdue follow-ups",
        replace_existing=True,
    )

    def refresh_job() -> None:
        try:
            drain_refreshes(deps)
        except Exception:
            log.exception("DM refresh pass failed; the next pass retries")

    scheduler.add_job(
        refresh_job,
        IntervalTrigger(seconds=DRAIN_EVERY_SECONDS, timezone=UTC),
        id=JOB_DM_REFRESH,
        next_run_time=datetime.now(UTC),
        name="update queued DMs within chat.update's budget (bot.nudge.refresh)",
        replace_existing=True,
    )
    add_digest_job(scheduler, deps)

    def directory_job() -> None:
        try:
            sync_directory(deps)
        except Exception:
            log.exception("reading the directory failed; the next refresh retries")

    scheduler.add_job(
        directory_job,
        IntervalTrigger(seconds=REFRESH.total_seconds(), timezone=UTC),
        id=JOB_DIRECTORY,
        # Read once at start-up already (bot.runtime.start): the next read is a refresh.
        next_run_time=datetime.now(UTC) + REFRESH,
        name="read the workspace directory (users.list) again",
        replace_existing=True,
    )
    return scheduler


def add_digest_job(scheduler: BackgroundScheduler, deps: Deps) -> None:
    """Every few minutes: post each team's weekly digest once it is due (see bot.digest.post)."""

    def digest_job() -> None:
        try:
            digest_due_pass(deps)
        except Exception:
            log.exception("digest pass failed; the next pass retries")

    scheduler.add_job(
        digest_job,
        IntervalTrigger(seconds=DIGEST_INTERVAL_SECONDS, timezone=UTC),
        id=JOB_DIGEST,
        next_run_time=datetime.now(UTC),
        name="post each team's weekly digest once, when due",
        replace_existing=True,
    )


def stop_scheduler(scheduler: Any) -> None:
    if scheduler is not None and getattr(scheduler, "running", False):
        scheduler.shutdown(wait=True)
