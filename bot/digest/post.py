"""The weekly digest: posted once per team and ISO week, late runs caught up, never twice.

Schedule: the digest of week N is due on the team's `digest_day` at `digest_time` (default
Monday 09:00, the team's time zone) in week N+1. `digest_due_pass` runs every few minutes in
every instance and posts each team's due digest; a run missed while the bot was down posts
when it comes back, until week N+1 ends. After that it is stale: recorded once (a `stale` row)
and logged, never posted.

Exactly once: the unique (team, week) row is claimed (INSERT ... ON CONFLICT DO NOTHING)
before anything is posted, so a second runner, thread or instance does nothing. The post
carries message metadata naming the digest id. A claim left without a `slack_ts` for
STALE_CLAIM (a crash between claim and record) is taken over by the next pass, which first
looks for that metadata in the channel's history and records the message it finds instead of
posting again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.blocks import Block

from bot import ids, metrics
from bot.deps import Deps
from bot.digest import chart
from bot.digest.blocks import digest_blocks
from bot.digest.chart import ChartWeek
from bot.digest.content import (
    DigestContent,
    DigestText,
    Week,
    build_digest,
    digest_moment,
    render_digest,
    team_zone,
)
from db import agents as roster_store
from db import digest as digest_store
from db import digest_runs
from db.models import Team

log = logging.getLogger("followup.digest")

STALE_CLAIM = timedelta(minutes=15)
"""A claim with no message after this long is a crashed run: reconcile, then post."""
PERMANENT_ERRORS = frozenset(
    {"channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "account_inactive"}
)
"""Slack errors retrying will not fix: the row becomes `failed` until an operator re-runs it."""


@dataclass
class DigestReport:
    """What one pass did: "<team slug> <week>" per digest, by what happened to it."""

    posted: list[str] = field(default_factory=list)
    reconciled: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    chart_failed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [
            f"{name.replace('_', ' ')} {', '.join(items)}"
            for name, items in vars(self).items()
            if items
        ]
        return "digest: " + ("; ".join(parts) if parts else "nothing due")


@dataclass(frozen=True)
class Composed:
    content: DigestContent
    text: DigestText
    blocks: list[Block]


def channel_for(deps: Deps, team: Team) -> str | None:
    """The team's digest channel; `DIGEST_CHANNEL` for a team that set none (the default)."""
    return team.digest_channel or deps.settings.digest_channel


def compose(deps: Deps, team: Team, week: Week, as_of: datetime, digest_id: int | None) -> Composed:
    """Build, render and lay out one digest (buttons only when it has a digest row)."""
    with deps.session_factory() as session:
        content = build_digest(session, team, week, as_of)
    text = render_digest(deps.renderer, content)
    return Composed(content, text, digest_blocks(text, digest_id))


def digest_due_pass(deps: Deps) -> DigestReport:
    """Post every team's digest that is due and not posted yet; idempotent, safe in parallel."""
    report = DigestReport()
    now = deps.clock.now()
    with deps.session_factory() as session:
        teams = digest_store.teams(session)
        active = {t.id for t in teams if digest_store.team_has_cases(session, t.id)}
    for team in teams:
        if team.id not in active or channel_for(deps, team) is None:
            continue
        try:
            _team_pass(deps, team, now, report)
        except Exception:  # one team's failure must not keep the others' digests back
            log.exception("digest for team %s failed; the next pass retries", team.slug)
            report.failed.append(team.slug)
    if any(vars(report).values()):
        log.info("%s", report.summary())
    return report


def _team_pass(deps: Deps, team: Team, now: datetime, report: DigestReport) -> None:
    this_week = Week.containing(now, team_zone(team))
    covered = this_week.shifted(-1)
    _mark_stale(deps, team, covered.shifted(-1), now, report)
    due = digest_moment(covered, team.digest_day, team.digest_time)
    if now >= due and team.created_at < covered.end:
        post_week(deps, team, covered, report)


def _mark_stale(
    deps: Deps, team: Team, too_late: Week, now: datetime, report: DigestReport
) -> None:
    """`too_late`'s window closed when this week began: never posted means stale (only when
    the team's digests ran before that week; a first start has nothing to catch up)."""
    if team.created_at >= too_late.end:
        return
    with deps.session_factory() as session:
        if digest_runs.find(session, team.id, too_late.label) is not None:
            return
        if not digest_runs.has_digests_before(session, team.id, too_late.label):
            return
    with deps.session_factory.begin() as session:
        recorded = digest_runs.mark_stale(session, team.id, too_late.label, now)
    if recorded:
        log.warning(
            "digest for team %s week %s was not posted by the end of the following week "
            "(the bot was down?): skipped as stale",
            team.slug,
            too_late.label,
        )
        report.stale.append(f"{team.slug} {too_late.label}")


def post_week(
    deps: Deps, team: Team, week: Week, report: DigestReport, *, force: bool = False
) -> str:
    """Claim and post `team`'s digest of `week`; the status: posted, reconciled, already
    posted, busy (another runner has it), failed, stale. `force` re-runs failed/stale rows."""
    channel = channel_for(deps, team)
    if channel is None:
        return "no channel"
    name = f"{team.slug} {week.label}"
    now = deps.clock.now()
    recover_since: datetime | None = None
    with deps.session_factory.begin() as session:
        digest_id = digest_runs.claim(session, team.id, week.label, deps.worker, now)
        if digest_id is None:
            existing = digest_runs.find(session, team.id, week.label)
            assert existing is not None
            if existing.state == "posted":
                return "already posted"
            if existing.state != "claimed" and not force:
                return existing.state
            states = ("claimed", "failed", "stale") if force else ("claimed",)
            cutoff = now - STALE_CLAIM if existing.state == "claimed" else now + timedelta(1)
            if not digest_runs.take_over(
                session, existing.id, deps.worker, now, claimed_before=cutoff, states=states
            ):
                return "busy"
            digest_id = existing.id
            if existing.state == "claimed":
                recover_since = existing.claimed_at
    composed = compose(deps, team, week, now, digest_id)
    summary = composed.content.summary()
    if recover_since is not None:
        try:
            found = _posted_ts(deps, channel, digest_id)
        except SlackApiError as error:
            # Without the history we cannot tell whether it went out: wait, never risk twice.
            log.warning("digest %s: cannot read the channel history (%s)", name, _code(error))
            report.failed.append(name)
            return "failed"
        if found is not None:
            with deps.session_factory.begin() as session:
                digest_runs.mark_posted(session, digest_id, channel, found, now, summary)
            report.reconciled.append(name)
            return "reconciled"
    with deps.session_factory() as session:
        if not digest_runs.still_ours(session, digest_id, deps.worker, now):
            return "busy"
    try:
        response = deps.client.chat_postMessage(
            channel=channel,
            text=composed.text.as_text(),
            blocks=[b.to_dict() for b in composed.blocks],
            metadata={
                "event_type": ids.METADATA_DIGEST,
                "event_payload": {"digest_id": digest_id, "week": week.label},
            },
            unfurl_links=False,
            unfurl_media=False,
        )
    except SlackApiError as error:
        code = _code(error)
        log.warning("digest %s: chat.postMessage failed: %s", name, code)
        if code in PERMANENT_ERRORS:
            with deps.session_factory.begin() as session:
                digest_runs.mark_failed(session, digest_id, code)
        report.failed.append(name)
        metrics.DIGEST_POSTS.labels("failed").inc()
        return "failed"
    posted_channel, ts = str(response["channel"]), str(response["ts"])
    with deps.session_factory.begin() as session:
        digest_runs.mark_posted(session, digest_id, posted_channel, ts, deps.clock.now(), summary)
    report.posted.append(name)
    metrics.DIGEST_POSTS.labels("posted").inc()
    if not _upload_chart(deps, posted_channel, composed.content):
        report.chart_failed.append(name)
        with deps.session_factory.begin() as session:
            digest_runs.set_summary(session, digest_id, {**summary, "chart": "failed"})
    return "posted"


def chart_filename(content: DigestContent) -> str:
    return f"followup-digest-{content.team_slug}-{content.week.label}.png"


def chart_weeks(content: DigestContent) -> list[ChartWeek]:
    """The chart's input (bot/digest/chart.py's `ChartWeek`) from the digest's own figures:
    per week, the follow-ups due by how they ended and the answers by whether they held."""
    return [
        ChartWeek(
            start=point.monday,
            end=point.monday + timedelta(days=6),
            on_time=point.on_time,
            late=point.late,
            missed=point.missed,
            held=point.held,
            not_held=point.not_held,
        )
        for point in content.trend
    ]


def chart_png(content: DigestContent) -> bytes | None:
    """The chart as PNG; None when the team has no data for the period (no chart posted)."""
    return chart.chart_png(chart_weeks(content), f"{content.team_name}: the last five weeks")


def _upload_chart(deps: Deps, channel: str, content: DigestContent) -> bool:
    """Upload the trend chart after the digest; a failure leaves the (complete) text alone."""
    try:
        png = chart_png(content)
        if png is None:
            return True
        deps.client.files_upload_v2(
            channel=channel,
            file=png,
            filename=chart_filename(content),
            title=f"Follow-ups per week to {content.week.period()}",
            alt_txt=chart.describe(chart_weeks(content)),
            initial_comment=deps.renderer.render(
                "digest/chart_comment.j2", {"team": content.team_name}
            ).strip(),
        )
    except (SlackClientError, OSError, ValueError) as error:
        log.warning(
            "digest %s %s: chart upload failed (%s); the digest text stands on its own",
            content.team_slug,
            content.week.label,
            _code(error) if isinstance(error, SlackApiError) else type(error).__name__,
        )
        return False
    return True


def _code(error: SlackApiError) -> str:
    return str(error.response.get("error", "")) if error.response is not None else "unknown"


def _posted_ts(deps: Deps, channel: str, digest_id: int) -> str | None:
    """The ts of a message in `channel` whose metadata names `digest_id`, if one was posted."""
    cursor: str | None = None
    for _ in range(5):  # a crashed run's post is among the channel's most recent messages
        response = deps.client.conversations_history(
            channel=channel, limit=200, include_all_metadata=True, cursor=cursor
        )
        messages: list[dict[str, Any]] = response.get("messages", [])
        for message in messages:
            metadata: dict[str, Any] = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if (
                metadata.get("event_type") == ids.METADATA_DIGEST
                and payload.get("digest_id") == digest_id
            ):
                return str(message["ts"])
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return None


def preview(deps: Deps, team: Team, week: Week | None = None) -> Composed:
    """The digest of `week` (default: this week so far) without posting or claiming anything."""
    now = deps.clock.now()
    week = week or Week.containing(now, team_zone(team))
    return compose(deps, team, week, now, None)


def team_of_user(deps: Deps, slack_user_id: str) -> Team | None:
    """The team of a known agent; None for anyone else (nobody sees another team's digest)."""
    with deps.session_factory() as session:
        agent = roster_store.by_slack_id(session, slack_user_id)
        return agent.team if agent is not None else None
