"""`followup agents link|lead|backup` and `/followup agents`: who a helpdesk agent id is."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot import ids
from bot.dispatch.dispatcher import dispatch_pass
from bot.people.roster import AgentError, link, make_lead, set_backup
from bot.sandbox.waiting import wait_for
from db.models import Agent, AgentLink, Case
from tests.posting import post_webhook

ZENDESK_SECRET = "zendesk-signing-secret"
MONDAY_10_UTC = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def cli(bot: Any, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`followup …` in its own process, on the bot's database and sandbox."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "WEBHOOK_", "FOLLOWUP_", "DATABASE_URL"))
    }
    env.update(
        DATABASE_URL=bot.deps.settings.database_url,
        SLACK_BOT_TOKEN="xoxb-sandbox",
        SLACK_SIGNING_SECRET="sandbox-signing-secret-0123456789",
        SLACK_API_URL=bot.sandbox.api_url,
    )
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def post_zendesk(bot: Any, ticket: str, assignee_id: str) -> int:
    body = json.dumps(
        {
            "type": "zen:event-type:ticket.status_changed",
            "id": f"evt-{ticket}",
            "time": "2026-11-20T09:30:00Z",
            "detail": {
                "id": ticket,
                "subject": "Invoice shows the wrong VAT number",
                "status": "SOLVED",
                "assignee_id": assignee_id,
                "via": {"channel": "email"},
            },
            "event": {"previous": "OPEN", "current": "SOLVED"},
        }
    ).encode()
    stamp = bot.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    signature = base64.b64encode(
        hmac.new(ZENDESK_SECRET.encode(), stamp.encode() + body, hashlib.sha256).digest()
    ).decode()
    headers = {
        "Content-Type": "application/json",
        "X-Zendesk-Webhook-Signature": signature,
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
    }
    return post_webhook(f"{bot.url}/webhooks/zendesk", body, headers)[0]


def reply(bot: Any, user: str, text: str) -> str:
    before = len(bot.sandbox.responses)
    assert bot.driver.command(user, text).status == 200
    got = wait_for(lambda: bot.sandbox.responses[before:])
    return str(got[-1].body["text"]) if got else ""


@pytest.mark.realclock  # `followup agents` runs in its own process
def test_cli_link_sends_that_agents_cases_to_the_slack_user(make_bot: Any, tmp_path: Path) -> None:
    bot = make_bot(WEBHOOK_SECRET_ZENDESK=ZENDESK_SECRET)
    done = cli(bot, tmp_path, "agents", "link", "zendesk", "8447388090494", "ada@example.com")
    assert done.returncode == 0, done.stderr
    assert "linked zendesk agent 8447388090494 to U0AGENT" in done.stdout
    assert post_zendesk(bot, "5158", "8447388090494") == 202
    bot.clock.set(MONDAY_10_UTC)
    report = dispatch_pass(bot.deps)
    assert (report.delivered, report.triaged) == (1, 0)
    [dm] = bot.sandbox.dm_messages("U0AGENT")
    assert dm["metadata"]["event_type"] == ids.METADATA_NUDGE
    assert bot.sandbox.messages("C0TRIAGE") == []


@pytest.mark.realclock  # `followup agents` runs in its own process
def test_cli_refuses_unknown_sources_and_people(bot: Any, tmp_path: Path) -> None:
    unknown_source = cli(bot, tmp_path, "agents", "link", "zendeks", "1", "U0AGENT")
    assert unknown_source.returncode == 2
    assert "unknown source 'zendeks'" in unknown_source.stderr
    nobody = cli(bot, tmp_path, "agents", "link", "jira", "abc", "nobody@example.com")
    assert nobody.returncode == 2
    assert "no Slack user has the email nobody@example.com" in nobody.stderr
    with bot.deps.session_factory() as session:
        assert session.scalars(select(AgentLink)).all() == []


@pytest.mark.realclock  # `followup agents` runs in its own process
def test_cli_lead_and_backup_set_the_fields_the_away_handoff_reads(
    bot: Any, tmp_path: Path
) -> None:
    lead = cli(bot, tmp_path, "agents", "lead", "grace@example.com", "--team", "support")
    assert lead.returncode == 0, lead.stderr
    of = cli(bot, tmp_path, "agents", "lead", "U0LEAD", "--of", "ada@example.com")
    assert of.returncode == 0, of.stderr
    backup = cli(bot, tmp_path, "agents", "backup", "ada@example.com", "U0OTHER")
    assert backup.returncode == 0, backup.stderr
    assert "U0OTHER covers U0AGENT" in backup.stdout
    with bot.deps.session_factory() as session:
        agents = {a.slack_user_id: a for a in session.scalars(select(Agent))}
        grace, ada, linus = agents["U0LEAD"], agents["U0AGENT"], agents["U0OTHER"]
        assert grace.is_lead and grace.team is not None and grace.team.slug == "support"
        assert ada.lead_id == grace.id and ada.backup_id == linus.id
        assert not ada.is_lead and linus.email == "linus@example.com"
    listed = cli(bot, tmp_path, "agents", "list")
    assert "Grace Hopper (U0LEAD): lead of support" in listed.stdout
    assert (
        "Ada Lovelace (U0AGENT): reports to Grace Hopper (U0LEAD), backup Linus T (U0OTHER)"
        in listed.stdout
    )


def test_nobody_is_their_own_backup_or_lead(bot: Any) -> None:
    with pytest.raises(AgentError, match="own backup"):
        set_backup(bot.deps, "U0AGENT", "ada@example.com", actor="test")
    with pytest.raises(AgentError, match="own lead"):
        make_lead(bot.deps, "U0LEAD", team=None, of=["grace@example.com"], actor="test")
    with pytest.raises(AgentError, match="no Slack user U0NOBODY"):
        link(bot.deps, "front", "tea_1", "U0NOBODY", actor="test")


def test_slash_agents_lists_and_only_a_lead_adds_a_link(bot: Any) -> None:
    unknown = reply(bot, "U0AGENT", "agents link intercom 814 ada@example.com")
    assert "I don't know you yet" in unknown
    make_lead(bot.deps, "U0LEAD", team=None, actor="test")
    added = reply(bot, "U0LEAD", "agents link intercom 814 <@U0AGENT|ada>")
    assert "Linked intercom agent `814` to <@U0AGENT>" in added
    assert "• intercom `814` → <@U0AGENT>" in added
    relinked = reply(bot, "U0LEAD", "agents link intercom 814 linus@example.com")
    assert "`814` → <@U0OTHER>" in relinked
    listing = reply(bot, "U0AGENT", "agents")
    assert "intercom `814` → <@U0OTHER>" in listing and "<@U0LEAD>: lead" in listing
    refused = reply(bot, "U0AGENT", "agents link intercom 814 ada@example.com")
    assert "Only a team lead" in refused
    bad = reply(bot, "U0LEAD", "agents link intercom 815 <!channel>")
    assert "Not linked" in bad and "<!channel>" not in bad
    with bot.deps.session_factory() as session:
        links = session.scalars(select(AgentLink)).all()
        assert [(x.source, x.external_agent_id) for x in links] == [("intercom", "814")]
        assert session.scalars(select(Case)).all() == []
