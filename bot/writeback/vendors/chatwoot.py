"""Chatwoot: a private note on the conversation; reopened to `open` with toggle_status.

Every call, from Chatwoot's Application API reference (developers.chatwoot.com/api-reference/)
and its source (github.com/chatwoot/chatwoot, the controllers and views named below):

- **Auth**: the `api_access_token: <token>` header (a user's access token, Profile settings >
  Access Token; an administrator's: see Reopen). No header at all is 401 `{"errors": ["You
  need to sign in or sign up before continuing."]}`; a wrong token is 401 `{"error": "Invalid
  Access Token"}`; a user who is not in the account is 401 `{"error": "You are not authorized
  to access this account"}` (app/controllers/concerns/access_token_auth_helper.rb,
  api/v1/accounts/base_controller.rb). An agent bot's token is refused by the read-back and
  the profile ("Access to this endpoint is not authorized for bots").
- **Note**: `POST /api/v1/accounts/{account_id}/conversations/{conversation_id}/messages` with
  `{"content": ..., "message_type": "outgoing", "private": true, "content_type": "text"}`;
  `private: true` makes it a private note only agents see, never sent to the contact
  (.../api-reference/messages/create-new-message). `conversation_id` is the conversation's
  display id, the `id` the webhook sends. `content` is Markdown to the dashboard (markdown-it,
  `html: false`, `breaks: true`: app/javascript/shared/helpers/MessageFormatter.js), so the
  plain text is sent with Markdown's characters backslash-escaped (raw HTML already shows as
  text; line breaks are kept as they are). An outgoing note does not reopen a resolved
  conversation (only an incoming message does: app/models/message.rb `reopen_conversation`).
  At most 150,000 characters (Message `validates :content, length`); a refusal is 422 with
  `{"error": ...}` or `{"message": ..., "attributes": [...]}`.
- **Reopen**: `POST .../conversations/{conversation_id}/toggle_status` with `{"status":
  "open"}` (statuses: open, resolved, pending, snoozed); answers `{"payload": {"success": true,
  "current_status": "open", ...}}` (.../api-reference/conversations/toggle-status). Without a
  `status` the call flips open and resolved, so it is always sent: setting `open` twice is a
  no-op, and the call is idempotent. When the token's user has the agent role, an open
  conversation is assigned to that user (ConversationsController#toggle_status: `assign_
  conversation if should_assign_conversation?`); an administrator's reopen keeps the assignee.
  Hence an administrator's token, which `check` insists on; an agent also sees only the
  conversations of the inboxes they are in (Pundit `show?`, else 401 "You are not authorized to
  do this action").
- **Closed conversations**: Chatwoot has no state that cannot be reopened; a deleted
  conversation is 404 `{"error": "Resource could not be found"}` (unconfirmed beyond the
  source: nothing in the reference names another refusal).
- **Read back**: `GET .../conversations/{conversation_id}/messages` answers `{"meta": ...,
  "payload": [...]}`: the newest 20 messages, oldest first (app/finders/message_finder.rb;
  .../api-reference/messages/get-messages). A retry looks for its marker in the private ones.
  One page only, to stay within a delivery's three calls: a note with more than 20 newer
  messages after it is not found and is added again.
- **Check**: `GET /api/v1/profile` (.../api-reference/profile/fetch-user-profile): the token's
  user, with `accounts[]` (`id`, `role`: agent or administrator); the role in
  WRITEBACK_CHATWOOT_ACCOUNT_ID must be administrator. The answer also carries the token
  itself; nothing of it but the email and role leaves this module.
- **Limits**: Rack::Attack throttles by IP (config/initializers/rack_attack.rb:
  `RACK_ATTACK_LIMIT`, default 3000 a minute in the source; the self-hosting guide,
  developers.chatwoot.com/self-hosted/monitoring/rate-limiting, says 60 a minute).
  Unconfirmed: Chatwoot Cloud's limits are not published. A throttled call is 429 `Retry
  later` (text/plain) with no Retry-After (rack-attack's default responder): the worker's
  default wait applies unless a proxy adds one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.writeback.transport import Http, Permanent
from bot.writeback.vendors.base import Delivered, Job, has_marker, ok

_ESCAPED = re.compile(r"([\\`*_\[\]<>&~|])")
"""Markdown's inline characters (and `&`, which starts an entity), escaped anywhere."""
_BLOCK_START = re.compile(r"^(\s*)([#>+=-]|\d+[.)])")
"""A line that would open a heading, quote, list or setext underline: escape its marker."""


class Chatwoot:
    def __init__(self, settings: Mapping[str, str], http: Http) -> None:
        self.base = settings["URL"].rstrip("/") + "/api/v1"
        self.account = settings["ACCOUNT_ID"]
        self.http = http
        self.headers = {"api_access_token": settings["TOKEN"]}

    def deliver(self, job: Job) -> Delivered:
        conversation = f"{self._account_url()}/conversations/{_conversation_id(job.ticket)}"
        if job.retried and self._noted(conversation, job.marker):
            done = "note already on the conversation"
        else:
            content = markdown_text(job.body)
            if job.marker not in content:
                raise Permanent("add note: the note's marker would not survive Markdown")
            answer = ok(
                self.http.request(
                    "POST",
                    f"{conversation}/messages",
                    headers=self.headers,
                    json_body={
                        "content": content,
                        "message_type": "outgoing",
                        "private": True,
                        "content_type": "text",
                    },
                ),
                "add private note",
                "error",
            )
            done = f"private note {_field(answer.json(), 'id')}"
        if not job.reopen:
            return Delivered(done)
        answer = ok(
            self.http.request(
                "POST",
                f"{conversation}/toggle_status",
                headers=self.headers,
                json_body={"status": "open"},
            ),
            "toggle status",
            "error",
        )
        payload = _field(answer.json(), "payload")
        status = payload.get("current_status") if isinstance(payload, dict) else None
        if status != "open":
            raise Permanent(f"toggle status: the conversation is {str(status)[:20]}, not open")
        return Delivered(done + "; status open")

    def _noted(self, conversation: str, marker: str) -> bool:
        answer = ok(
            self.http.request("GET", f"{conversation}/messages", headers=self.headers),
            "list messages",
            "error",
        )
        messages = _field(answer.json(), "payload")
        if not isinstance(messages, list):
            return False
        notes = [
            str(m.get("content") or "")
            for m in messages
            if isinstance(m, dict) and m.get("private") is True
        ]
        return has_marker(notes, marker)

    def check(self) -> str:
        account = self._account()
        answer = ok(
            self.http.request("GET", f"{self.base}/profile", headers=self.headers),
            "profile",
            "error",
        )
        profile = answer.json()
        profile = profile if isinstance(profile, dict) else {}
        accounts = profile.get("accounts")
        member = [
            a
            for a in (accounts if isinstance(accounts, list) else [])
            if isinstance(a, dict) and str(a.get("id")) == account
        ]
        if not member:
            raise Permanent(f"profile: the token's user is not in Chatwoot account {account}")
        role = member[0].get("role")
        if role != "administrator":
            # An agent's reopen assigns the conversation to that agent, and an agent sees only
            # the inboxes they are in.
            raise Permanent(
                f"profile: the token's user is {str(role)[:20]!r} in account {account}, not "
                "administrator: its reopens would assign each conversation to it"
            )
        return f"{role} {profile.get('email')}"

    def _account_url(self) -> str:
        return f"{self.base}/accounts/{self._account()}"

    def _account(self) -> str:
        if not _number(self.account):
            raise Permanent(
                f"WRITEBACK_CHATWOOT_ACCOUNT_ID {self.account[:20]!r} is not an account number"
            )
        return self.account


def markdown_text(text: str) -> str:
    """`text` as Chatwoot's Markdown shows it literally: its line breaks kept, Markdown's
    characters escaped (raw HTML is shown as text by the dashboard, `html: false`)."""
    lines = []
    for line in text.split("\n"):
        line = _ESCAPED.sub(r"\\\1", line)
        lines.append(_BLOCK_START.sub(_escape_block, line, count=1))
    return "\n".join(lines)


def _escape_block(found: re.Match[str]) -> str:
    indent, token = found.group(1), found.group(2)
    if token[0].isdigit():
        return f"{indent}{token[:-1]}\\{token[-1]}"
    return f"{indent}\\{token}"


def _field(body: Any, key: str) -> Any:
    return body.get(key) if isinstance(body, dict) else None


def _number(raw: str) -> bool:
    return raw.isascii() and raw.isdigit()


def _conversation_id(raw: str) -> str:
    if not _number(raw):
        raise Permanent(f"ticket id {raw[:40]!r} is not a Chatwoot conversation number")
    return raw


__all__ = ["Chatwoot", "markdown_text"]
