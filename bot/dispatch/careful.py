"""The dispatcher's careful path, one agent at a time: anything but the common case.

An agent whose Slack profile is stale or unknown, who is away (their touches go to whoever
covers), or whose claim is a retry (a crashed worker may have sent the DM already) comes here.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot import ids as slack_ids
from bot.deps import Deps
from bot.dispatch.delivery import (
    RETRY_LATER,
    DispatchReport,
    ReadyNudge,
    Recorder,
    Unsent,
    fail_agent,
    lease_ran_short,
    ready_nudge,
    send_nudge,
    serial,
    shortest_lease,
)
from bot.nudge.items import prepare_items
from bot.people.away import cover_for, is_away
from bot.people.profiles import ensure_profile
from bot.people.triage import send_to_triage
from bot.planning.plan import calendar_of
from db import cases as store
from db import followups as followup_store
from db import nudge_rows
from db.models import Agent

log = logging.getLogger("followup.dispatch")


def deliver_carefully(
    deps: Deps,
    agent_id: int,
    followup_ids: list[int],
    report: DispatchReport,
    recorder: Recorder,
    unsent: Unsent,
) -> None:
    """Prepare and send one agent's DM the careful way; a failure fails this agent only."""
    try:
        nudge = _prepare(deps, agent_id, followup_ids, report)
        if nudge is not None:
            send_nudge(deps, nudge, report, recorder)
    except Exception as error:  # one agent's failure must not stop the others' deliveries
        fail_agent(deps, agent_id, followup_ids, report, unsent, error)


def _prepare(
    deps: Deps, agent_id: int, followup_ids: list[int], report: DispatchReport
) -> ReadyNudge | None:
    """Refresh the profile, hand off an away agent's touches, reconcile a retried claim."""
    agent = ensure_profile(deps, agent_id)
    now = deps.clock.now()
    cover = _hand_off_if_away(deps, agent, followup_ids)
    if cover is None and agent.deactivated:
        # Gone from Slack with nobody to cover: the team assigns them from triage.
        _to_triage(deps, agent, followup_ids, report)
        return None
    if cover is None:
        # Away with nobody to cover: the touches wait for the agent's return (then their hours).
        with serial(deps), deps.session_factory.begin() as session:
            followup_store.release(
                session, followup_ids, deps.worker, agent.away_until, now, unsent=True
            )
        report.add(deferred=len(followup_ids))
        return None
    agent = cover
    with deps.session_factory() as session:
        team = session.get(Agent, agent.id).team  # type: ignore[union-attr]
    calendar = calendar_of(deps, team, agent)
    if not calendar.is_working(now):
        # Never at night or on a day off: due again at the start of the next working window.
        with serial(deps), deps.session_factory.begin() as session:
            followup_store.release(
                session,
                followup_ids,
                deps.worker,
                calendar.next_window_start(now),
                now,
                unsent=True,
            )
        report.add(deferred=len(followup_ids))
        return None
    followup_ids = _reconcile(deps, agent, followup_ids, report)
    if not followup_ids:
        return None
    with serial(deps), deps.session_factory.begin() as session:
        rows = nudge_rows.by_ids(session, followup_ids)
        ours = all(f.state == "claimed" and f.claimed_by == deps.worker for f in rows)
        if len(rows) != len(followup_ids) or not ours or lease_ran_short(shortest_lease(rows), now):
            log.warning("lease on %s ran short; leaving them to the next claim", followup_ids)
            return None
        return ready_nudge(agent, rows, prepare_items(deps, session, rows, now), calendar)


def _to_triage(deps: Deps, agent: Agent, followup_ids: list[int], report: DispatchReport) -> None:
    """A deactivated agent's touches, with nobody to cover, posted to triage to assign."""
    now = deps.clock.now()
    with serial(deps), deps.session_factory.begin() as session:
        followup_store.release(
            session, followup_ids, deps.worker, None, now, state="triage", unsent=True
        )
        for followup_id in followup_ids:
            store.audit(
                session,
                at=now,
                actor="scheduler",
                surface="triage",
                entity="follow_up",
                entity_id=followup_id,
                action="sent_to_triage",
                detail={"reason": "deactivated", "from": agent.slack_user_id},
            )
    for followup_id in followup_ids:
        send_to_triage(deps, followup_id)
    report.add(triaged=len(followup_ids))


def _hand_off_if_away(deps: Deps, agent: Agent, followup_ids: list[int]) -> Agent | None:
    """Who gets these touches: the agent, or while they are away (or deactivated in Slack)
    whoever covers for them (`bot.people.away.cover_for`); None when nobody covers."""
    now = deps.clock.now()
    if not is_away(agent, now):
        return agent
    with serial(deps), deps.session_factory.begin() as session:
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
                detail={
                    "from": away.slack_user_id,
                    "to": cover.slack_user_id,
                    "reason": "deactivated" if away.deactivated else "away",
                },
            )
        cover_id = cover.id
    return ensure_profile(deps, cover_id)


def _reconcile(
    deps: Deps, agent: Agent, followup_ids: list[int], report: DispatchReport
) -> list[int]:
    """Before re-sending a retried claim, look for the DM a crashed worker already sent.

    A DM goes to the user id and Slack names its channel; if a crash came before we stored
    it, conversations.open finds it (only here, in recovery). Without it the history cannot
    be read, so the claim is released for a later try: never re-sent blindly.
    """
    with deps.session_factory() as session:
        retried = [f.id for f in nudge_rows.by_ids(session, followup_ids) if f.attempts > 1]
    if not retried:
        return followup_ids
    now = deps.clock.now()
    channel = agent.dm_channel or _open_dm(deps, agent)
    if not channel:
        log.warning("cannot read %s's DM history to reconcile %s; later", agent.id, retried)
        with serial(deps), deps.session_factory.begin() as session:
            followup_store.release(session, followup_ids, deps.worker, now + RETRY_LATER, now)
        report.add(deferred=len(followup_ids))
        return []
    found = _sent_in_history(deps, channel, set(retried))
    if not found:
        return followup_ids
    with serial(deps), deps.session_factory.begin() as session:
        for ts, ids_in_message in found.items():
            count = followup_store.mark_reconciled(session, ids_in_message, channel, ts, now)
            report.add(reconciled=count)
    seen = {i for ids_in_message in found.values() for i in ids_in_message}
    return [i for i in followup_ids if i not in seen]


def _open_dm(deps: Deps, agent: Agent) -> str | None:
    """The DM channel with `agent` from conversations.open, stored; None if Slack refuses."""
    try:
        channel = str(deps.client.conversations_open(users=agent.slack_user_id)["channel"]["id"])
    except SlackApiError as error:
        log.warning("conversations.open %s failed: %s", agent.id, error.response.get("error"))
        return None
    with serial(deps), deps.session_factory.begin() as session:
        followup_store.set_dm_channels(session, {agent.id: channel})
    return channel


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
