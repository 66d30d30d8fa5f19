"""The dispatcher: claim due follow-ups, respect working hours, DM each agent exactly once.

A pass claims whole agents' due touches, then prepares every claimed agent in the common case
(profile fresh, not away, in working hours, first attempt) in one transaction: the rows, the
review decisions, the drafts and their flags for all of them at once. Delivery threads build
each DM's blocks, post it and record it (bot/dispatch/delivery.py). Anything else takes the careful
path, one agent at a time (bot/dispatch/careful.py).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bot import metrics
from bot.deps import Deps
from bot.dispatch.careful import deliver_carefully
from bot.dispatch.delivery import (
    LEASE,
    DispatchReport,
    ReadyNudge,
    Recorder,
    Unsent,
    describe,
    fail_agent,
    lease_ran_short,
    ready_nudge,
    send_nudge,
    serial,
    shortest_lease,
)
from bot.nudge.items import prepare_items
from bot.people.away import is_away
from bot.people.profiles import PROFILE_TTL, resolve_assignee
from bot.planning.plan import calendar_of
from bot.rules.working_hours import WorkingCalendar
from db import agents as agent_store
from db import followups as followup_store
from db import nudge_rows
from db.models import Agent
from db.nudge_rows import NudgeRow

__all__ = ["DispatchReport", "dispatch_pass"]

log = logging.getLogger("followup.dispatch")

AGENTS_PER_THREAD = 8
"""At most this many agents per delivery thread are claimed and not yet delivered, and half
as many are claimed at a time: enough to keep the pool busy and each round's fixed cost small,
few enough that other instances claim the rest meanwhile."""


def dispatch_pass(deps: Deps, *, threads: int = 8, max_rounds: int = 10_000) -> DispatchReport:
    """Claim and deliver until nothing is due; safe to run in several processes at once.

    Claims are topped up as deliveries finish, never a whole round at a time, so an agent whose
    DM waits out a rate limit's `Retry-After` holds up no one else's. A top-up waits until half
    the agents in flight are done: each round (a claim, then one transaction preparing every
    claimed agent) costs the same whatever its size, so topping up one agent at a time would
    let a rate-limited pass spend its `max_rounds` before the backlog (docs/performance.md).
    """
    report = DispatchReport()
    unsent = Unsent()
    try:
        with metrics.DISPATCH_PASS.time():
            _claim_and_deliver(deps, threads, max_rounds, report, unsent)
    finally:  # even when the pass itself fails: the claims of DMs never posted go back now
        unsent.release(deps)
    if report.claimed:
        log.info("dispatch: %s", report.summary())
    return report


def _claim_and_deliver(
    deps: Deps, threads: int, max_rounds: int, report: DispatchReport, unsent: Unsent
) -> None:
    """The pass's rounds; an agent whose DM fails is in `unsent` (or given back), never
    raised: one agent's failure must not leave everyone claimed after it to their leases."""
    capacity = threads * AGENTS_PER_THREAD
    round_size = capacity // 2
    in_flight: set[Future[None]] = set()
    with (
        Recorder(deps, report) as recorder,
        ThreadPoolExecutor(max_workers=threads, thread_name_prefix="dispatch") as pool,
    ):
        for _ in range(max_rounds):
            while len(in_flight) > capacity - round_size:
                _, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            now = deps.clock.now()
            with serial(deps), deps.session_factory.begin() as session:
                claimed = followup_store.claim_due(
                    session,
                    now,
                    deps.worker,
                    now + LEASE,
                    agents=min(round_size, capacity - len(in_flight)),
                )
            if not claimed:
                break
            report.add(claimed=len(claimed))
            metrics.FOLLOWUPS_DUE.inc(len(claimed))
            batch = _prepare_claimed(deps, claimed, report, unsent)
            for nudge in batch.ready:
                in_flight.add(pool.submit(_guarded, deps, nudge, report, recorder, unsent))
            for agent_id, followup_ids in batch.careful.items():
                in_flight.add(
                    pool.submit(
                        deliver_carefully, deps, agent_id, followup_ids, report, recorder, unsent
                    )
                )
        wait(in_flight)


@dataclass
class _Batch:
    ready: list[ReadyNudge] = field(default_factory=list)
    careful: dict[int, list[int]] = field(default_factory=dict)
    """Agent id → claimed follow-up ids for the careful path."""
    deferred: int = 0
    """Follow-ups released to their next working window (counted once this is committed)."""


def _prepare_claimed(
    deps: Deps, claimed: list[int], report: DispatchReport, unsent: Unsent
) -> _Batch:
    """Every claimed agent's DM prepared together; when that fails (one agent's draft, say),
    each agent the careful way, on its own, so the failure stays with the agent it is about."""
    try:
        batch = _prepare_together(deps, claimed, report, unsent)
    except Exception as error:  # rolled back: nothing of the batch was written
        log.warning(
            "preparing %d claimed follow-ups together failed: %s; one agent at a time instead",
            len(claimed),
            describe(error),
        )
        batch = _one_at_a_time(deps, claimed)
    report.add(deferred=batch.deferred)
    return batch


def _prepare_together(
    deps: Deps, claimed: list[int], report: DispatchReport, unsent: Unsent
) -> _Batch:
    """Every claimed agent's DM in the common case, prepared in one transaction; the rest
    (and touches outside working hours, released to their next window) sorted out."""
    with serial(deps), deps.session_factory.begin() as session:
        rows = nudge_rows.by_ids(session, claimed)
        unassigned = [f.id for f in rows if f.assignee_id is None]
        if not unassigned:
            return _sort_out(deps, session, rows)
    # Rare: a touch nobody could be assigned at planning. Finding them may ask Slack.
    for followup_id in unassigned:
        _resolve(deps, followup_id, report, unsent)
    with serial(deps), deps.session_factory.begin() as session:
        return _sort_out(deps, session, nudge_rows.by_ids(session, claimed))


def _resolve(deps: Deps, followup_id: int, report: DispatchReport, unsent: Unsent) -> None:
    """Find the touch's agent, or send it to triage; when Slack fails the lookup, the touch
    alone fails (left unassigned and claimed, so not sorted out; released as the pass ends)."""
    try:
        agent_id = resolve_assignee(deps, followup_id)
    except Exception as error:  # e.g. users.lookupByEmail answering 5xx after the retries
        fail_agent(deps, None, [followup_id], report, unsent, error)
        return
    if agent_id is None:
        report.add(triaged=1)


def _one_at_a_time(deps: Deps, claimed: list[int]) -> _Batch:
    """Every claimed agent of ours for the careful path, which prepares each on its own."""
    batch = _Batch()
    with deps.session_factory() as session:
        for row in nudge_rows.by_ids(session, claimed):
            ours = row.state == "claimed" and row.claimed_by == deps.worker
            if ours and row.assignee_id is not None:
                batch.careful.setdefault(row.assignee_id, []).append(row.id)
    return batch


def _sort_out(deps: Deps, session: Session, rows: list[NudgeRow]) -> _Batch:
    batch = _Batch()
    now = deps.clock.now()
    groups: dict[int, list[NudgeRow]] = defaultdict(list)
    for row in rows:
        ours = row.state == "claimed" and row.claimed_by == deps.worker
        if ours and row.assignee_id is not None:  # else sent to triage just now
            groups[row.assignee_id].append(row)
    agents = agent_store.with_teams(session, groups)
    fast: list[tuple[Agent, list[NudgeRow]]] = []
    calendars: dict[int, WorkingCalendar] = {}  # the DM's lateness is measured in these hours
    for agent_id, group in groups.items():
        agent = agents[agent_id]
        fetched = agent.timezone_fetched_at
        fresh = fetched is not None and now - fetched <= PROFILE_TTL
        if not fresh or is_away(agent, now) or any(f.attempts > 1 for f in group):
            batch.careful[agent.id] = [f.id for f in group]
            continue
        calendar = calendar_of(deps, agent.team, agent)
        if not calendar.is_working(now):
            # Never at night or on a day off: due again at the start of the next window.
            ids = [f.id for f in group]
            next_window = calendar.next_window_start(now)
            followup_store.release(session, ids, deps.worker, next_window, now, unsent=True)
            batch.deferred += len(ids)
            continue
        if lease_ran_short(shortest_lease(group), now):
            ids = [f.id for f in group]
            log.warning("lease on %s ran short; leaving them to the next claim", ids)
            continue
        fast.append((agent, group))
        calendars[agent.id] = calendar
    items = iter(prepare_items(deps, session, [f for _, g in fast for f in g], now))
    for agent, group in fast:
        drafts = [next(items) for _ in group]
        batch.ready.append(ready_nudge(agent, group, drafts, calendars[agent.id]))
    return batch


def _guarded(
    deps: Deps, nudge: ReadyNudge, report: DispatchReport, recorder: Recorder, unsent: Unsent
) -> None:
    """Send one agent's DM; a failure fails this agent only."""
    try:
        send_nudge(deps, nudge, report, recorder)
    except Exception as error:  # one agent's failure must not stop the others' deliveries
        fail_agent(deps, nudge.agent_id, nudge.followup_ids, report, unsent, error)
