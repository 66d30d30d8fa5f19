"""APScheduler as a trigger only: due times live in our tables, jobs are idempotent passes."""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.deps import Deps

log = logging.getLogger("followup.scheduler")

JOB_DISPATCH = "dispatch"


def build_scheduler(deps: Deps) -> BackgroundScheduler:
    """This process's own in-memory scheduler (APScheduler 3 job stores can't be shared)."""
    from bot.dispatch import dispatch_pass

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
        name="claim and deliver due follow-ups",
        replace_existing=True,
    )
    return scheduler


def stop_scheduler(scheduler: Any) -> None:
    if scheduler is not None and getattr(scheduler, "running", False):
        scheduler.shutdown(wait=True)
