"""An agent's own queue: `/followup due` and the App Home tab."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.cases import SOURCE_NAMES
from bot.commands import Invocation, Reply
from bot.deps import Deps
from bot.digest.figures import period_figures
from bot.nudge.blocks import nudge_message
from bot.nudge.items import Lookups, queue_items
from bot.slack.text import escaped_short, shorten
from db import agents as roster_store
from db import nudge_rows
from db import writebacks as writeback_store
from db.models import FollowUp, Writeback
from db.nudge_rows import NudgeRow
from db.outcomes import team_attention

UPCOMING_SHOWN = 10


@dataclass(frozen=True)
class _Queue:
    due: list[NudgeRow]
    """Due now or overdue, oldest first."""
    upcoming: list[NudgeRow]
    lookups: Lookups


def _agent_rows(deps: Deps, user_id: str) -> _Queue:
    """The Slack user's due and upcoming follow-ups."""
    now = deps.clock.now()
    with deps.session_factory() as session:
        agent = roster_store.by_slack_id(session, user_id)
        if agent is None:
            return _Queue([], [], Lookups())
        rows = nudge_rows.open_for_agent(session, agent.id)
        due = [f for f in rows if f.state == "sent" or (f.state != "planned" and f.due_at <= now)]
        upcoming = [f for f in rows if f.state == "planned" and f.due_at > now]
        return _Queue(due, upcoming, Lookups.of(session, due))


def due_reply(deps: Deps, user_id: str) -> Reply:
    """`/followup due`: due and overdue follow-ups with their buttons, or a calm all-clear."""
    queue = _agent_rows(deps, user_id)
    due, upcoming = queue.due, queue.upcoming
    now = deps.clock.now()
    if not due:
        nxt = f" Next one: {_when(upcoming[0].due_at)}." if upcoming else ""
        return Reply(text=f"Nothing due right now.{nxt}")
    items = queue_items(deps, due, now, queue.lookups)
    message = nudge_message(items, now, cap=deps.policy.batch_cap)
    return Reply(text=message.text, blocks=list(message.blocks))


def due_command(call: Invocation) -> Reply:
    return due_reply(call.deps, call.user_id)


def home_view(deps: Deps, user_id: str) -> View:
    """The App Home tab: due now (with actions), then what is coming up."""
    queue = _agent_rows(deps, user_id)
    due, upcoming = queue.due, queue.upcoming
    now = deps.clock.now()
    blocks: list[Block] = [HeaderBlock(text="Your follow-ups")]
    if due:
        items = queue_items(deps, due, now, queue.lookups)
        message = nudge_message(items, now, cap=deps.policy.batch_cap)
        blocks += list(message.blocks)[:80]
    else:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text="Nothing is due right now. New follow-ups appear here and in your DMs."
                )
            )
        )
    blocks += _last_30_days(deps, user_id, now)
    blocks += _lead_section(deps, user_id, now)
    blocks.append(DividerBlock())
    blocks.append(HeaderBlock(text="Coming up"))
    if upcoming:
        for followup in upcoming[:UPCOMING_SHOWN]:
            blocks.append(
                SectionBlock(
                    text=MarkdownTextObject(
                        text=f"*{escaped_short(followup.subject, 200)}*\n"
                        f"{escaped_short(followup.why, 200)} · due {_when(followup.due_at)}"
                    )
                )
            )
        if len(upcoming) > UPCOMING_SHOWN:
            blocks.append(
                ContextBlock(
                    elements=[MarkdownTextObject(text=f"and {len(upcoming) - UPCOMING_SHOWN} more")]
                )
            )
    else:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text="Nothing planned yet.")]))
    return View(type="home", blocks=blocks[:100])


def _last_30_days(deps: Deps, user_id: str, now: datetime) -> list[Block]:
    """The agent's own figures: private to them, never a ranking."""
    with deps.session_factory() as session:
        agent = roster_store.by_slack_id(session, user_id)
        if agent is None:
            return []
        figures = period_figures(session, now - timedelta(days=30), now, agent_id=agent.id)
    due, hold = figures.due, figures.hold
    on_time = f"{due.on_time} of {due.due} due" if due.due else "none due"
    held = f"{hold.held} of {hold.answered}" if hold.answered else "no answers yet"
    return [
        DividerBlock(),
        HeaderBlock(text="Your last 30 days"),
        SectionBlock(
            fields=[
                MarkdownTextObject(text=f"*Closed on time*\n{on_time}"),
                MarkdownTextObject(text=f"*Outcomes recorded*\n{hold.recorded}"),
                MarkdownTextObject(text=f"*Resolutions held*\n{held}"),
                MarkdownTextObject(
                    text=f"*Late · missed · open*\n{due.late} · {due.missed} · {due.still_open}"
                ),
            ]
        ),
    ]


def _lead_section(deps: Deps, user_id: str, now: datetime) -> list[Block]:
    """For a lead: the team's overdue follow-ups and escalations still waiting."""
    with deps.session_factory() as session:
        lead = roster_store.by_slack_id(session, user_id)
        if lead is None or not lead.is_lead or lead.team_id is None:
            return []
        overdue, escalated = team_attention(session, lead.team_id, now)
        lines_overdue = [_line(f) for f in overdue]
        lines_escalated = [_line(f) for f in escalated]
        lines_failed = [
            _failed_line(w) for w in writeback_store.failed_for_team(session, lead.team_id)
        ]
        team_name = lead.team.name if lead.team is not None else ""
    title = f"Your team: {team_name}" if team_name else "Your team"
    blocks: list[Block] = [DividerBlock(), HeaderBlock(text=shorten(title, 150))]
    for title, lines in (("Overdue", lines_overdue), ("Escalations waiting", lines_escalated)):
        body = "\n".join(lines) if lines else "_None._"
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text=shorten(f"*{title}*\n{body}", 3000)))
        )
    if lines_failed:  # shown only while some are failed: nothing to act on otherwise
        text = "*Not noted in the helpdesk* (add them by hand, or have them retried)\n"
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text=shorten(text + "\n".join(lines_failed), 3000))
            )
        )
    return blocks


def _failed_line(row: Writeback) -> str:
    what = "note and reopen (the note may be there: check first)" if row.reopen else "note"
    vendor = SOURCE_NAMES.get(row.source, row.source)
    return (
        f"• {escaped_short(vendor, 40)} ticket #{escaped_short(row.ticket, 60)}: {what} failed "
        f"({escaped_short(row.last_error or 'failed', 120)}) · "
        f"`followup writeback retry {row.id}`"
    )


def _line(followup: FollowUp) -> str:
    case = followup.case
    who = f"<@{followup.assignee.slack_user_id}>" if followup.assignee else "unassigned"
    return (
        f"• *{escaped_short(case.subject, 120)}* ({escaped_short(case.source, 40)} "
        f"#{escaped_short(case.external_id, 60)}) · {who} · due {_when(followup.due_at)}"
    )


def publish_home(deps: Deps, user_id: str) -> None:
    deps.client.views_publish(user_id=user_id, view=home_view(deps, user_id))


def _when(moment: datetime) -> str:
    stamp = int(moment.timestamp())
    fallback = moment.strftime("%a %d %b %H:%M UTC")
    # Slack renders the date in the reader's own time zone.
    return f"<!date^{stamp}^{{date_short_pretty}} {{time}}|{fallback}>"
