"""`followup sandbox`: the bot on the embedded default against the local Slack sandbox.

No Slack account and no configuration: a sandbox workspace, a SQLite file in a temporary
folder, one closed case sent in through the signed generic webhook, a dispatch pass in the
agent's working hours, and `/followup help` through the signed driver. It prints what the
agent saw; with `--serve` it keeps both running for you to poke at.
"""

from __future__ import annotations

import json
import tempfile
import threading
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.clock import ManualClock
from bot.config import Settings
from bot.sandbox import SlackDriver, SlackSandbox

SIGNING_SECRET = "sandbox-signing-secret"
WEBHOOK_SECRET = "sandbox-webhook-secret"


def _post_case(url: str, clock: ManualClock, closed_at: datetime) -> dict[str, Any]:
    from handlers.webhooks.generic import sign_generic

    body = json.dumps(
        {
            "case_id": "ZD-48213",
            "subject": "Invoices exported to Xero twice after the sync retry",
            "resolution": "Removed the 14 duplicate invoices and turned off the double retry",
            "closed_at": closed_at.isoformat(),
            "owner_email": "ada@example.com",
            "customer_name": "Priya Shah",
            "company": "Northwind Traders",
            "channel": "email",
            "kind": "incident",
            "url": "https://helpdesk.example.com/tickets/48213",
        }
    ).encode()
    request = urllib.request.Request(
        f"{url}/webhooks/generic",
        data=body,
        method="POST",
        headers=sign_generic(WEBHOOK_SECRET, body, clock.now()),
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.loads(response.read()))


def _text_of(blocks: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    for block in blocks:
        if block.get("type") in ("section", "header") and block.get("text"):
            lines.append(block["text"]["text"])
        for field in block.get("fields") or []:
            lines.append(field["text"])
        if block.get("type") == "context":
            lines.append(" · ".join(e.get("text", "") for e in block["elements"]))
        if block.get("type") == "actions":
            lines.append(
                "["
                + "] [".join(e["text"]["text"] for e in block["elements"] if e.get("text"))
                + "]"
            )
    return "\n".join(lines)


def run_sandbox(serve: bool = False, folder: Path | None = None) -> int:
    """Run the tour; returns the exit code."""
    from bot.dispatch import dispatch_pass
    from bot.runtime import build_deps, ensure_schema, start

    folder = folder or Path(tempfile.mkdtemp(prefix="followup-sandbox-"))
    closed_at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # a Friday
    clock = ManualClock(closed_at)
    with SlackSandbox() as sandbox:
        sandbox.add_user(
            "U0ADA",
            name="ada",
            real_name="Ada Lovelace",
            email="ada@example.com",
            tz="Europe/London",
        )
        settings = Settings.from_env(
            {
                "SLACK_BOT_TOKEN": "xoxb-sandbox",
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": sandbox.api_url,
                "DATABASE_URL": f"sqlite:///{folder / 'followup.db'}",
                "HOST": "127.0.0.1",
                "PORT": "0",
                "WEBHOOK_SECRET_GENERIC": WEBHOOK_SECRET,
            }
        )
        deps = build_deps(settings, clock)
        ensure_schema(deps)
        running = start(deps, with_scheduler=False)
        url = f"http://127.0.0.1:{running.http.port}"
        try:
            print(f"Slack sandbox at {sandbox.api_url}; bot at {url}; database in {folder}")
            accepted = _post_case(url, clock, closed_at)
            print(f"\n1. A helpdesk closes a case (Friday 10:00 UTC): {accepted}")
            clock.set(closed_at + timedelta(days=3))
            report = dispatch_pass(deps)
            print(f"2. Monday 10:00 UTC, a dispatch pass: {report.summary()}")
            for message in sandbox.dm_messages("U0ADA"):
                print("\n--- DM to Ada " + "-" * 50)
                print(_text_of(message.get("blocks") or []) or message.get("text", ""))
            driver = SlackDriver(f"{url}/slack/events", SIGNING_SECRET, sandbox)
            driver.command("U0ADA", "help")
            for _ in range(100):
                if sandbox.responses:
                    break
                threading.Event().wait(0.05)
            print("\n3. Ada types /followup help and sees:\n")
            print(sandbox.responses[-1].body.get("text", "") if sandbox.responses else "(no reply)")
            if serve:
                print(f"\nServing until Ctrl-C: POST {url}/webhooks/generic, GET {url}/healthz")
                threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            running.stop()
    return 0
