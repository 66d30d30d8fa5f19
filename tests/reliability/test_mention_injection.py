"""Mention injection, end to end: outside text carrying `<!channel>`, `<!here>`, `<@U…>` and
`<https://evil|click>` reaches every Slack surface as text, never as a live mention or link.

Outside text arrives three ways here: a helpdesk webhook (subject, customer, company,
resolution, team), a watched channel's "ticket solved" message, and a CSV import; and an agent
types it as the customer's words in the outcome modal. It is then shown by the nudge DM, the
reminder in its thread, the lead's overdue notice, the away agent's hand-off note, both App
Home tabs, the outcome modal, the escalation post and its "handled" update, the agent's
confirmation and the DM's update. Every
Web API call and response-URL post the sandbox recorded is read back: no mrkdwn text anywhere
holds a live token, and each surface shows the escaped text (so it was really exercised).

Elsewhere: `/followup` replies (tests/handlers/commands/test_command_escaping.py), the triage
post and the DM for every webhook adapter (tests/reliability/test_fuzz_webhooks.py), the digest
(tests/digest/test_digest.py), the log-case confirmation (tests/intake/test_log_case.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot import ids
from bot.dispatch.dispatcher import dispatch_pass
from bot.dispatch.overdue import overdue_pass
from bot.sandbox.waiting import wait_for
from db.models import Agent, FollowUp

HOSTILE = "<!channel> <!here> <@U0EVIL1> <https://evil.example|click>"
LIVE = re.compile(r"<!channel>|<!here>|<!everyone>|<@U0EVIL1[|>]|<https?://evil\.example")
ESCAPED = "&lt;!here&gt;"
FRIDAY_10_UTC = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MONDAY_10_UTC = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SHOWN = ("chat.postMessage", "chat.update", "chat.postEphemeral", "views.open", "views.update")
SHOWN += ("views.push", "views.publish")


def mrkdwn(value: Any, top: bool = True) -> Iterator[str]:
    """The strings Slack would parse for mentions and links: mrkdwn text objects, and the
    top-level `text` of a message (plain_text objects and input values are shown as typed)."""
    if isinstance(value, list):
        for item in value:
            yield from mrkdwn(item, False)
    elif isinstance(value, dict):
        kind = value.get("type")
        if kind == "plain_text":
            return
        text = value.get("text")
        message_text = top and value.get("mrkdwn") is not False
        if isinstance(text, str) and (kind == "mrkdwn" or message_text):
            yield text
        for key, item in value.items():
            if key in ("text", "initial_value", "private_metadata", "value") and not isinstance(
                item, dict | list
            ):
                continue
            if isinstance(item, str) and key in ("blocks", "view", "attachments"):
                item = json.loads(item)
            yield from mrkdwn(item, False)


def shown(bot: Any) -> dict[str, list[str]]:
    """Every mrkdwn string each surface received: '<method> <channel or user>' → strings."""
    found: dict[str, list[str]] = {}
    for call in bot.sandbox.calls:
        if call.method not in SHOWN or call.status != 200:
            continue
        # A DM is posted to the user id; Slack's answer names the IM it went to.
        where = call.response.get("channel") or call.args.get("channel") or ""
        where = where or call.args.get("user_id") or ""
        args = {k: v for k, v in call.args.items() if k != "metadata"}
        if isinstance(args.get("view"), str):
            args["view"] = json.loads(args["view"])
        if isinstance(args.get("blocks"), str):
            args["blocks"] = json.loads(args["blocks"])
        found.setdefault(f"{call.method} {where}".strip(), []).extend(mrkdwn(args))
    for response in bot.sandbox.responses:
        found.setdefault(f"response_url {response.user_id}", []).extend(mrkdwn(response.body))
    return found


def assert_no_live_mention(bot: Any) -> dict[str, list[str]]:
    surfaces = shown(bot)
    live = [
        f"{surface}: ...{text[max(m.start() - 40, 0) : m.end() + 40]}"
        for surface, texts in surfaces.items()
        for text in texts
        for m in LIVE.finditer(text)
    ]
    assert live == []
    return surfaces


def escaped_on(surfaces: dict[str, list[str]], prefix: str) -> bool:
    return any(ESCAPED in t for s, texts in surfaces.items() if s.startswith(prefix) for t in texts)


def followup_of(bot: Any) -> FollowUp:
    with bot.deps.session_factory() as session:
        row = session.scalars(select(FollowUp).order_by(FollowUp.id)).first()
        assert row is not None
        session.expunge(row)
        return row


def make_lead(bot: Any) -> None:
    from db.cases import agent_by_slack_id

    with bot.deps.session_factory.begin() as session:
        lead = agent_by_slack_id(session, "U0LEAD", bot.clock.now())
        lead.is_lead = True
        lead.email, lead.timezone = "grace@example.com", "Europe/London"
        ada = session.scalar(select(Agent).where(Agent.slack_user_id == "U0AGENT"))
        assert ada is not None
        ada.lead_id, lead.team_id = lead.id, ada.team_id


def test_a_hostile_case_from_a_webhook_is_text_on_every_surface_it_reaches(bot: Any) -> None:
    payload = {
        "case_id": "MI-1",
        "subject": f"Refund missing {HOSTILE}",
        "resolution": f"Re-issued the credit note {HOSTILE}",
        "closed_at": FRIDAY_10_UTC.isoformat(),
        "owner_email": "ada@example.com",
        "customer_name": f"Mallory {HOSTILE}",
        "company": f"Evil Corp {HOSTILE}",
        "team": f"Billing {HOSTILE}",
        "kind": "complaint",
        "url": "https://help.example.com/cases/1?a=1&b=<!channel>|x",
    }
    assert bot.post_generic(payload)[0] == 202
    bot.clock.set(MONDAY_10_UTC)
    assert dispatch_pass(bot.deps).delivered == 1  # the nudge DM
    make_lead(bot)
    sent = followup_of(bot)
    assert sent.remind_at is not None and sent.lead_at is not None
    bot.clock.set(sent.remind_at)
    assert overdue_pass(bot.deps).reminded == 1  # the reminder in the DM's thread
    bot.clock.set(sent.lead_at.replace(hour=15))  # 10:00 in New York, where Grace works
    assert overdue_pass(bot.deps).leads_told == 1  # the lead's private notice
    for user in ("U0AGENT", "U0LEAD"):  # App Home: the agent's queue, the lead's team view
        assert bot.driver.app_home_opened(user).status == 200
        assert wait_for(lambda u=user: bot.sandbox.home_view(u))
    dm = bot.sandbox.dm_messages("U0AGENT")[0]
    channel = bot.sandbox.im_channel("U0AGENT")
    clicked = bot.driver.block_action_from_message(
        "U0AGENT", channel, dm["ts"], ids.ACTION_FOLLOWED_UP, str(sent.id)
    )
    assert clicked.status == 200
    modal = wait_for(
        lambda: [
            v
            for v in bot.sandbox.views("U0AGENT", open_only=True)
            if v.get("callback_id") == ids.VIEW_OUTCOME
        ]
    )
    assert modal, "the outcome modal opened"
    answer = bot.driver.submit_view(
        "U0AGENT", modal[-1]["id"], {"result": "not_resolved", "said": f"Still wrong {HOSTILE}"}
    )
    assert answer.status == 200
    [post] = wait_for(lambda: bot.sandbox.messages("C0ESCALATE"))
    handled = bot.driver.block_action_from_message(
        "U0LEAD", "C0ESCALATE", post["ts"], ids.ACTION_ESCALATION_HANDLED, str(sent.id)
    )
    assert handled.status == 200
    [handled_modal] = wait_for(
        lambda: [
            v
            for v in bot.sandbox.views("U0LEAD", open_only=True)
            if v.get("callback_id") == ids.VIEW_ESCALATION_HANDLED
        ]
    )
    bot.driver.submit_view("U0LEAD", handled_modal["id"], {"did": f"Refunded it {HOSTILE}"})
    assert wait_for(
        lambda: "Handled by" in json.dumps(bot.sandbox.message("C0ESCALATE", post["ts"]))
    )

    surfaces = assert_no_live_mention(bot)
    lead_dm = bot.sandbox.im_channel("U0LEAD")
    for surface in (
        f"chat.postMessage {channel}",  # nudge DM and reminder
        f"chat.postMessage {lead_dm}",  # the lead's overdue notice
        "views.publish U0AGENT",
        "views.publish U0LEAD",
        "views.open",  # the outcome modal
        "chat.postMessage C0ESCALATE",
        "chat.update C0ESCALATE",
        f"chat.update {channel}",  # the DM updated after the outcome
    ):
        assert escaped_on(surfaces, surface), f"{surface} never showed the hostile text"
    reminder = [m for m in bot.sandbox.dm_messages("U0AGENT") if m.get("thread_ts")]
    assert reminder and ESCAPED in json.dumps(reminder)
    escalation = json.dumps(bot.sandbox.message("C0ESCALATE", post["ts"]))
    assert "Still wrong &lt;!channel&gt;" in escalation, "the customer's words, as text"
    assert "<@U0LEAD>" in escalation, "the bot's own mention of the lead stays live"


def test_a_hostile_solved_message_in_a_watched_channel_reaches_the_dm_as_text(bot: Any) -> None:
    bot.sandbox.add_channel("C0HELPDESK", "helpdesk")
    text = f"Ticket #4242 solved by <@U0AGENT>: Printer on fire {HOSTILE}"
    assert bot.driver.channel_message("C0HELPDESK", text, bot_id="B0HELPDESK").status == 200
    planned = wait_for(lambda: followup_of_or_none(bot))
    assert planned is not None
    bot.clock.set(planned.due_at)  # the message is stamped with today's real time
    assert dispatch_pass(bot.deps).delivered == 1
    surfaces = assert_no_live_mention(bot)
    channel = bot.sandbox.im_channel("U0AGENT")
    assert escaped_on(surfaces, f"chat.postMessage {channel}")
    # The bot never echoes into the watched channel.
    assert [c for c in bot.sandbox.calls_to("chat.postMessage") if c.args["channel"] in (
        "C0HELPDESK", "helpdesk")] == []  # fmt: skip


def test_hostile_rows_from_a_csv_import_reach_the_dm_as_text(bot: Any, tmp_path: Path) -> None:
    from bot.intake.backfill import import_csv

    hostile = HOSTILE.replace('"', "")
    csv = tmp_path / "cases.csv"
    csv.write_text(
        "case_id,subject,closed_at,owner_email,channel,kind,severity,b2b,tags,team\n"
        f'CSV-1,"Late parcel {hostile}",2026-11-20T09:00:00Z,ada@example.com,email,,,,,\n'
        f'CSV-2,"Bad row {hostile}",not a date,ada@example.com,,,,,,\n'
    )
    report = import_csv(bot.deps, csv, progress=False)
    assert (report.imported, report.rejected) == (1, 1)
    bot.clock.set(MONDAY_10_UTC)
    assert dispatch_pass(bot.deps).delivered == 1
    surfaces = assert_no_live_mention(bot)
    assert escaped_on(surfaces, f"chat.postMessage {bot.sandbox.im_channel('U0AGENT')}")


def test_the_away_hand_off_note_names_hostile_cases_as_text(bot: Any) -> None:
    from db.cases import agent_by_slack_id
    from handlers.commands.followup import run_command

    with bot.deps.session_factory.begin() as session:
        ada = agent_by_slack_id(session, "U0AGENT", bot.clock.now())
        grace = agent_by_slack_id(session, "U0LEAD", bot.clock.now())
        ada.email, grace.email = "ada@example.com", "grace@example.com"
        session.flush()
        ada.backup_id = grace.id
    payload = {
        "case_id": "MI-AWAY",
        "subject": f"Refund missing {HOSTILE}",
        "closed_at": FRIDAY_10_UTC.isoformat(),
        "owner_email": "ada@example.com",
        "customer_name": f"Mallory {HOSTILE}",
        "kind": "request",
    }
    assert bot.post_generic(payload)[0] == 202
    reply = run_command(
        bot.deps, user_id="U0AGENT", channel_id="D0X", text="away until dec 1", trigger_id=None
    )
    assert reply is not None and "<@U0LEAD>" in reply.text, "Grace covers"
    bot.clock.set(datetime(2026, 11, 23, 14, 0, tzinfo=UTC))  # 09:00 for Grace in New York
    assert dispatch_pass(bot.deps).delivered == 1
    surfaces = assert_no_live_mention(bot)
    [note] = [m for m in bot.sandbox.dm_messages("U0AGENT") if "metadata" not in m]
    assert "I handed 1 follow-up to" in note["text"]
    assert "Refund missing &lt;!channel&gt;" in note["text"], "the subject, as text"
    assert escaped_on(surfaces, f"chat.postMessage {bot.sandbox.im_channel('U0LEAD')}")


def followup_of_or_none(bot: Any) -> FollowUp | None:
    with bot.deps.session_factory() as session:
        row = session.scalars(select(FollowUp)).first()
        if row is not None:
            session.expunge(row)
        return row


def test_the_scan_catches_a_live_mention() -> None:
    """The checker itself: a live token in mrkdwn is found, the same in plain_text is not."""
    live = {"text": "hi <!here>", "blocks": [{"type": "section", "text": {"type": "mrkdwn",
            "text": "<@U0EVIL1> <https://evil.example|x>"}}]}  # fmt: skip
    found = [m.group() for t in mrkdwn(live) for m in LIVE.finditer(t)]
    assert found == ["<!here>", "<@U0EVIL1>", "<https://evil.example"]
    plain = {"blocks": [{"type": "header", "text": {"type": "plain_text", "text": "<!here>"}}]}
    assert [t for t in mrkdwn(plain) if LIVE.search(t)] == []
