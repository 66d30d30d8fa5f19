"""Sent DMs brought up to date in bulk, paced under Slack's limit for `chat.update`.

`chat.update` is Tier 3: about 50 calls a minute per workspace. A helpdesk that reopens 500
solved cases at once cancels 500 follow-ups already DMed; updating those DMs in the webhook's
thread would hold it for minutes and run into 429s. So bulk changes queue the DMs, in the
transaction that makes the change where they can (`db.dm_refreshes.enqueue_followups`, as
webhook intake does; `queue_refreshes` otherwise), and the scheduler's pass (`drain_refreshes`,
every `DRAIN_EVERY_SECONDS`) sends them within a budget:

- `BULK_PER_MINUTE` = 40 of Tier 3's 50. The other 10 are headroom for the updates that do not
  queue, made at once for someone looking at the DM: an agent's own click
  (bot/loop/effects.py), a lead's *Handled*. A message also queued keeps its row: the pass
  renders the same state again, one call more, within the budget.
- Counted over `WINDOW` (10 calls per 15 s) across every instance (the claim is serialised in
  the database), so a storm goes out as 10 updates every 15 s, never a minute's worth at once:
  500 DMs take 12 min 15 s from the first update to the last (docs/performance.md).
- Each message is rendered when it is sent: the latest state wins, and a message queued by
  several changes is updated once.
- Slack's answer decides: ok, or a permanent error (the message or channel is gone), ends it;
  a 429 gives the rest of the pass back to the next one; any other failure is retried later,
  `MAX_ATTEMPTS` times in all.
- Claims are leased: a process that dies holding some leaves them to a pass after `LEASE`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.nudge.items import BuiltNudge, message_at
from bot.report import PassReport
from db import dm_refreshes as queue
from db.dm_refreshes import Claimed

log = logging.getLogger("followup.nudges")

BULK_PER_MINUTE = 40
"""Queued updates a minute, all instances together: Tier 3's 50 less headroom for clicks."""
WINDOW = timedelta(seconds=15)
PER_WINDOW = int(BULK_PER_MINUTE * WINDOW.total_seconds() / 60)
"""Calls allowed in any `WINDOW`: 10."""
DRAIN_EVERY_SECONDS = 5
"""The pass's interval: a window's allowance is taken up within 5 s of coming free."""
LEASE = timedelta(minutes=5)
"""Long enough for a pass's 10 calls with the client's 429 retries; after a crash, the delay."""
MIN_LEASE_LEFT = timedelta(minutes=1)
"""A claim with less lease left is not sent: another instance may take it over meanwhile."""
FIRST_RETRY = timedelta(minutes=1)
"""After a failure; doubling with each attempt, up to `LAST_RETRY`."""
LAST_RETRY = timedelta(minutes=30)
MAX_ATTEMPTS = 8
"""Failures before a message is given up (logged): retries over about an hour and a half."""
PERMANENT_ERRORS = frozenset(
    {
        "message_not_found",
        "channel_not_found",
        "cant_update_message",
        "edit_window_closed",
        "is_archived",
        "not_in_channel",
        "invalid_blocks",
        "msg_too_long",
        "msg_blocks_too_long",
        "no_text",
    }
)
"""Answers that the same update would get again: the message is gone or will not take it."""


@dataclass
class RefreshReport(PassReport):
    """What one pass did, for logs and tests."""

    claimed: int = 0
    updated: int = 0
    gone: int = 0
    """Slack answered with a permanent error: not retried."""
    retrying: int = 0
    gave_up: int = 0
    given_back: int = 0
    """Claimed but not sent (after a 429, or too little lease left): the next pass takes them."""

    def summary(self) -> str:
        return (
            f"claimed {self.claimed}, updated {self.updated}, gone {self.gone}, "
            f"retrying {self.retrying}, gave up {self.gave_up}, given back {self.given_back}"
        )


def queue_refreshes(deps: Deps, followup_ids: list[int]) -> int:
    """Queue the DMs showing these follow-ups for an update by the paced pass; how many."""
    with deps.session_factory.begin() as session:
        return queue.enqueue_followups(session, followup_ids, deps.clock.now())


def drain_refreshes(deps: Deps) -> RefreshReport:
    """Send as many queued updates as the budget has room for now; idempotent, any instance."""
    report = RefreshReport()
    now = deps.clock.now()
    with deps.session_factory.begin() as session:
        claimed = queue.claim(
            session,
            now,
            deps.worker,
            now + LEASE,
            window_start=now - WINDOW,
            allowance=PER_WINDOW,
        )
    report.add(claimed=len(claimed))
    for position, item in enumerate(claimed):
        if not _send(deps, item, report):
            _give_back(deps, claimed[position + 1 :], report)
            break
    if claimed:
        log.info("DM refresh pass: %s", report.summary())
    return report


def _send(deps: Deps, item: Claimed, report: RefreshReport) -> bool:
    """Update one message and record Slack's answer; False when the pass should stop."""
    now = deps.clock.now()
    if now + MIN_LEASE_LEFT > item.lease_until:
        _give_back(deps, [item], report)
        return False
    try:
        with deps.session_factory() as session:
            message = message_at(deps, session, item.channel, item.ts, now)
    except Exception:  # a message that cannot be rendered must not hold up the queue behind it
        log.exception("could not render DM %s/%s for its update", item.channel, item.ts)
        _failed(deps, item, report)
        return True
    if message is None:  # no follow-up shows it any more: nothing to bring up to date
        _record_sent(deps, item)
        return True
    return _call(deps, item, message, report)


def _call(deps: Deps, item: Claimed, message: BuiltNudge, report: RefreshReport) -> bool:
    try:
        deps.client.chat_update(
            channel=item.channel, ts=item.ts, text=message.text, blocks=message.blocks
        )
    except SlackApiError as error:
        code = error.response.get("error")
        if error.response.status_code == 429 or code == "ratelimited":
            # The client already waited and retried: Slack is busy beyond our budget (other
            # updates, another app on the token). The rest of the pass goes to the next one.
            wait = timedelta(seconds=_retry_after(error))
            log.warning("chat.update rate-limited; the queue waits %s", wait)
            with deps.session_factory.begin() as session:
                queue.retry_later(session, item, deps.worker, deps.clock.now() + wait, failed=False)
            report.add(given_back=1)
            return False
        if code in PERMANENT_ERRORS:
            log.warning("DM %s/%s not updated, for good: %s", item.channel, item.ts, code)
            _record_sent(deps, item)
            report.add(gone=1)
            return True
        log.warning("DM %s/%s not updated (%s); retrying later", item.channel, item.ts, code)
        _failed(deps, item, report)
        return True
    except OSError as error:  # the connection, after the client's own retries
        log.warning("DM %s/%s not updated (%s); retrying later", item.channel, item.ts, error)
        _failed(deps, item, report)
        return True
    _record_sent(deps, item)
    report.add(updated=1)
    return True


def _record_sent(deps: Deps, item: Claimed) -> None:
    with deps.session_factory.begin() as session:
        if not queue.mark_sent(session, item, deps.worker):
            log.warning(
                "DM %s/%s: the claim was taken over before Slack answered", item.channel, item.ts
            )


def _failed(deps: Deps, item: Claimed, report: RefreshReport) -> None:
    """One more failed attempt: retry later, or give up after `MAX_ATTEMPTS`."""
    if item.attempts + 1 >= MAX_ATTEMPTS:
        log.error(
            "DM %s/%s not updated after %d attempts; giving up", item.channel, item.ts, MAX_ATTEMPTS
        )
        _record_sent(deps, item)
        report.add(gave_up=1)
        return
    delay = min(LAST_RETRY, FIRST_RETRY * 2**item.attempts)
    with deps.session_factory.begin() as session:
        queue.retry_later(session, item, deps.worker, deps.clock.now() + delay)
    report.add(retrying=1)


def _give_back(deps: Deps, items: list[Claimed], report: RefreshReport) -> None:
    """Release claims not sent, claimable again at once (the budget still decides when)."""
    if not items:
        return
    now = deps.clock.now()
    with deps.session_factory.begin() as session:
        for item in items:
            queue.retry_later(session, item, deps.worker, now, failed=False)
    report.add(given_back=len(items))


def _retry_after(error: SlackApiError) -> float:
    try:
        return max(1.0, float(error.response.headers.get("Retry-After", "1")))
    except (AttributeError, TypeError, ValueError):
        return 1.0
