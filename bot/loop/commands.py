"""`/followup done <case>`, `/followup snooze <case> <when>` and `/followup stats`."""

from __future__ import annotations

import re
from datetime import date, timedelta

from bot.commands import Invocation, Reply
from bot.digest.figures import due_lines, hold_text, period_figures
from bot.loop.access import Refused, prepare_modal
from bot.loop.effects import after_commit
from bot.loop.snooze import apply_snooze
from bot.loop.views import ModalMeta
from bot.people.roster import UNKNOWN_CALLER
from bot.slack.text import escape
from db import agents as roster_store
from db import cases as store
from db.outcomes import open_followup_for_case

SNOOZE_WORDS = {
    "later": "later_today",
    "today": "later_today",
    "morning": "next_morning",
    "tomorrow": "next_day",
    "next-day": "next_day",
    "3d": "three_days",
    "3days": "three_days",
}
SNOOZE_HELP = (
    "Say when: `later`, `morning`, `tomorrow`, `3d`, or a date like `2026-12-01`. "
    "Example: `/followup snooze zendesk:4821 tomorrow`."
)


def _followup_id(call: Invocation, usage: str) -> int | Reply:
    if not call.args:
        return Reply(
            text=f"Which case? Usage: `{usage}` (the reference is in the DM, e.g. `zendesk:4821`)."
        )
    reference = call.args[0]
    with call.deps.session_factory() as session:
        case = store.find_case(session, reference)
        if case is None:
            return Reply(
                text=f"I can't find a case `{escape(reference)}`. Use the reference "
                "shown in the DM, like `zendesk:4821`."
            )
        followup = open_followup_for_case(session, case.id)
        if followup is None:
            return Reply(text=f"`{escape(reference)}` has no follow-up waiting for an outcome.")
        return followup.id


def done_command(call: Invocation) -> Reply | None:
    """Open the outcome modal for a case, as the DM's "Followed up" button does."""
    found = _followup_id(call, "/followup done <case>")
    if isinstance(found, Reply):
        return found
    try:
        meta = ModalMeta(found, surface="command")
        view = prepare_modal(call.deps, "done", meta, call.user_id)
    except Refused as refused:
        return Reply(text=str(refused))
    call.deps.client.views_open(trigger_id=call.trigger_id, view=view)
    return None


def snooze_command(call: Invocation) -> Reply:
    """Snooze a case's follow-up to a working moment."""
    found = _followup_id(call, "/followup snooze <case> <when>")
    if isinstance(found, Reply):
        return found
    if len(call.args) < 2:
        return Reply(text=SNOOZE_HELP)
    word = call.args[1].lower()
    option, picked = SNOOZE_WORDS.get(word), None
    if option is None and re.fullmatch(r"\d{4}-\d{2}-\d{2}", word):
        try:
            option, picked = "pick_date", date.fromisoformat(word)
        except ValueError:
            return Reply(text=f"`{escape(word)}` is not a real date. {SNOOZE_HELP}")
    if option is None:
        return Reply(text=f"I don't understand `{escape(word)}`. {SNOOZE_HELP}")
    meta = ModalMeta(found, surface="command")
    errors, done = apply_snooze(call.deps, call.user_id, meta, option, picked)
    if errors:
        return Reply(text=next(iter(errors.values())))
    assert done is not None
    after_commit(call.deps, done, (None, None))
    return Reply(text=done.confirmation)


def stats_command(call: Invocation) -> Reply:
    """`/followup stats [me|team] [week|month]`: loops closed, on time, resolutions held.

    `team` is always the caller's own team, and only for someone the bot knows."""
    words = [w.lower() for w in call.args]
    unknown = [w for w in words if w not in ("me", "team", "week", "month")]
    if unknown:
        return Reply(
            text=f"I don't know `{escape(unknown[0])}` here. Usage: "
            "`/followup stats [me|team] [week|month]`."
        )
    scope = "team" if "team" in words else "me"
    days = 30 if "month" in words else 7
    now = call.deps.clock.now()
    with call.deps.session_factory() as session:
        agent = roster_store.by_slack_id(session, call.user_id)
        if agent is None and scope == "team":  # a team's figures only for its own people
            return Reply(text=UNKNOWN_CALLER)
        if agent is None or (scope == "team" and agent.team_id is None):
            return Reply(text="No follow-ups for you yet: figures appear once one reaches you.")
        figures = period_figures(
            session,
            now - timedelta(days=days),
            now,
            agent_id=agent.id if scope == "me" else None,
            team_id=agent.team_id if scope == "team" else None,
        )
        team_name = agent.team.name if agent.team is not None else None
    due, hold = figures.due, figures.hold
    whose = "Your" if scope == "me" or team_name is None else f"{escape(team_name)}:"
    text = (
        f"*{whose} last {days} days*\n"
        + "".join(f"• {line}\n" for line in due_lines(due))
        + f"• Outcomes recorded: {hold.recorded} (answers to earlier follow-ups included)\n"
        + f"• Resolutions that held: {hold_text(hold)}"
        + (f", {hold.reopened} reopened after the follow-up" if hold.reopened else "")
        + (f"; {hold.unhappy} resolved but unhappy" if hold.unhappy else "")
        + "\n"
    )
    return Reply(text=text)
