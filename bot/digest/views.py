"""The digest's Slack surfaces besides the post: drill-down modals and `/followup digest`."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.views import View
from sqlalchemy.orm import Session

from bot.commands import Invocation, Reply
from bot.deps import Deps
from bot.digest.blocks import (
    DRILL_CAUSES,
    DRILL_COMING_BACK,
    DRILL_NOT_HELD,
    MODAL_ITEMS,
    drilldown_view,
    parse_drilldown_value,
)
from bot.digest.causes import RECENT_WEEKS, TREND_WEEKS, CauseTrend
from bot.digest.content import Week, team_cause_trends, team_zone, trim_quote
from bot.digest.post import preview, team_of_user
from bot.people.roster import UNKNOWN_CALLER, known_caller
from bot.slack.text import escape
from db import digest as digest_store
from db import digest_runs
from db.digest import CaseRow
from db.models import Team

TRENDS_SHOWN = 15
"""Causes listed by `/followup digest trends` (this week's and the recent first)."""


class DrilldownGone(Exception):
    """The button names a digest that no longer exists."""


def _day(moment: datetime, tz: ZoneInfo) -> str:
    return f"{moment.astimezone(tz):%a %-d %b}"


def _item(deps: Deps, row: CaseRow, detail: str | None, quote: bool) -> str:
    said = trim_quote(row.customer_said) if quote and row.customer_said else None
    return deps.renderer.render(
        "digest/drilldown_item.j2",
        {
            "reference": row.reference,
            "subject": trim_quote(row.subject or "(no subject)", 150),
            "detail": detail,
            "said": said,
        },
    ).strip()


def drilldown_modal(deps: Deps, value: str) -> View:
    """The modal a digest button opens: the cases behind one figure (capped, escaped)."""
    digest_id, kind = parse_drilldown_value(value)
    now = deps.clock.now()
    with deps.session_factory() as session:
        digest = digest_runs.digest_by_id(session, digest_id)
        team = session.get(Team, digest.team_id) if digest is not None else None
        if digest is None or team is None:
            raise DrilldownGone(value)
        tz = team_zone(team)
        week = Week.parse(digest.week, tz)
        export = (
            f"The full list: `followup digest --team {team.slug} --week {week.label} --format csv`."
        )
        if kind == DRILL_NOT_HELD:
            intro, items, total = _not_held(deps, session, team, week)
        elif kind == DRILL_CAUSES:
            intro, items, total = _causes(deps, session, team, week)
        elif kind == DRILL_COMING_BACK:
            intro, items, total = _coming_back(deps, session, team, week)
        else:
            total = digest_store.count_overdue(session, team.id, now)
            rows = digest_store.overdue_cases(session, team.id, now, limit=MODAL_ITEMS)
            missed = digest_store.count_missed(session, team.id, week.start, week.end)
            intro = (
                f"*{total}* follow-ups are overdue now (sent, no outcome, past their reminder)."
                f" {missed} missed the cut-off in {week.label}."
            )
            items = [_item(deps, r, f"Due {_day(r.due_at, tz)}", False) for r in rows]
    return drilldown_view(kind, intro, items, max(total - len(items), 0), export)


Listed = tuple[str, list[str], int]
"""A modal's intro, its rendered items, and how many cases there are in all."""


def _not_held(deps: Deps, session: Session, team: Team, week: Week) -> Listed:
    [hold] = digest_store.hold_counts(session, [week.start, week.end], team_id=team.id)
    rows = digest_store.not_held_cases(session, team.id, week.start, week.end, MODAL_ITEMS)
    total = max(hold.not_held, len(rows))
    intro = (
        f"*{total}* {'resolution' if total == 1 else 'resolutions'} did not hold in "
        f"{week.label} ({week.period()}), by root cause: {hold.not_held - hold.reopened} still "
        f"not right, {hold.reopened} reopened in the helpdesk after the follow-up said resolved."
    )
    items = [_item(deps, r, f"Root cause: {r.root_cause or 'none recorded'}", True) for r in rows]
    return intro, items, total


def _causes(deps: Deps, session: Session, team: Team, week: Week) -> Listed:
    trends = team_cause_trends(session, team, week, week.end)
    named = [t for t in trends if t.this_week]
    rows = digest_store.cause_cases(
        session, team.id, week.start, week.end, [t.name for t in named], MODAL_ITEMS
    )
    lines = "\n".join(f"• {escape(t.name)}: {t.this_week} ({t.status} over 8 weeks)" for t in named)
    intro = (
        f"Root causes recorded in {week.label} ({week.period()}):\n{lines}"
        if named
        else f"No root causes were recorded in {week.label}."
    )
    items = [_item(deps, r, f"Root cause: {r.root_cause}", True) for r in rows]
    return intro, items, sum(t.this_week for t in named)


def _coming_back(deps: Deps, session: Session, team: Team, week: Week) -> Listed:
    """The causes named in 3 or more of the last 4 weeks, and their cases of those weeks."""
    since = week.shifted(-(RECENT_WEEKS - 1))
    trends = team_cause_trends(session, team, week, week.end)
    back = [t for t in trends if t.keeps_coming_back]
    rows = digest_store.cause_cases(
        session, team.id, since.start, week.end, [t.name for t in back], MODAL_ITEMS
    )
    lines = "\n".join(
        f"• {escape(t.name)}: {sum(t.weekly[-RECENT_WEEKS:])} cases in "
        f"{sum(1 for n in t.weekly[-RECENT_WEEKS:] if n)} of the last 4 weeks"
        for t in back
    )
    intro = (
        f"Root causes named in 3 or more of the 4 weeks up to {week.label}:\n{lines}"
        if back
        else f"No root cause was named in 3 or more of the 4 weeks up to {week.label}."
    )
    items = [
        _item(deps, r, f"Root cause: {r.root_cause} · {_day(r.recorded_at, team_zone(team))}", True)
        if r.recorded_at
        else _item(deps, r, f"Root cause: {r.root_cause}", True)
        for r in rows
    ]
    return intro, items, sum(sum(t.weekly[-RECENT_WEEKS:]) for t in back)


def trends_text(content_weeks: list[Week], trends: list[CauseTrend]) -> str:
    """The 8-week root-cause table as mrkdwn: a monospaced grid, one row per cause."""
    header = "".join(f"{w.monday:%d%b}"[:5].rjust(6) for w in content_weeks)
    rows = []
    for trend in trends[:TRENDS_SHOWN]:
        name = trim_quote(trend.name, 24).ljust(24)
        counts = "".join(str(n).rjust(6) for n in trend.weekly)
        mark = " *" if trend.keeps_coming_back else ""
        rows.append(f"{name}{counts}  {trend.status}{mark}")
    table = "\n".join([" " * 24 + header, *rows])
    return "```\n" + escape(table) + "\n```"


def trends_reply(call: Invocation, team: Team) -> Reply:
    """`/followup digest trends`: the team's root causes over the last 8 weeks (private)."""
    week = Week.containing(call.deps.clock.now(), team_zone(team))
    weeks = [week.shifted(-n) for n in range(TREND_WEEKS - 1, -1, -1)]
    with call.deps.session_factory() as session:
        trends = team_cause_trends(session, team, week, call.deps.clock.now())
    title = (
        f"*What keeps breaking, {escape(team.name)}*: root causes per week, "
        f"{weeks[0].period()} to {week.period()} (this week so far)"
    )
    if not trends:
        return Reply(text=f"{title}\nNo root causes were recorded in these 8 weeks.")
    legend = (
        "new: not in the 4 weeks before; rising / fading: at least 1.5x / at most half of "
        "those weeks; * keeps coming back: in 3 or more of the last 4 weeks."
    )
    more = f" ({len(trends) - TRENDS_SHOWN} more not shown)" if len(trends) > TRENDS_SHOWN else ""
    text = f"{title}\n{trends_text(weeks, trends)}\n{legend}{more}"
    return Reply(text=text[:3000])


def digest_command(call: Invocation) -> Reply:
    """`/followup digest [last|trends]`: a private preview of this week's digest so far (or
    last week's), or the team's 8-week root-cause table; only for people the bot knows, and
    only their own team (replies are ephemeral: handlers/commands/followup.py)."""
    words = [w.lower() for w in call.args]
    if words and words not in (["last"], ["trends"]):
        return Reply(
            text="Usage: `/followup digest` (this week so far), `/followup digest last`, or "
            "`/followup digest trends` (root causes over the last 8 weeks)."
        )
    if known_caller(call.deps, call.user_id) is None:
        return Reply(text=UNKNOWN_CALLER)
    team = team_of_user(call.deps, call.user_id)
    if team is None:
        return Reply(
            text="You are not in a team yet: your team's digest shows here once a case of "
            "yours has arrived."
        )
    if words == ["trends"]:
        return trends_reply(call, team)
    week = Week.containing(call.deps.clock.now(), team_zone(team))
    if words == ["last"]:
        week = week.shifted(-1)
    composed = preview(call.deps, team, week)
    return Reply(text=composed.text.as_text(), blocks=composed.blocks)
