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
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot import ids
from bot.cases import SOURCE_NAMES
from bot.clock import ManualClock
from bot.demo.record import Record
from bot.dispatch.dispatcher import dispatch_pass
from bot.sandbox import SlackDriver, SlackSandbox
from bot.sandbox.helpdesks import HelpdeskSandbox
from bot.writeback.worker import deliver_writebacks
from db.models import FollowUp
from handlers.webhooks.generic import sign_generic
from handlers.webhooks.zendesk import render_trigger_body

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


def _vendor(source: str) -> str:
    return {"generic": "Your CRM (signed event), case"}.get(
        source, f"{SOURCE_NAMES.get(source, source)} ticket"
    )


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
    running: Any = None
    """The bot's running parts (`bot.runtime.start.Running`): its listeners are waited for."""
    helpdesk: HelpdeskSandbox | None = None
    """The helpdesks' stand-in the bot writes outcomes back to (bot/writeback/)."""
    _seen: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)

    # -- time and capture ----------------------------------------------------------------
    def at(self, when: str, note: str) -> None:
        self.capture()
        self.clock.set(_utc(when))
        self.record.note(self.clock.now(), note)

    def capture(self) -> None:
        self.record.capture(self.sandbox, self.clock.now())

    def note(self, text: str) -> None:
        self.record.note(self.clock.now(), text)

    def dispatch(self) -> None:
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

    def zendesk(self, event: str = "closed", **fields: Any) -> None:
        # Exactly what the recipe's triggers post (RECIPE in handlers/webhooks/zendesk.py); the
        # resolution is the latest public comment, the assignee's solving reply.
        status = "Solved" if event == "closed" else "Open"
        values = {"status": status, "resolution_author_email": fields["assignee_email"], **fields}
        body = json.dumps(render_trigger_body(values, event=event)).encode()
        stamp = self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        digest = hmac.new(SECRETS["zendesk"].encode(), stamp.encode() + body, hashlib.sha256)
        headers = {
            "Content-Type": "application/json",
            "X-Zendesk-Webhook-Signature": base64.b64encode(digest.digest()).decode(),
            "X-Zendesk-Webhook-Signature-Timestamp": stamp,
            "X-Zendesk-Webhook-Invocation-Id": f"zd-{fields['ticket_id']}-{event}-{stamp}",
        }
        reply = self.webhook("zendesk", body, headers)
        if event == "closed":
            self._ticket("zendesk", str(fields["ticket_id"]))
        said = "solved" if event == "closed" else "reopened"
        self.record.note(
            self.clock.now(),
            f"Zendesk trigger webhook: ticket #{fields['ticket_id']} {said} → {reply['status']}.",
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
        self._ticket("intercom", conversation_id)
        self.record.note(
            self.clock.now(),
            f"Intercom webhook: conversation {conversation_id} closed → {reply['status']}.",
        )

    def generic(self, **fields: Any) -> None:
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
        self.write_back()

    # -- the helpdesks -----------------------------------------------------------------------
    def _ticket(self, source: str, ticket_id: str) -> None:
        """The ticket the webhook told of, as its helpdesk holds it: solved."""
        if self.helpdesk is None:
            return
        ticket = self.helpdesk.find(source, ticket_id)
        if ticket is None:
            ticket = self.helpdesk.add_ticket(source, ticket_id)
        elif ticket.status != "solved":  # an agent solved it again in the helpdesk
            ticket.set_status("solved")
        self._seen[(source, ticket_id)] = (len(ticket.notes), len(ticket.history))

    def write_back(self) -> None:
        """The scheduler's write-back pass (every 10 s in `followup run`), then what landed in
        each helpdesk: its internal notes and state changes, as the helpdesk's own record."""
        if self.helpdesk is None:
            return
        deliver_writebacks(self.deps)
        for ticket in self.helpdesk.tickets():
            key = (ticket.source, ticket.id)
            notes, states = self._seen.get(key, (0, 1))
            for note in ticket.notes[notes:]:
                kind = "internal note" if note.private else "PUBLIC note"
                self.record.helpdesk(
                    self.clock.now(), f"{_vendor(ticket.source)} {ticket.id}: {kind}", note.body
                )
            if len(ticket.history) > states:
                change = " → ".join(ticket.history[states - 1 :])
                self.record.helpdesk(
                    self.clock.now(), f"{_vendor(ticket.source)} {ticket.id}: status", change
                )
            self._seen[key] = (len(ticket.notes), len(ticket.history))

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
        """Listeners finish their Slack calls after the ack: wait until they are done (one may
        be waiting out a rate limit's Retry-After) and the sandbox is quiet."""
        if self.running is not None:
            self.running.listeners.wait_idle(60)
            self.deps.intake.wait_idle(60)
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
