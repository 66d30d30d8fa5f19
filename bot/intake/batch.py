"""Group commit for webhook intake: deliveries that arrive together are written together.

A delivery in its own transaction is about ten ORM statements, and on SQLite every request
would queue for the one writer (docs/performance.md). So a request thread hands its parsed
delivery to the group commit (bot/group_commit.py) and waits; one request thread at a time is
the writer and writes every delivery queued so far in one transaction: brand-new closed cases
in bulk (the CSV import's statements and planner), anything else (a reopen, a case seen before,
a case named twice in the batch) through `accept_case`, one by one, in arrival order. If the
batch fails for any reason, nothing of it is kept and each delivery is written again alone, in
its own transaction, exactly as without batching, so one bad delivery cannot take others with
it and each request gets its own answer or error.

Nothing is acknowledged before its transaction has committed: a request gets 202 only after
the commit that holds its case.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from bot.cases import ClosedCase, Event
from bot.deps import Deps
from bot.intake.accept import accept_case, count_accepted, tag_conventions
from bot.planning.bulk import Planner
from db import agents as agent_store
from db import bulk, dm_refreshes
from db import cases as store
from db.models import Agent

log = logging.getLogger("followup.intake")


@dataclass
class Written:
    """What one delivery did: a duplicate delivery id, or a change per case."""

    duplicate_delivery: bool = False
    changes: list[store.Change] = field(default_factory=list)
    cancelled_ids: list[int] = field(default_factory=list)
    """Follow-ups cancelled by a reopen or new cycle whose DM must be updated."""
    planned: list[int] = field(default_factory=list)
    """Follow-ups planned per case accepted (new, or a new cycle), for metrics."""

    @property
    def is_new(self) -> bool:
        fresh = (store.Change.NEW, store.Change.NEW_CYCLE, store.Change.REOPENED)
        return any(change in fresh for change in self.changes)


@dataclass(eq=False)
class Delivery:
    """One webhook delivery waiting to be written."""

    source: str
    cases: list[ClosedCase]
    delivery_id: str | None
    written: Written | None = None
    error: BaseException | None = None
    woken: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)
    """Set when this delivery is written (or failed), or when it is handed the writing."""

    @property
    def finished(self) -> bool:
        return self.written is not None or self.error is not None


def take_delivery(
    deps: Deps, source: str, cases: list[ClosedCase], delivery_id: str | None
) -> Written:
    """A webhook delivery's cases, with the tag conventions applied, written (with whatever
    else is waiting). DMs already sent for follow-ups it cancelled are queued in the same
    transaction; the paced pass updates them (bot/nudge/refresh.py), not this thread."""
    delivery = Delivery(source, [tag_conventions(closed) for closed in cases], delivery_id)
    return write_delivery(deps, delivery)


def write_delivery(deps: Deps, delivery: Delivery) -> Written:
    """Write `delivery` through the process's group commit (`deps.intake`); raise its error."""
    deps.intake.commit(delivery, lambda batch: write_each_way(deps, batch))
    assert delivery.written is not None
    for planned in delivery.written.planned:  # committed: counted once, whichever way
        count_accepted(delivery.source, planned)
    return delivery.written


def write_each_way(deps: Deps, batch: list[Delivery]) -> None:
    """One transaction for the whole batch; if it fails, each delivery again in its own."""
    if len(batch) > 1:
        try:
            with deps.session_factory.begin() as session:
                results = write_together(session, deps, batch)
        except Exception:  # one of them, or the database: each alone decides
            log.debug("a batch of %d deliveries failed; writing each alone", len(batch))
        else:
            for delivery, written in zip(batch, results, strict=True):
                delivery.written = written
            return
    for delivery in batch:
        try:
            with deps.session_factory.begin() as session:
                delivery.written = write_together(session, deps, [delivery])[0]
        except BaseException as error:  # handed to the request thread that owns it
            delivery.error = error


def write_together(session: Session, deps: Deps, batch: list[Delivery]) -> list[Written]:
    """Write `batch` in `session` (the caller commits): new closed cases in bulk, the rest
    through `accept_case` in order. One `Written` per delivery."""
    now = deps.clock.now()
    results = [Written() for _ in batch]
    pending: list[tuple[int, ClosedCase]] = []
    for index, delivery in enumerate(batch):
        if delivery.delivery_id and not store.record_delivery(
            session, delivery.source, f"delivery:{delivery.delivery_id}", now
        ):
            results[index].duplicate_delivery = True
            continue
        pending.extend((index, closed) for closed in delivery.cases)
    fast = _new_closes(pending)
    done = _write_new(session, deps, [pending[i] for i in fast], results, now)
    for position, (index, closed) in enumerate(pending):
        if position in fast and (index, closed.source, closed.external_id) in done:
            continue
        accepted = accept_case(
            session, deps, closed, actor=f"webhook:{closed.source}", surface="webhook"
        )
        results[index].changes.append(accepted.change)
        if accepted.change in (store.Change.NEW, store.Change.NEW_CYCLE):
            results[index].planned.append(len(accepted.planned))
        results[index].cancelled_ids += [f.id for f in accepted.cancelled if f.slack_ts]
    # Queued with the cancellation, so no crash loses one; a storm of reopens is then paced
    # under chat.update's limit rather than spent in request threads.
    dm_refreshes.enqueue_followups(session, [i for w in results for i in w.cancelled_ids], now)
    return results


def _new_closes(pending: list[tuple[int, ClosedCase]]) -> set[int]:
    """Positions of closes whose case is named only once in the batch: candidates for the
    bulk insert (one the store already has is skipped there and goes through `accept_case`)."""
    named: dict[tuple[str, str], int] = {}
    for _, closed in pending:
        key = (closed.source, closed.external_id)
        named[key] = named.get(key, 0) + 1
    return {
        position
        for position, (_, closed) in enumerate(pending)
        if closed.event is Event.CLOSED and named[(closed.source, closed.external_id)] == 1
    }


def _write_new(
    session: Session,
    deps: Deps,
    new: list[tuple[int, ClosedCase]],
    results: list[Written],
    now: datetime,
) -> set[tuple[int, str, str]]:
    """Insert and plan brand-new cases in bulk; which (delivery, source, id) were written.

    A case another writer inserted meanwhile is not in the answer: the caller sends it
    through `accept_case`, which sees it as the duplicate or new cycle it is.
    """
    if not new:
        return set()
    planner = Planner(deps)
    _load_people(session, planner, [closed for _, closed in new])
    teams = [planner.team(session, closed.team) for _, closed in new]
    by_team: dict[int, set[str]] = {}
    for (_, closed), team in zip(new, teams, strict=True):
        if closed.owner_slack_id and closed.owner_slack_id not in planner.by_slack:
            by_team.setdefault(team.id, set()).add(closed.owner_slack_id)
    for team_id, slack_ids in by_team.items():
        missing = slack_ids - planner.by_slack.keys()
        planner.load(bulk.agents_by_slack_id(session, missing, now, team_id))
    owners = [planner.owner_of(closed) for _, closed in new]
    rows = [
        bulk.new_case_row(closed, team.id, owner_id, planner.manager_of(closed), now)
        for (_, closed), team, owner_id in zip(new, teams, owners, strict=True)
    ]
    inserted: dict[tuple[str, str], int] = {}
    for source in {closed.source for _, closed in new}:
        mine = [row for row in rows if row[0] == source]
        for external_id, new_id in bulk.insert_cases(session, mine).items():
            inserted[(source, external_id)] = new_id
    followups: list[tuple[object, ...]] = []
    audits: list[dict[str, object]] = []
    done: set[tuple[int, str, str]] = set()
    for (index, closed), team, owner_id in zip(new, teams, owners, strict=True):
        case_id = inserted.get((closed.source, closed.external_id))
        if case_id is None:
            continue
        planned, _ = planner.touches(closed, case_id, team, owner_id, now, skip_late=False)
        followups += planned
        audits.append(
            {
                "at": now,
                "actor": f"webhook:{closed.source}",
                "surface": "webhook",
                "entity": "case",
                "entity_id": case_id,
                "action": f"case_{store.Change.NEW.value}",
                "detail": {"cycle": 1, "planned": len(planned), "cancelled": 0},
            }
        )
        results[index].changes.append(store.Change.NEW)
        results[index].planned.append(len(planned))
        done.add((index, closed.source, closed.external_id))
    bulk.insert_followups(session, followups)
    bulk.insert_audit(session, audits)
    return done


def _load_people(session: Session, planner: Planner, cases: list[ClosedCase]) -> None:
    """The agents these cases name (by Slack id, email or vendor id), their leads, and the
    leads of every team: all `Planner` needs to plan them as `plan_case` would."""
    emails = {
        email.strip().lower()
        for closed in cases
        for email in (closed.owner_email, closed.account_manager_email)
        if email
    }
    slack_ids = {closed.owner_slack_id for closed in cases if closed.owner_slack_id}
    links = {(c.source, c.owner_external_id) for c in cases if c.owner_external_id}
    found: list[Agent] = []
    if emails:
        found += agent_store.by_emails(session, emails)
    if slack_ids:
        found += agent_store.by_slack_ids(session, slack_ids)
    for source in {source for source, _ in links}:
        wanted = [external for s, external in links if s == source]
        for link, agent in agent_store.linked(session, source, wanted):
            planner.by_link[(source, link)] = agent.id
            found.append(agent)
    lead_ids = {agent.lead_id for agent in found if agent.lead_id}
    found += agent_store.leads(session)
    if lead_ids:
        found += agent_store.by_ids(session, lead_ids)
    planner.load(found)
