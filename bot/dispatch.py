"""The dispatcher: claim due follow-ups, respect working hours, DM each agent exactly once."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from sqlalchemy import insert

from bot import ids as slack_ids
from bot.deps import Deps
from bot.people import ensure_profile, resolve_assignee
from bot.planning import calendar_of
from bot.report import PassReport
from db import cases as store
from db import followups as followup_store
from db.models import Agent, AuditEntry, FollowUp

if TYPE_CHECKING:
    from bot.nudges import BuiltNudge

log = logging.getLogger("followup.dispatch")

LEASE = timedelta(minutes=10)
"""Long enough for rate-limit retries; a crashed worker's claims come back after it."""
MIN_LEASE_LEFT = timedelta(minutes=2)
RETRY_LATER = timedelta(minutes=2)
AGENTS_PER_THREAD = 2
"""At most this many agents per delivery thread are claimed and not yet delivered: enough to
keep the pool busy, few enough that other instances claim the rest meanwhile."""
PERMANENT_ERRORS = {
    "user_not_found",
    "account_inactive",
    "user_disabled",
    "cannot_dm_bot",
    "messages_tab_disabled",
    "channel_not_found",
    "is_archived",
}


@dataclass
class DispatchReport(PassReport):
    """What one pass did, for logs, `followup dispatch` and tests."""

    claimed: int = 0
    dms: int = 0
    delivered: int = 0
    reconciled: int = 0
    deferred: int = 0
    triaged: int = 0
    failed: int = 0

    def summary(self) -> str:
        return (
            f"claimed {self.claimed}, delivered {self.delivered} in {self.dms} DMs, "
            f"reconciled {self.reconciled}, deferred to working hours {self.deferred}, "
            f"sent to triage {self.triaged}, failed {self.failed}"
        )


def dispatch_pass(deps: Deps, *, threads: int = 8, max_rounds: int = 10_000) -> DispatchReport:
    """Claim and deliver until nothing is due; safe to run in several processes at once.

    Claims are topped up as deliveries finish, never a whole round at a time, so an agent whose
    DM waits out a rate limit's `Retry-After` holds up no one else's. A top-up waits until a
    thread's worth of agents (`threads`) is done: topped up one agent at a time, a pass slowed
    by a rate limit used up its `max_rounds` claims before the backlog did (seen in
    bench/bench_dispatch.py: 1,418 of 2,000 agents DMed at 40 posts/s, the rest left for the
    next pass).
    """
    report = DispatchReport()
    capacity = threads * AGENTS_PER_THREAD
    in_flight: set[Future[None]] = set()
    recorder = _Recorder(deps)
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="dispatch") as pool:
        for _ in range(max_rounds):
            while len(in_flight) > capacity - threads:
                _, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            now = deps.clock.now()
            with _serial(deps), deps.session_factory.begin() as session:
                claimed = followup_store.claim_due(
                    session, now, deps.worker, now + LEASE, agents=capacity - len(in_flight)
                )
            if not claimed:
                break
            report.add(claimed=len(claimed))
            for agent_id, followup_ids in _group_by_assignee(deps, claimed, report).items():
                in_flight.add(
                    pool.submit(_deliver_group, deps, agent_id, followup_ids, report, recorder)
                )
        wait(in_flight)
    if report.claimed:
        log.info("dispatch: %s", report.summary())
    return report


def _group_by_assignee(
    deps: Deps, claimed: list[int], report: DispatchReport
) -> dict[int, list[int]]:
    """Claimed ids per agent; follow-ups with no known assignee are resolved (or triaged)."""
    with _serial(deps), deps.session_factory.begin() as session:
        rows = followup_store.load_claimed(session, claimed)
        groups: dict[int, list[int]] = defaultdict(list)
        unresolved = [f for f in rows if f.assignee_id is None]
        for followup in rows:
            if followup.assignee_id is not None:
                groups[followup.assignee_id].append(followup.id)
    for followup in unresolved:
        agent = resolve_assignee(deps, followup.id)
        if agent is None:
            report.add(triaged=1)
            continue
        groups[agent].append(followup.id)
    return groups


def _deliver_group(
    deps: Deps,
    agent_id: int,
    followup_ids: list[int],
    report: DispatchReport,
    recorder: _Recorder,
) -> None:
    try:
        _deliver(deps, agent_id, followup_ids, report, recorder)
    except Exception as error:  # one agent's failure must not stop the others' deliveries
        log.exception("dispatch to agent %s failed", agent_id)
        report.add(failed=len(followup_ids))
        report.note(f"agent {agent_id}: {type(error).__name__}")
        now = deps.clock.now()
        with deps.session_factory.begin() as session:
            followup_store.release(session, followup_ids, deps.worker, now + RETRY_LATER, now)


def _deliver(
    deps: Deps,
    agent_id: int,
    followup_ids: list[int],
    report: DispatchReport,
    recorder: _Recorder,
) -> None:
    prepared = _prepare(deps, agent_id, followup_ids, report)
    if prepared is None:
        return
    agent, rows, message = prepared
    followup_ids = [f.id for f in rows]
    try:
        response = deps.client.chat_postMessage(
            channel=agent.dm_channel or agent.slack_user_id,
            text=message.text,
            blocks=message.blocks,
            metadata={
                "event_type": slack_ids.METADATA_NUDGE,
                "event_payload": {"followup_ids": followup_ids},
            },
            unfurl_links=False,
            unfurl_media=False,
        )
    except SlackApiError as error:
        code = str(error.response.get("error", ""))
        now = deps.clock.now()
        with _serial(deps), deps.session_factory.begin() as session:
            if code in PERMANENT_ERRORS:
                followup_store.release(
                    session, followup_ids, deps.worker, None, now, state="failed"
                )
            else:
                followup_store.release(session, followup_ids, deps.worker, now + RETRY_LATER, now)
        report.add(failed=len(followup_ids))
        report.note(f"{agent.slack_user_id}: {code}")
        return
    channel, ts = str(response["channel"]), str(response["ts"])
    done = recorder.record(_Sent(agent, followup_ids, channel, ts))
    if done != len(followup_ids):
        log.warning("sent %s but only %d were still ours to record", followup_ids, done)
    report.add(dms=1, delivered=len(followup_ids))
    _tell_away_agents(deps, agent, rows)


Prepared = tuple[Agent, list[FollowUp], "BuiltNudge"]


def _prepare(
    deps: Deps, agent_id: int, followup_ids: list[int], report: DispatchReport
) -> Prepared | None:
    """Who gets the DM, the claimed rows and the message; None when nothing goes out now.

    The common case (profile fresh, agent not away, first attempt) takes one short
    transaction; anything else takes the careful path, `_prepare_slowly`.
    """
    from bot.away import is_away
    from bot.nudges import build_nudge
    from bot.people import PROFILE_TTL

    now = deps.clock.now()
    with _serial(deps), deps.session_factory.begin() as session:
        agent = session.get(Agent, agent_id)
        assert agent is not None
        fetched = agent.timezone_fetched_at
        fresh = fetched is not None and now - fetched <= PROFILE_TTL and bool(agent.dm_channel)
        if fresh and not is_away(agent, now):
            calendar = calendar_of(deps, agent.team, agent)
            if not calendar.is_working(now):
                # Never at night or on a day off: due again at the start of the next window.
                followup_store.release(
                    session, followup_ids, deps.worker, calendar.next_window_start(now), now
                )
                report.add(deferred=len(followup_ids))
                return None
            rows = followup_store.load_claimed(session, followup_ids)
            if all(f.attempts <= 1 for f in rows):
                if not followup_store.still_held(
                    session, followup_ids, deps.worker, now + MIN_LEASE_LEFT
                ):
                    log.warning(
                        "lease on %s ran short; leaving them to the next claim", followup_ids
                    )
                    return None
                message = build_nudge(deps, session, rows, now)
                session.flush()
                session.expunge(agent)
                return agent, rows, message
    return _prepare_slowly(deps, agent_id, followup_ids, report)


def _prepare_slowly(
    deps: Deps, agent_id: int, followup_ids: list[int], report: DispatchReport
) -> Prepared | None:
    """Refresh the profile, hand off an away agent's touches, reconcile a retried claim."""
    from bot.nudges import build_nudge

    agent = ensure_profile(deps, agent_id)
    now = deps.clock.now()
    cover = _hand_off_if_away(deps, agent, followup_ids)
    if cover is None:
        # Away with nobody to cover: the touches wait for the agent's return (then their hours).
        with _serial(deps), deps.session_factory.begin() as session:
            followup_store.release(session, followup_ids, deps.worker, agent.away_until, now)
        report.add(deferred=len(followup_ids))
        return None
    agent = cover
    with deps.session_factory() as session:
        team = session.get(Agent, agent.id).team  # type: ignore[union-attr]
    calendar = calendar_of(deps, team, agent)
    if not calendar.is_working(now):
        # Never at night or on a day off: due again at the start of the next working window.
        with _serial(deps), deps.session_factory.begin() as session:
            followup_store.release(
                session, followup_ids, deps.worker, calendar.next_window_start(now), now
            )
        report.add(deferred=len(followup_ids))
        return None
    followup_ids = _reconcile(deps, agent, followup_ids, report)
    if not followup_ids:
        return None
    with _serial(deps), deps.session_factory.begin() as session:
        rows = followup_store.load_claimed(session, followup_ids)
        message = build_nudge(deps, session, rows, now)
        if not followup_store.still_held(session, followup_ids, deps.worker, now + MIN_LEASE_LEFT):
            log.warning("lease on %s ran short; leaving them to the next claim", followup_ids)
            return None
    return agent, rows, message


@dataclass
class _Sent:
    """One DM Slack accepted, to be recorded."""

    agent: Agent
    followup_ids: list[int]
    channel: str
    ts: str
    done: threading.Event = field(default_factory=threading.Event)
    recorded: int = 0
    error: BaseException | None = None


class _Recorder:
    """Records delivered DMs in group commits: one transaction for every DM that arrived
    while the previous commit ran (the thread that gets the writer lock commits everyone's),
    instead of one per DM. Each caller returns once its own DM is committed (or raises what
    the commit raised, so its claims are released and retried, then reconciled)."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.pending: list[_Sent] = []
        self.guard = threading.Lock()
        self.writer = _SQLITE_WRITER if deps.engine.dialect.name == "sqlite" else threading.Lock()

    def record(self, sent: _Sent) -> int:
        with self.guard:
            self.pending.append(sent)
        with self.writer:
            with self.guard:
                batch, self.pending = self.pending, []
            if batch:
                self._commit(batch)
        sent.done.wait()
        if sent.error is not None:
            raise sent.error
        return sent.recorded

    def _commit(self, batch: list[_Sent]) -> None:
        deps = self.deps
        now = deps.clock.now()
        try:
            with deps.session_factory.begin() as session:
                audits: list[dict[str, Any]] = []
                for sent in batch:
                    sent.recorded = followup_store.mark_sent(
                        session, sent.followup_ids, deps.worker, sent.channel, sent.ts, now
                    )
                    detail = {
                        "channel": sent.channel,
                        "ts": sent.ts,
                        "batch": len(sent.followup_ids),
                    }
                    audits += [
                        {
                            "at": now,
                            "actor": "scheduler",
                            "surface": "dm",
                            "entity": "follow_up",
                            "entity_id": followup_id,
                            "action": "nudge_sent",
                            "detail": detail,
                        }
                        for followup_id in sent.followup_ids
                    ]
                    if sent.agent.dm_channel != sent.channel:
                        stored = session.get(Agent, sent.agent.id)
                        if stored is not None:
                            stored.dm_channel = sent.channel
                # The audit trail, as bot.cases.audit writes it, in one statement.
                session.execute(insert(AuditEntry), audits)
        except BaseException as error:
            for sent in batch:
                sent.error = error
            raise
        finally:
            for sent in batch:
                sent.done.set()


_SQLITE_WRITER = threading.Lock()


def _serial(deps: Deps) -> AbstractContextManager[object]:
    """On SQLite, this process's dispatch transactions one at a time.

    SQLite has one writer (every transaction here begins IMMEDIATE); threads that queue on its
    busy handler sleep in growing steps (up to 100 ms), so 8 delivery threads spent most of a
    pass asleep. Queued on a lock here they go on the moment the previous one commits.
    PostgreSQL runs them in parallel.
    """
    return _SQLITE_WRITER if deps.engine.dialect.name == "sqlite" else nullcontext()


def _hand_off_if_away(deps: Deps, agent: Agent, followup_ids: list[int]) -> Agent | None:
    """Who gets these touches: the agent, or while they are away whoever covers for them
    (`bot.away.cover_for`); None when they are away and nobody covers."""
    from bot.away import cover_for, is_away

    now = deps.clock.now()
    if not is_away(agent, now):
        return agent
    with deps.session_factory.begin() as session:
        away = session.get(Agent, agent.id)
        assert away is not None
        cover = cover_for(session, away, now)
        if cover is None:
            return None
        followup_store.set_assignee(session, followup_ids, cover, handed_from=away)
        for followup_id in followup_ids:
            store.audit(
                session,
                at=now,
                actor="scheduler",
                surface="dm",
                entity="follow_up",
                entity_id=followup_id,
                action="handed_off",
                detail={"from": away.slack_user_id, "to": cover.slack_user_id},
            )
        cover_id = cover.id
    return ensure_profile(deps, cover_id)


def _tell_away_agents(deps: Deps, cover: Agent, rows: list[FollowUp]) -> None:
    """Once the cover has the DM, each away agent gets one short note of what went to whom."""
    handed: dict[int, list[FollowUp]] = defaultdict(list)
    for followup in rows:
        if followup.handed_from_id is not None and followup.handed_from_id != cover.id:
            handed[followup.handed_from_id].append(followup)
    for away_id, shown in handed.items():
        try:
            away = ensure_profile(deps, away_id)
            text = deps.renderer.render(
                "slack/away_handoff.j2",
                {
                    "cover": cover.display_name or cover.slack_user_id,
                    "items": [
                        {
                            "subject": f.case.subject,
                            "reference": f"{f.case.source} #{f.case.external_id}",
                        }
                        for f in shown
                    ],
                },
            )
            deps.client.chat_postMessage(
                channel=away.dm_channel or away.slack_user_id,
                text=text,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as error:  # a note, not a delivery: logged, never retried
            log.warning(
                "hand-off note to agent %s failed: %s", away_id, error.response.get("error")
            )


def _reconcile(
    deps: Deps, agent: Agent, followup_ids: list[int], report: DispatchReport
) -> list[int]:
    """Before re-sending a retried claim, look for the DM a crashed worker already sent."""
    with deps.session_factory() as session:
        retried = [f.id for f in followup_store.by_ids(session, followup_ids) if f.attempts > 1]
    if not retried or not agent.dm_channel:
        return followup_ids
    found = _sent_in_history(deps, agent.dm_channel, set(retried))
    if not found:
        return followup_ids
    now = deps.clock.now()
    with deps.session_factory.begin() as session:
        for ts, ids_in_message in found.items():
            count = followup_store.mark_reconciled(
                session, ids_in_message, agent.dm_channel, ts, now
            )
            report.add(reconciled=count)
    seen = {i for ids_in_message in found.values() for i in ids_in_message}
    return [i for i in followup_ids if i not in seen]


def _sent_in_history(deps: Deps, channel: str, wanted: set[int]) -> dict[str, list[int]]:
    """Message ts → our follow-up ids found in the DM's recent history metadata."""
    found: dict[str, list[int]] = {}
    cursor: str | None = None
    for _ in range(5):  # the DM a crash left behind is among the most recent few hundred
        response = deps.client.conversations_history(
            channel=channel, limit=200, include_all_metadata=True, cursor=cursor
        )
        messages: list[dict[str, Any]] = response.get("messages", [])
        for message in messages:
            metadata: dict[str, Any] = message.get("metadata") or {}
            if metadata.get("event_type") != slack_ids.METADATA_NUDGE:
                continue
            payload = metadata.get("event_payload") or {}
            hits = [i for i in payload.get("followup_ids", []) if i in wanted]
            if hits:
                found[str(message["ts"])] = hits
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor or len({i for v in found.values() for i in v}) == len(wanted):
            break
    return found
