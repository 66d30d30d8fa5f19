"""Posting one agent's nudge DM and recording it exactly once (for both dispatch paths).

A DM carries message metadata naming its follow-up ids, so a crash between Slack's answer and
our commit is reconciled from the DM's history by the next claim, never re-sent blindly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot import ids as slack_ids
from bot import metrics
from bot.deps import Deps
from bot.nudge.blocks import NudgeItem
from bot.nudge.items import BuiltNudge, nudge_dicts
from bot.people.profiles import ensure_profile
from bot.report import PassReport
from bot.rules.working_hours import WorkingCalendar
from db import bulk
from db import followups as followup_store
from db.models import Agent
from db.nudge_rows import NudgeRow

log = logging.getLogger("followup.dispatch")

LEASE = timedelta(minutes=10)
"""Long enough for rate-limit retries; a crashed worker's claims come back after it."""
MIN_LEASE_LEFT = timedelta(minutes=2)
"""A claim with less lease than this left is not posted: another worker may take it over."""
RETRY_LATER = timedelta(minutes=2)
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


@dataclass(frozen=True)
class Handed:
    """Touches handed from an away agent to the one this DM goes to, for the away agent's note."""

    away_id: int
    cases: list[tuple[str, str]]
    """(subject, reference) of each touch handed over."""


@dataclass(frozen=True)
class ReadyNudge:
    """One agent's DM, its items drafted and recorded, ready to post under our claim."""

    agent_id: int
    slack_user_id: str
    display_name: str | None
    dm_channel: str | None
    followup_ids: list[int]
    items: list[NudgeItem]
    lease_until: datetime
    handed: list[Handed] = field(default_factory=list)
    due_at: list[datetime] = field(default_factory=list)
    calendar: WorkingCalendar | None = None
    """The recipient's working hours, in which the DM's lateness is measured."""


def ready_nudge(
    agent: Agent,
    rows: Sequence[NudgeRow],
    items: list[NudgeItem],
    calendar: WorkingCalendar | None = None,
) -> ReadyNudge:
    """`agent`'s DM of `rows`, claimed by us and checked by `lease_ran_short`."""
    lease_until = shortest_lease(rows)
    assert lease_until is not None
    return ReadyNudge(
        agent_id=agent.id,
        slack_user_id=agent.slack_user_id,
        display_name=agent.display_name,
        dm_channel=agent.dm_channel,
        followup_ids=[f.id for f in rows],
        items=items,
        lease_until=lease_until,
        handed=_handed_over(rows, agent.id),
        due_at=[f.due_at for f in rows],
        calendar=calendar,
    )


def shortest_lease(rows: Sequence[NudgeRow]) -> datetime | None:
    """When the first of the rows' claims runs out (None: one of them is not leased)."""
    leases = [f.lease_until for f in rows if f.lease_until is not None]
    return min(leases) if leases and len(leases) == len(rows) else None


def lease_ran_short(lease_until: datetime | None, now: datetime) -> bool:
    """Too little of the claim left to post: another worker may take it over meanwhile."""
    return lease_until is None or lease_until < now + MIN_LEASE_LEFT


def _handed_over(rows: Sequence[NudgeRow], cover_id: int) -> list[Handed]:
    """The touches among `rows` handed to `cover_id` by someone away, per away agent."""
    by_away: dict[int, list[tuple[str, str]]] = {}
    for row in rows:
        away = row.handed_from_id
        if away is not None and away != cover_id:
            by_away.setdefault(away, []).append((row.subject, row.reference))
    return [Handed(away, cases) for away, cases in by_away.items()]


def serial(deps: Deps) -> AbstractContextManager[object]:
    """On SQLite, this process's dispatch transactions one at a time.

    SQLite has one writer (every transaction here begins IMMEDIATE); threads that queue on its
    busy handler sleep in growing steps (up to 100 ms), while queued on a lock here they go on
    the moment the previous one commits.
    PostgreSQL runs them in parallel.
    """
    return _SQLITE_WRITER if deps.engine.dialect.name == "sqlite" else nullcontext()


_SQLITE_WRITER = threading.Lock()


def send_nudge(deps: Deps, nudge: ReadyNudge, report: DispatchReport, recorder: Recorder) -> None:
    """Post the DM (unless our lease ran short) and hand it to the recorder; release the
    claims when Slack refuses it. Raises `MaybePosted` when the post failed in a way that may
    have posted it; any other exception means it was certainly not posted."""
    followup_ids = nudge.followup_ids
    now = deps.clock.now()
    if lease_ran_short(nudge.lease_until, now):
        log.warning("lease on %s ran short; leaving them to the next claim", followup_ids)
        return
    message = nudge_dicts(nudge.items, now, deps.policy.batch_cap)
    try:
        response = _post(deps, nudge, message)
    except SlackApiError as error:
        _refused(deps, nudge, report, error)
        return
    except Exception as error:  # a timeout or a dropped connection: Slack may have posted it
        raise MaybePosted(type(error).__name__) from error
    _after_post(deps, nudge, recorder, str(response["channel"]), str(response["ts"]))


def _post(deps: Deps, nudge: ReadyNudge, message: BuiltNudge) -> SlackResponse:
    """The DM, with message metadata naming its follow-ups for a later reconcile."""
    return deps.client.chat_postMessage(
        channel=nudge.dm_channel or nudge.slack_user_id,
        text=message.text,
        blocks=message.blocks,
        metadata={
            "event_type": slack_ids.METADATA_NUDGE,
            "event_payload": {"followup_ids": nudge.followup_ids},
        },
        unfurl_links=False,
        unfurl_media=False,
    )


def _refused(deps: Deps, nudge: ReadyNudge, report: DispatchReport, error: SlackApiError) -> None:
    """Slack answered the post with an error: failed for good on a permanent one, else
    released for a later try (which reads the DM history first: a 5xx may follow a post)."""
    followup_ids = nudge.followup_ids
    code = str(error.response.get("error", ""))
    now = deps.clock.now()
    permanent = code in PERMANENT_ERRORS
    with serial(deps), deps.session_factory.begin() as session:
        followup_store.release(
            session,
            followup_ids,
            deps.worker,
            None if permanent else now + RETRY_LATER,
            now,
            state="failed" if permanent else "planned",
        )
    log.warning(
        "DM of follow-ups %s to agent %s failed: SlackApiError (%s); %s",
        followup_ids,
        nudge.agent_id,
        code,
        "given up" if permanent else "retried later",
    )
    report.add(failed=len(followup_ids))
    report.note(f"{nudge.slack_user_id}: {code}")


def _after_post(deps: Deps, nudge: ReadyNudge, recorder: Recorder, channel: str, ts: str) -> None:
    """Record the posted DM and tell the away agents; nothing here may raise, since a failure
    after the post must never release the claims (a retry would have to reconcile)."""
    log.info(
        "DM sent to agent %s: follow-ups %s",
        nudge.agent_id,
        nudge.followup_ids,
        extra={"event": "dm_sent", "agent": nudge.agent_id, "follow_up": nudge.followup_ids},
    )
    recorder.record(_Sent(nudge, channel, ts))
    if not nudge.handed:
        return
    try:
        _tell_away_agents(deps, nudge)
    except Exception as error:  # a note, not a delivery: the DM itself went out
        log.warning("hand-off notes for agent %s failed: %s", nudge.agent_id, type(error).__name__)


class MaybePosted(Exception):
    """`chat.postMessage` failed after Slack may have posted the DM (a timeout, a dropped
    connection): its claims go back only for a retry that reconciles from the DM history."""


class Unsent:
    """Claims of DMs certainly not posted after a failure, released when the pass ends.

    Not released at once: the pass claims whatever is due until nothing is, and would claim
    them straight back, again and again while Slack keeps failing. Not left to their lease
    either (minutes): the next pass retries them.
    """

    def __init__(self) -> None:
        self._ids: list[int] = []
        self._lock = threading.Lock()

    def hold(self, followup_ids: Sequence[int]) -> None:
        with self._lock:
            self._ids.extend(followup_ids)

    def release(self, deps: Deps) -> None:
        """Give every held claim back, due as before (a failure here leaves them to the lease)."""
        with self._lock:
            held, self._ids = self._ids, []
        if not held:
            return
        now = deps.clock.now()
        try:
            with serial(deps), deps.session_factory.begin() as session:
                followup_store.release(session, held, deps.worker, None, now, unsent=True)
        except Exception as error:  # the leases run out instead
            log.warning("could not release %s: %s", held, type(error).__name__)


def describe(error: BaseException) -> str:
    """An error's type (and Slack's error code), never its text: that may quote a customer."""
    if isinstance(error, MaybePosted) and error.__cause__ is not None:
        error = error.__cause__
    name = type(error).__name__
    if isinstance(error, SlackApiError):
        return f"{name} ({error.response.get('error', '')})"
    return name


def fail_agent(
    deps: Deps,
    agent_id: int | None,
    followup_ids: list[int],
    report: DispatchReport,
    unsent: Unsent,
    error: Exception,
) -> None:
    """One agent's delivery failed: counted, one warning line, and the others go on. Claims
    of a DM certainly not posted are released as the pass ends, the rest `give_back`."""
    if isinstance(error, MaybePosted):
        give_back(deps, agent_id, followup_ids, report, error)
        return
    whose = f"agent {agent_id}" if agent_id is not None else "no agent yet"
    log.warning(
        "dispatch of follow-ups %s (%s) failed: %s; the next pass retries them",
        followup_ids,
        whose,
        describe(error),
    )
    report.add(failed=len(followup_ids))
    report.note(f"{whose}: {describe(error)}")
    unsent.hold(followup_ids)


def give_back(
    deps: Deps,
    agent_id: int | None,
    followup_ids: list[int],
    report: DispatchReport,
    error: Exception,
) -> None:
    """After a failure once the DM may have been posted: logged, counted, and the claims
    released for a later try, which reconciles against the DM history before sending."""
    log.warning(
        "dispatch of follow-ups %s (agent %s) failed after its DM may have been posted: %s; "
        "retried later, checking the DM history first",
        followup_ids,
        agent_id,
        describe(error),
    )
    report.add(failed=len(followup_ids))
    report.note(f"agent {agent_id}: {describe(error)}")
    now = deps.clock.now()
    with serial(deps), deps.session_factory.begin() as session:
        followup_store.release(session, followup_ids, deps.worker, now + RETRY_LATER, now)


@dataclass
class _Sent:
    """One DM Slack accepted, to be recorded."""

    nudge: ReadyNudge
    channel: str
    ts: str


class Recorder:
    """Records the DMs Slack accepted, on a writer thread of its own, in group commits: every
    DM posted while the previous commit ran goes into the next one.

    Delivery threads hand a DM over and go on to the next agent instead of each waiting for
    a transaction of its own (on SQLite, for the one writer). A commit that fails releases
    its claims for a later try, which first looks for the DMs in their history: a DM posted
    but not recorded (this failure, or a crash) is found there, never posted again.
    Use as a context manager: leaving it records everything handed over.
    """

    def __init__(self, deps: Deps, report: DispatchReport) -> None:
        self.deps = deps
        self.report = report
        self._pending: list[_Sent] = []
        self._wake = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="dispatch-recorder", daemon=True)

    def __enter__(self) -> Recorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._thread.join()

    def record(self, sent: _Sent) -> None:
        with self._wake:
            self._pending.append(sent)
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closing:
                    self._wake.wait()
                batch, self._pending = self._pending, []
                if not batch and self._closing:
                    return
            try:
                self._commit(batch)
            except Exception as error:  # the claims come back; their retry reconciles
                for sent in batch:
                    give_back(
                        self.deps, sent.nudge.agent_id, sent.nudge.followup_ids, self.report, error
                    )

    def _commit(self, batch: list[_Sent]) -> None:
        deps = self.deps
        now = deps.clock.now()
        audits: list[dict[str, Any]] = []
        channels: dict[int, str] = {}
        for sent in batch:
            ids = sent.nudge.followup_ids
            detail = {"channel": sent.channel, "ts": sent.ts, "batch": len(ids)}
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
                for followup_id in ids
            ]
            if sent.nudge.dm_channel != sent.channel:
                channels[sent.nudge.agent_id] = sent.channel
        deliveries = [(sent.nudge.followup_ids, sent.channel, sent.ts) for sent in batch]
        with serial(deps), deps.session_factory.begin() as session:
            recorded = followup_store.mark_sent(session, deliveries, deps.worker, now)
            # The audit trail, as bot.cases.audit writes it, in one statement.
            bulk.insert_audit(session, audits)
            followup_store.set_dm_channels(session, channels)
        expected = sum(len(ids) for ids, _, _ in deliveries)
        if recorded != expected:
            log.warning(
                "sent %d follow-ups but only %d were still ours to record", expected, recorded
            )
        for sent in batch:
            self.report.add(dms=1, delivered=len(sent.nudge.followup_ids))
            _count_sent(sent.nudge, now)


def _count_sent(nudge: ReadyNudge, sent_at: datetime) -> None:
    """The DM's follow-ups as sent, and how late each was in the recipient's working hours."""
    metrics.FOLLOWUPS_SENT.inc(len(nudge.followup_ids))
    if nudge.calendar is None:
        return
    for due in nudge.due_at:
        try:
            late = nudge.calendar.working_time_between(due, sent_at)
        except ValueError:  # a calendar with no window: a figure lost, never the DM's record
            continue
        metrics.DM_LATENESS.observe(late.total_seconds())


def _tell_away_agents(deps: Deps, nudge: ReadyNudge) -> None:
    """Once the cover has the DM, each away agent gets one short note of what went to whom."""
    cover = nudge.display_name or nudge.slack_user_id
    for handed in nudge.handed:
        try:
            away = ensure_profile(deps, handed.away_id)
            if away.deactivated:
                continue  # gone from Slack: nobody to tell
            text = deps.renderer.render(
                "slack/away_handoff.j2",
                {
                    "cover": cover,
                    "items": [
                        {"subject": subject, "reference": reference}
                        for subject, reference in handed.cases
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
                "hand-off note to agent %s failed: %s",
                handed.away_id,
                error.response.get("error"),
            )
