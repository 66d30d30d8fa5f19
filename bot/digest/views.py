"""The digest's Slack surfaces besides the post: drill-down modals and `/followup digest`."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.views import View

from bot.commands import Invocation, Reply
from bot.deps import Deps
from bot.digest.blocks import (
    DRILL_CAUSES,
    DRILL_NOT_HELD,
    MODAL_ITEMS,
    drilldown_view,
    parse_drilldown_value,
)
from bot.digest.content import Week, team_zone, trim_quote
from bot.digest.post import preview, team_of_user
from bot.people.roster import UNKNOWN_CALLER, known_caller
from bot.slack.text import escape
from db import digest as digest_store
from db import digest_runs
from db.digest import CaseRow
from db.models import Team


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
        start, end = week.start, week.end
        export = (
            f"The full list: `followup digest --team {team.slug} --week {week.label} --format csv`."
        )
        if kind == DRILL_NOT_HELD:
            rows = digest_store.outcome_cases(
                session, team.id, start, end, result="not_resolved", limit=MODAL_ITEMS
            )
            total = int((digest.summary.get("results") or {}).get("not_resolved", len(rows)))
            total = max(total, len(rows))
            intro = (
                f"*{total}* {'resolution' if total == 1 else 'resolutions'} did not hold in "
                f"{week.label} ({week.period()}): the customer said it was still not right."
            )
            items = [
                _item(deps, r, f"Root cause: {r.root_cause}" if r.root_cause else None, True)
                for r in rows
            ]
        elif kind == DRILL_CAUSES:
            causes = digest_store.top_root_causes(session, team.id, start, end, limit=20)
            total = sum(count for _, count in causes)
            rows = digest_store.outcome_cases(
                session, team.id, start, end, with_root_cause=True, limit=MODAL_ITEMS
            )
            lines = "\n".join(f"• {escape(name)}: {count}" for name, count in causes)
            intro = (
                f"Root causes recorded in {week.label} ({week.period()}):\n{lines}"
                if causes
                else f"No root causes were recorded in {week.label}."
            )
            items = [_item(deps, r, f"Root cause: {r.root_cause}", True) for r in rows]
        else:
            total = digest_store.count_overdue(session, team.id, now)
            rows = digest_store.overdue_cases(session, team.id, now, limit=MODAL_ITEMS)
            missed = digest_store.count_missed(session, team.id, start, end)
            intro = (
                f"*{total}* follow-ups are overdue now (sent, no outcome, past their reminder)."
                f" {missed} missed the cut-off in {week.label}."
            )
            items = [_item(deps, r, f"Due {_day(r.due_at, tz)}", False) for r in rows]
    return drilldown_view(kind, intro, items, max(total - len(items), 0), export)


def digest_command(call: Invocation) -> Reply:
    """`/followup digest [last]`: a private preview of this week's digest so far (or last's)."""
    words = [w.lower() for w in call.args]
    if words and words != ["last"]:
        return Reply(
            text="Usage: `/followup digest` (this week so far) or `/followup digest last`."
        )
    if known_caller(call.deps, call.user_id) is None:
        return Reply(text=UNKNOWN_CALLER)
    team = team_of_user(call.deps, call.user_id)
    if team is None:
        return Reply(
            text="You are not in a team yet: your team's digest shows here once a case of "
            "yours has arrived."
        )
    week = Week.containing(call.deps.clock.now(), team_zone(team))
    if words == ["last"]:
        week = week.shifted(-1)
    composed = preview(call.deps, team, week)
    return Reply(text=composed.text.as_text(), blocks=composed.blocks)
