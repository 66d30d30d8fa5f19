"""`followup demo`: the whole loop on a fresh machine, with no Slack account.

A sandbox workspace and the bot in HTTP mode on free local ports, over a fresh SQLite file in a
temporary folder. Closed cases arrive as real-shaped Zendesk, Intercom and generic webhooks; a
manual clock walks through two weeks; the agents act through the signed driver; the weekly
digest posts. The record is a transcript in time order and an HTML page of what each person
and channel saw.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot import ids
from bot.clock import ManualClock
from bot.config import Settings
from bot.demo_record import Record
from bot.sandbox import SlackDriver, SlackSandbox

SIGNING_SECRET = "demo-signing-secret"
SECRETS = {
    "generic": "demo-generic-secret",
    "zendesk": "demo-zendesk-secret",
    "intercom": "demo-intercom-secret",
}
PEOPLE = {
    "U0ADA": ("Ada Lovelace", "ada@northwind.example", "Europe/London"),
    "U0BEN": ("Ben Okafor", "ben@northwind.example", "America/New_York"),
    "U0MARCO": ("Marco Rossi", "marco@northwind.example", "Europe/Rome"),
    "U0GRACE": ("Grace Hopper", "grace@northwind.example", "Europe/London"),
}
CHANNELS = {
    "C0ESCALATE": "support-escalations",
    "C0DIGEST": "support-team",
    "C0TRIAGE": "support-triage",
}


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Demo:
    """The running demo: sandbox, bot, driver, clock and the record being written."""

    sandbox: SlackSandbox
    driver: SlackDriver
    clock: ManualClock
    deps: Any
    url: str
    record: Record
    moments: list[str] = field(default_factory=list)

    # -- time and capture ----------------------------------------------------------------
    def at(self, when: str, note: str) -> None:
        self.capture()
        self.clock.set(_utc(when))
        self.record.note(self.clock.now(), note)

    def capture(self) -> None:
        self.record.capture(self.sandbox, self.clock.now())

    def dispatch(self) -> None:
        from bot.dispatch import dispatch_pass

        report = dispatch_pass(self.deps)
        if report.claimed:
            self.record.note(self.clock.now(), f"Dispatch pass: {report.summary()}.")
        self.capture()

    # -- intake ----------------------------------------------------------------------------
    def webhook(self, source: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.url}/webhooks/{source}", data=body, headers=headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return dict(json.loads(response.read()))

    def zendesk(self, **fields: Any) -> None:
        body = json.dumps({"event": "closed", "status": "Solved", **fields}).encode()
        stamp = self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        digest = hmac.new(SECRETS["zendesk"].encode(), stamp.encode() + body, hashlib.sha256)
        headers = {
            "Content-Type": "application/json",
            "X-Zendesk-Webhook-Signature": base64.b64encode(digest.digest()).decode(),
            "X-Zendesk-Webhook-Signature-Timestamp": stamp,
            "X-Zendesk-Webhook-Invocation-Id": f"zd-{fields['ticket_id']}",
        }
        reply = self.webhook("zendesk", body, headers)
        self.record.note(
            self.clock.now(),
            f"Zendesk trigger webhook: ticket #{fields['ticket_id']} solved → {reply['status']}.",
        )

    def intercom(
        self, conversation_id: str, customer: str, opening: str, closing: str, agent_email: str
    ) -> None:
        closed = int(self.clock.now().timestamp())
        payload = {
            "type": "notification_event",
            "app_id": "nw4demo",
            "topic": "conversation.admin.closed",
            "id": f"notif_{conversation_id}",
            "created_at": closed,
            "delivery_attempts": 1,
            "data": {
                "type": "notification_event_data",
                "item": {
                    "type": "conversation",
                    "id": conversation_id,
                    "created_at": closed - 3600,
                    "updated_at": closed,
                    "open": False,
                    "state": "closed",
                    "user": {
                        "type": "user",
                        "id": "u-77",
                        "name": customer,
                        "email": "noor@blueharbor.example",
                    },
                    "assignee": {
                        "type": "admin",
                        "id": "4410",
                        "name": "Ben",
                        "email": agent_email,
                    },
                    "conversation_message": {
                        "type": "conversation_message",
                        "id": "m1",
                        "subject": "",
                        "body": f"<p>{opening}</p>",
                        "author": {"type": "user", "id": "u-77"},
                    },
                    "conversation_parts": {
                        "type": "conversation_part.list",
                        "total_count": 1,
                        "conversation_parts": [
                            {
                                "type": "conversation_part",
                                "id": "p9",
                                "part_type": "close",
                                "body": f"<p>{closing}</p>",
                                "created_at": closed,
                                "author": {"type": "admin", "id": "4410"},
                            }
                        ],
                    },
                    "tags": {"type": "tag.list", "tags": []},
                    "links": {
                        "conversation_web": f"https://app.intercom.io/a/apps/nw4demo/conversations/{conversation_id}"
                    },
                },
            },
        }
        body = json.dumps(payload).encode()
        signature = hmac.new(SECRETS["intercom"].encode(), body, hashlib.sha1).hexdigest()
        reply = self.webhook(
            "intercom",
            body,
            {"Content-Type": "application/json", "X-Hub-Signature": f"sha1={signature}"},
        )
        self.record.note(
            self.clock.now(),
            f"Intercom webhook: conversation {conversation_id} closed → {reply['status']}.",
        )

    def generic(self, **fields: Any) -> None:
        from handlers.webhooks.generic import sign_generic

        body = json.dumps(fields).encode()
        reply = self.webhook(
            "generic", body, sign_generic(SECRETS["generic"], body, self.clock.now())
        )
        self.record.note(
            self.clock.now(),
            f"Generic webhook: case {fields['case_id']} closed → {reply['status']}.",
        )

    # -- acting as people ------------------------------------------------------------------
    def _latest_dm_with(self, user: str, subject_part: str) -> dict[str, Any]:
        for message in reversed(self.sandbox.dm_messages(user)):
            if subject_part in json.dumps(message.get("blocks") or []):
                return message
        raise LookupError(f"no DM to {user} mentions {subject_part!r}")

    def _followup_in(self, message: dict[str, Any], subject_part: str) -> str:
        for block in message.get("blocks") or []:
            for element in block.get("elements") or []:
                if element.get("action_id") == ids.ACTION_FOLLOWED_UP:
                    followup_id = str(element["value"])
                    if self._subject_of(followup_id).find(subject_part) >= 0:
                        return followup_id
        raise LookupError(f"no open follow-up about {subject_part!r} in that DM")

    def _subject_of(self, followup_id: str) -> str:
        from db.models import FollowUp

        with self.deps.session_factory() as session:
            row = session.get(FollowUp, int(followup_id))
            return row.case.subject if row else ""

    def click(self, user: str, subject_part: str, action_id: str, label: str) -> None:
        message = self._latest_dm_with(user, subject_part)
        followup_id = self._followup_in(message, subject_part)
        self.record.act(self.clock.now(), user, f"clicks “{label}” on “{subject_part}”")
        self.driver.block_action_from_message(
            user, self.sandbox.im_channel(user), message["ts"], action_id, followup_id
        )
        self._settle()

    def submit(self, user: str, callback_id: str, values: dict[str, Any], summary: str) -> None:
        views = [
            v
            for v in self.sandbox.views(user, open_only=True)
            if v.get("callback_id") == callback_id
        ]
        if not views:
            raise LookupError(f"no {callback_id} modal open for {user}")
        self.record.modal(self.clock.now(), user, views[-1])
        self.record.act(self.clock.now(), user, f"submits: {summary}")
        self.driver.submit_view(user, views[-1]["id"], values)
        self._settle()

    def click_in_channel(self, user: str, channel: str, action_id: str, label: str) -> None:
        message = self.sandbox.messages(channel)[-1]
        button = next(
            e
            for b in message.get("blocks") or []
            for e in b.get("elements") or []
            if e.get("action_id") == action_id
        )
        self.record.act(self.clock.now(), user, f"clicks “{label}” in #{CHANNELS[channel]}")
        self.driver.block_action_from_message(
            user, channel, message["ts"], action_id, button["value"]
        )
        self._settle()

    def open_home(self, user: str) -> None:
        self.record.act(self.clock.now(), user, "opens the Followup App Home tab")
        self.driver.app_home_opened(user)
        self._settle()
        view = self.sandbox.home_view(user)
        if view is not None:
            self.record.home(self.clock.now(), user, view)

    def command(self, user: str, text: str) -> None:
        self.record.act(self.clock.now(), user, f"types /followup {text}")
        self.driver.command(user, text)
        self._settle()

    def _settle(self) -> None:
        """Listeners finish their Slack calls after the ack: wait until the sandbox is quiet."""
        seen, quiet_since = -1, time.monotonic()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            count = len(self.sandbox.calls) + len(self.sandbox.responses)
            if count != seen:
                seen, quiet_since = count, time.monotonic()
            elif time.monotonic() - quiet_since > 0.15:
                break
            time.sleep(0.03)
        self.capture()

    def moment(self, name: str) -> None:
        self.moments.append(name)
        self.record.moment(self.clock.now(), name)


def _setup_people(demo: Demo) -> None:
    """Grace leads the team; Ada's and Ben's lead is Grace; Marco is an account manager."""
    from bot.people import agent_for_email
    from db.models import Agent

    for user_id in PEOPLE:
        agent_for_email(demo.deps, PEOPLE[user_id][1], None)
    with demo.deps.session_factory.begin() as session:
        agents = {a.slack_user_id: a for a in session.scalars(select(Agent))}
        grace = agents["U0GRACE"]
        grace.is_lead = True
        for user_id in ("U0ADA", "U0BEN", "U0MARCO"):
            agents[user_id].lead_id = grace.id


def scenario(demo: Demo, fast: bool) -> None:
    """Three weeks of one support team's follow-ups, the first one as a prologue."""
    zd = "https://northwind.zendesk.com/agent/tickets/"
    demo.at(
        "2026-10-07T10:00:00",
        "Prologue, three weeks earlier: a key B2B account's case "
        "is closed (sent from the team's CRM automation through the generic webhook).",
    )
    demo.generic(
        case_id="CRM-5521",
        subject="Customs declarations rejected after the EU tariff code update",
        resolution="Mapped the 2026 tariff codes and re-sent the 38 rejected declarations",
        closed_at=demo.clock.now().isoformat(),
        owner_email=PEOPLE["U0ADA"][1],
        customer_name="Lena Kessler",
        company="Kessler Logistik GmbH",
        channel="email",
        kind="request",
        b2b=True,
        account_manager_email=PEOPLE["U0MARCO"][1],
        url="https://crm.example/5521",
    )
    demo.at("2026-10-10T10:00:00", "Saturday 72 h later: nobody is nudged on a weekend.")
    demo.dispatch()
    demo.at("2026-10-12T08:00:00", "Monday 09:00 in London: the B2B check-in arrives.")
    demo.dispatch()
    demo.click("U0ADA", "Customs declarations", ids.ACTION_FOLLOWED_UP, "Followed up")
    demo.submit(
        "U0ADA",
        ids.VIEW_OUTCOME,
        {
            "result": "resolved",
            "said": "All 38 declarations cleared; the new codes work.",
            "cause": "third party",
        },
        "customer confirmed it's resolved",
    )

    demo.at(
        "2026-11-02T09:30:00",
        "Week 1, Monday: cases close in Zendesk, Intercom and the call-centre system.",
    )
    demo.zendesk(
        ticket_id="48213",
        subject="How do I export only last month's invoices?",
        updated_at=demo.clock.now().isoformat(),
        assignee_email=PEOPLE["U0ADA"][1],
        requester_name="Priya Shah",
        requester_email="priya@brightcart.example",
        organization="BrightCart",
        via="Web Form",
        priority="Low",
        ticket_type="Question",
        tags="exports",
        url=f"{zd}48213",
        resolution="Showed the date filter on the export screen",
    )
    demo.zendesk(
        ticket_id="48227",
        subject="Charged twice for the November subscription",
        updated_at=demo.clock.now().isoformat(),
        assignee_email=PEOPLE["U0ADA"][1],
        requester_name="Tom Becker",
        requester_email="tom@becker-design.example",
        organization="Becker Design",
        via="Mail",
        priority="Normal",
        ticket_type="Problem",
        tags="billing complaint",
        url=f"{zd}48227",
        resolution="Refunded the duplicate charge of €49",
    )
    demo.intercom(
        "9041",
        "Noor Haddad",
        "The mobile app logs me out every few minutes",
        "Cleared the stale session and asked Noor to update to 5.2",
        PEOPLE["U0BEN"][1],
    )
    demo.generic(
        case_id="CALL-3310",
        subject="Warehouse scanners offline for a whole shift",
        resolution="Replaced the failed gateway and restored scanning by 14:10",
        closed_at=demo.clock.now().isoformat(),
        owner_email=PEOPLE["U0BEN"][1],
        customer_name="Dana Whitfield",
        company="Harbour Freight Co",
        channel="phone",
        kind="complaint",
        severity="high",
        senior_involved=True,
        account_manager_email=PEOPLE["U0MARCO"][1],
    )
    if not fast:
        for n, (subject, fix) in enumerate(
            [
                ("Cannot add a second admin user", "Raised the seat limit on the plan"),
                ("CSV import skips rows with accents", "Fixed the file encoding setting"),
                ("Where is the API key?", "Pointed to Settings › Developers"),
            ]
        ):
            demo.zendesk(
                ticket_id=f"4824{n}",
                subject=subject,
                updated_at=demo.clock.now().isoformat(),
                assignee_email=PEOPLE["U0ADA"][1],
                requester_name="Customer",
                requester_email=f"c{n}@example.com",
                via="Web Form",
                ticket_type="Question",
                resolution=fix,
                url=f"{zd}4824{n}",
            )

    demo.at("2026-11-04T09:30:00", "Wednesday, 48 h later: the routine query is due.")
    demo.dispatch()
    demo.click("U0ADA", "export only last month", ids.ACTION_FOLLOWED_UP, "Followed up")
    demo.submit(
        "U0ADA",
        ids.VIEW_OUTCOME,
        {
            "result": "resolved",
            "said": "The export works now that I know the date filter; "
            "your help page never mentions it.",
            "cause": "unclear documentation",
        },
        "customer confirmed it's resolved, with an insight",
    )
    demo.moment("loop confirmed with an insight")

    demo.at(
        "2026-11-05T09:30:00",
        "Thursday, 72 h after close: the complaints are due. Ben's "
        "chat case is due too, but it is 04:30 in New York, so it waits.",
    )
    demo.dispatch()
    demo.click("U0ADA", "Charged twice", ids.ACTION_FOLLOWED_UP, "Followed up")
    demo.submit(
        "U0ADA",
        ids.VIEW_OUTCOME,
        {
            "result": "not_resolved",
            "said": "The refund arrived but the December invoice still shows both charges.",
            "cause": "billing error",
        },
        "still not right",
    )
    demo.moment("still not right, escalated")
    demo.click_in_channel("U0GRACE", "C0ESCALATE", ids.ACTION_ESCALATION_HANDLED, "Handled")
    demo.click("U0MARCO", "Warehouse scanners", ids.ACTION_FOLLOWED_UP, "Followed up")
    demo.submit(
        "U0MARCO", ids.VIEW_OUTCOME, {"result": "no_reply"}, "no reply yet (left a voicemail)"
    )
    demo.moment("no reply, one gentle touch planned")
    demo.at("2026-11-05T14:00:00", "09:00 in New York: Ben's check-in arrives.")
    demo.dispatch()
    demo.click("U0BEN", "logs me out", ids.ACTION_SNOOZE, "Snooze")
    demo.submit(
        "U0BEN", ids.VIEW_SNOOZE, {"when": "next_morning"}, "snooze until the next working morning"
    )
    demo.moment("follow-up snoozed")

    demo.at(
        "2026-11-06T10:00:00",
        "Friday: 30 days after the B2B case closed, the “did the fix hold?” touch.",
    )
    demo.dispatch()
    demo.click("U0ADA", "Customs declarations", ids.ACTION_FOLLOWED_UP, "Followed up")
    demo.submit(
        "U0ADA",
        ids.VIEW_OUTCOME,
        {
            "result": "resolved",
            "said": "Still clean a month on; we've told our Rotterdam office.",
            "asks": ["referral_asked", "referral_given"],
        },
        "the fix held; asked for an introduction, and got one",
    )
    demo.moment("30-day touch of the B2B case")
    demo.at("2026-11-06T14:00:00", "Ben's snooze ends at 09:00 in New York.")
    demo.dispatch()
    demo.click("U0BEN", "logs me out", ids.ACTION_FOLLOWED_UP, "Followed up")
    demo.submit(
        "U0BEN",
        ids.VIEW_OUTCOME,
        {"result": "resolved", "said": "No more logouts since the update."},
        "customer confirmed it's resolved",
    )

    demo.at(
        "2026-11-09T09:00:00",
        "Week 2, Monday 09:00 London: the digest of last week, and "
        "the touches planned after Thursday.",
    )
    _digest(demo)
    demo.dispatch()
    demo.click("U0ADA", "Charged twice", ids.ACTION_FOLLOWED_UP, "Followed up")
    demo.submit(
        "U0ADA",
        ids.VIEW_OUTCOME,
        {
            "result": "resolved",
            "said": "The corrected December invoice arrived; thanks for chasing it.",
        },
        "after the escalation, the fresh check-in: resolved",
    )
    demo.open_home("U0ADA")
    demo.open_home("U0GRACE")
    demo.at("2026-11-10T08:00:00", "Tuesday 09:00 in Rome: Marco's gentle second try.")
    demo.dispatch()
    demo.click("U0MARCO", "Warehouse scanners", ids.ACTION_FOLLOWED_UP, "Followed up")
    demo.submit(
        "U0MARCO",
        ids.VIEW_OUTCOME,
        {
            "result": "resolved",
            "said": "Dana called back: no outage since, and the spare gateway helps.",
        },
        "customer confirmed it's resolved",
    )
    demo.at("2026-11-16T09:00:00", "Week 3, Monday: the second weekly digest.")
    _digest(demo)
    demo.command("U0ADA", "stats me month")
    demo.capture()


def _digest(demo: Demo) -> None:
    try:
        from bot.digest import digest_due_pass
    except ImportError:
        demo.record.note(demo.clock.now(), "(The weekly digest is not built yet.)")
        return
    digest_due_pass(demo.deps)
    demo._settle()
    demo.moment("weekly digest posted")


def run_demo(
    fast: bool = False, out_dir: Path | None = None, echo: Callable[[str], None] = print
) -> tuple[Path, list[str]]:
    """Run the demo; returns the record page's path and the moments it holds."""
    from bot.runtime import build_deps, ensure_schema, start

    work = Path(tempfile.mkdtemp(prefix="followup-demo-"))
    out = out_dir or work
    out.mkdir(parents=True, exist_ok=True)
    clock = ManualClock(_utc("2026-10-07T09:00:00"))
    running = None
    try:
        with SlackSandbox(bot_token="xoxb-demo") as sandbox:
            for user_id, (name, email, tz) in PEOPLE.items():
                sandbox.add_user(
                    user_id, name=name.split()[0].lower(), real_name=name, email=email, tz=tz
                )
            for channel, name in CHANNELS.items():
                sandbox.add_channel(channel, name)
            env = {
                "SLACK_BOT_TOKEN": "xoxb-demo",
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": sandbox.api_url,
                "HOST": "127.0.0.1",
                "PORT": "0",
                "DATABASE_URL": f"sqlite:///{work / 'followup.db'}",
                "FOLLOWUP_TIMEZONE": "Europe/London",
                "ESCALATION_CHANNEL": "C0ESCALATE",
                "DIGEST_CHANNEL": "C0DIGEST",
                "TRIAGE_CHANNEL": "C0TRIAGE",
                **{f"WEBHOOK_SECRET_{k.upper()}": v for k, v in SECRETS.items()},
            }
            deps = build_deps(Settings.from_env(env), clock)
            ensure_schema(deps)
            running = start(deps, with_scheduler=False)
            url = f"http://127.0.0.1:{running.http.port}"
            names = {uid: p[0] for uid, p in PEOPLE.items()} | CHANNELS
            record = Record(names, sandbox)
            demo = Demo(
                sandbox,
                SlackDriver(f"{url}/slack/events", SIGNING_SECRET, sandbox),
                clock,
                deps,
                url,
                record,
            )
            _setup_people(demo)
            demo.capture()
            scenario(demo, fast)
            page = record.write(out)
            for line in record.transcript_lines():
                echo(line)
            running.stop()
            running = None
    finally:
        if running is not None:
            running.stop()
        if out_dir is not None:
            shutil.rmtree(work, ignore_errors=True)
    echo(f"\nThe record, rendered roughly as Slack shows it: {page}")
    return page, demo.moments
