"""An agent's own queue: `/followup due` and the App Home tab."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View
from sqlalchemy import select

from bot.blocks import nudge_message
from bot.commands import Invocation, Reply
from bot.deps import Deps
from bot.nudges import nudge_item
from bot.slack_text import escaped_short
from db import followups as followup_store
from db.models import Agent, FollowUp

UPCOMING_SHOWN = 10


def _agent_rows(deps: Deps, user_id: str) -> tuple[list[FollowUp], list[FollowUp]]:
    """(due now or overdue, upcoming) follow-ups of the Slack user, oldest first."""
    now = deps.clock.now()
    with deps.session_factory() as session:
        agent = session.scalar(select(Agent).where(Agent.slack_user_id == user_id))
        if agent is None:
            return [], []
        rows = followup_store.open_for_agent(session, agent.id)
        for row in rows:  # load what the builders read before the session closes
            _ = row.case.team, row.assignee, row.case.owner
        due = [f for f in rows if f.state == "sent" or (f.state != "planned" and f.due_at <= now)]
        upcoming = [f for f in rows if f.state == "planned" and f.due_at > now]
        session.expunge_all()
    return due, upcoming


def due_reply(deps: Deps, user_id: str) -> Reply:
    """`/followup due`: due and overdue follow-ups with their buttons, or a calm all-clear."""
    due, upcoming = _agent_rows(deps, user_id)
    now = deps.clock.now()
    if not due:
        nxt = f" Next one: {_when(upcoming[0].due_at)}." if upcoming else ""
        return Reply(text=f"Nothing due right now.{nxt}")
    message = nudge_message([nudge_item(deps, f, now) for f in due], now, cap=deps.policy.batch_cap)
    return Reply(text=message.text, blocks=list(message.blocks))


def due_command(call: Invocation) -> Reply:
    return due_reply(call.deps, call.user_id)


def home_view(deps: Deps, user_id: str) -> View:
    """The App Home tab: due now (with actions), then what is coming up."""
    due, upcoming = _agent_rows(deps, user_id)
    now = deps.clock.now()
    blocks: list[Block] = [HeaderBlock(text="Your follow-ups")]
    if due:
        message = nudge_message(
            [nudge_item(deps, f, now) for f in due], now, cap=deps.policy.batch_cap
        )
        blocks += list(message.blocks)[:80]
    else:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text="Nothing is due right now. New follow-ups appear here and in your DMs."
                )
            )
        )
    blocks.append(DividerBlock())
    blocks.append(HeaderBlock(text="Coming up"))
    if upcoming:
        for followup in upcoming[:UPCOMING_SHOWN]:
            case = followup.case
            blocks.append(
                SectionBlock(
                    text=MarkdownTextObject(
                        text=f"*{escaped_short(case.subject, 200)}*\n"
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


def publish_home(deps: Deps, user_id: str) -> None:
    deps.client.views_publish(user_id=user_id, view=home_view(deps, user_id))


def _when(moment: datetime) -> str:
    stamp = int(moment.timestamp())
    fallback = moment.strftime("%a %d %b %H:%M UTC")
    # Slack renders the date in the reader's own time zone.
    return f"<!date^{stamp}^{{date_short_pretty}} {{time}}|{fallback}>"
