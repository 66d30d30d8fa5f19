"""APScheduler as a trigger only: due times live in our tables, jobs are idempotent passes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.deps import Deps
from bot.digest.post import digest_due_pass
from bot.dispatch.dispatcher import dispatch_pass
from bot.dispatch.overdue import overdue_pass
from bot.nudge.refresh import DRAIN_EVERY_SECONDS, drain_refreshes
from bot.people.directory import REFRESH, sync_directory
from bot.writeback.worker import INTERVAL_SECONDS as WRITEBACK_SECONDS
from bot.writeback.worker import deliver_writebacks

log = logging.getLogger("followup.scheduler")

JOB_DISPATCH = "dispatch"
JOB_OVERDUE = "overdue"
JOB_DM_REFRESH = "dm_refresh"
OVERDUE_INTERVAL_SECONDS = 60
"""Reminders and lead notices are hours apart; a minute's precision is plenty."""
JOB_WRITEBACK = "writeback"
JOB_DIRECTORY = "directory"
JOB_DIGEST = "digest"
DIGEST_INTERVAL_SECONDS = 300
"""The digest is due weekly; a pass every 5 minutes posts it within minutes of its moment."""


def build_scheduler(deps: Deps) -> BackgroundScheduler:
    """This process's own in-memory scheduler (APScheduler 3 job stores can't be shared).

    Every pass first runs at start-up, then at its interval: a restart delays no due DM,
    reminder or digest by a whole interval (the digest's is 5 minutes). The directory is read
    before the scheduler starts (bot.runtime.start), so its job is the daily refresh.
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

    every = _adder(scheduler, deps)
    every(
        JOB_DISPATCH,
        deps.settings.dispatch_interval_seconds,
        dispatch_pass,
        "claim and deliver due follow-ups",
    )
    every(
        JOB_OVERDUE,
        OVERDUE_INTERVAL_SECONDS,
        overdue_pass,
        "remind assignees and tell leads about overdue follow-ups",
    )
    every(
        JOB_DM_REFRESH,
        DRAIN_EVERY_SECONDS,
        drain_refreshes,
        "update queued DMs within chat.update's budget (bot.nudge.refresh)",
    )
    if deps.settings.writeback:
        every(
            JOB_WRITEBACK,
            WRITEBACK_SECONDS,
            deliver_writebacks,
            "note outcomes on their helpdesk tickets (bot.writeback.worker)",
        )
    every(
        JOB_DIGEST,
        DIGEST_INTERVAL_SECONDS,
        digest_due_pass,
        "post each team's weekly digest once, when due",
    )
    # Read once at start-up already (bot.runtime.start): the first run here is a refresh.
    every(
        JOB_DIRECTORY,
        REFRESH.total_seconds(),
        sync_directory,
        "read the workspace directory (users.list) again",
        first_in=REFRESH,
    )
    return scheduler


def _adder(scheduler: BackgroundScheduler, deps: Deps) -> Callable[..., None]:
    """A function adding one idempotent pass, run every `seconds` (first after `first_in`,
    now by default); a pass that fails is logged, and the next run is the retry."""

    def every(
        job_id: str,
        seconds: float,
        run: Callable[[Deps], object],
        name: str,
        *,
        first_in: timedelta = timedelta(0),
    ) -> None:
        def job() -> None:
            try:
                run(deps)
            except Exception:
                log.exception("%s: failed; the next run retries", job_id)

        scheduler.add_job(
            job,
            IntervalTrigger(seconds=seconds, timezone=UTC),
            id=job_id,
            next_run_time=datetime.now(UTC) + first_in,
            name=name,
            replace_existing=True,
        )

    return every


def stop_scheduler(scheduler: Any) -> None:
    if scheduler is not None and getattr(scheduler, "running", False):
        scheduler.shutdown(wait=True)
