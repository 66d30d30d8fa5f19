"""Intercom: an internal note on the conversation, by the configured admin; reopened with the
conversation's `open` part.

Every call, from Intercom's REST API reference for the version pinned here,
`Intercom-Version: 2.14` (developers.intercom.com/docs/references/2.14/rest-api/; the OpenAPI
description github.com/intercom/Intercom-OpenAPI descriptions/2.14/api.intercom.io.yaml):

- **Auth**: `Authorization: Bearer <access token>` (a private app's token, Developer Hub > your
  app > Configure > Authentication: developers.intercom.com/docs/build-an-integration/
  learn-more/authentication). A wrong one is 401 `unauthorized` "Access Token Invalid"; a plan
  without API access is 403 `api_plan_restricted`. Every call sends `Intercom-Version: 2.14`
  (released 2025-08-15; .../learn-more/rest-apis/api-changelog), so the app's own version
  setting cannot change the shapes read here.
- **Note**: `POST /conversations/{conversation_id}/reply` with `{"message_type": "note", "type":
  "admin", "admin_id": WRITEBACK_INTERCOM_ADMIN_ID, "body": <html>}` (operationId
  replyConversation). A note is seen by teammates only, never by the customer. "Notes accept
  some HTML formatting": the plain text is HTML-escaped, its lines joined by `<br>` and its
  blank-line blocks made `<p>` paragraphs. The answer is the conversation (with `state`) and
  the new part; the spec's own example notes a `closed` conversation and it stays closed.
- **Reopen**: `POST /conversations/{conversation_id}/parts` with `{"message_type": "open",
  "admin_id": ...}` (operationId manageConversation: "Open a conversation which is `snoozed`
  or `closed`"); states are open, closed and snoozed. It is sent only when the conversation
  is not open already (the note's answer or the read-back says so), which keeps it idempotent.
  Unconfirmed: what opening an open conversation answers; it is never asked.
- **Closed conversations**: a closed conversation takes notes and can be opened; a deleted
  one is 404 `not_found` (unconfirmed: no other refusal is documented). A conversation id is
  a number (the retrieve call's path parameter is an integer).
- **Read back**: `GET /conversations/{conversation_id}` (operationId retrieveConversation):
  `conversation_parts.conversation_parts[]` with `part_type` and HTML `body`, the 500 most
  recent parts ("Hard limit of 500 parts"), and the conversation's `state`.
- **Check**: `GET /me` (identifyAdmin: the token's admin and workspace), then `GET
  /admins/{ADMIN_ID}` (retrieveAdmin; 404 `admin_not_found`): the note's author exists.
- **Errors**: `{"type": "error.list", "request_id": ..., "errors": [{"code": ..., "message":
  ...}]}` (components/schemas/error; codes: .../rest-api/errors/error-codes).
- **Limits**: private apps 10,000 calls a minute per app and 25,000 per workspace, spread
  over 10-second windows; past them 429 `rate_limit_exceeded` with `X-RateLimit-Limit`,
  `X-RateLimit-Remaining` and `X-RateLimit-Reset` (a Unix time) (.../rest-api/errors/
  rate-limiting). No Retry-After is documented: the reset time is passed on as one (an HTTP
  date) when the answer has none.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from email.utils import formatdate
from typing import Any

from bot.writeback.transport import Http, Permanent, RateLimited, Response, fail_for
from bot.writeback.vendors.base import Delivered, Job, has_marker

API_VERSION = "2.14"
"""The Intercom-Version every call pins (its reference is the one cited above)."""

_BLOCKS = re.compile(r"\n[ \t]*\n")


class Intercom:
    def __init__(self, settings: Mapping[str, str], http: Http) -> None:
        self.base = settings["URL"].rstrip("/")
        self.admin = settings["ADMIN_ID"]
        self.http = http
        self.headers = {
            "Authorization": f"Bearer {settings['TOKEN']}",
            "Intercom-Version": API_VERSION,
        }

    def deliver(self, job: Job) -> Delivered:
        conversation = f"{self.base}/conversations/{_conversation_id(job.ticket)}"
        admin = self._admin()
        state: Any = None
        noted = False
        if job.retried:
            found = self._read(conversation)
            state = found.get("state")
            noted = has_marker(_notes(found), job.marker)
        if noted:
            done = "note already on the conversation"
        else:
            body = note_html(job.body)
            if job.marker not in body:
                raise Permanent("add note: the note's marker would not survive HTML")
            answer = _ok(
                self.http.request(
                    "POST",
                    f"{conversation}/reply",
                    headers=self.headers,
                    json_body={
                        "message_type": "note",
                        "type": "admin",
                        "admin_id": admin,
                        "body": body,
                    },
                ),
                "add note",
            )
            replied = _object(answer.json())
            state = replied.get("state")
            parts = _parts(replied)
            done = "internal note" + (f" {parts[-1].get('id')}" if parts else "")
        if not job.reopen:
            return Delivered(done)
        if state == "open":
            return Delivered(done + "; already open")
        answer = _ok(
            self.http.request(
                "POST",
                f"{conversation}/parts",
                headers=self.headers,
                json_body={"message_type": "open", "admin_id": admin},
            ),
            "open conversation",
        )
        state = _object(answer.json()).get("state")
        if state != "open":
            raise Permanent(f"open conversation: the conversation is {str(state)[:20]}")
        return Delivered(done + "; state open")

    def _read(self, conversation: str) -> dict[str, Any]:
        answer = _ok(
            self.http.request("GET", conversation, headers=self.headers), "get conversation"
        )
        return _object(answer.json())

    def check(self) -> str:
        admin = self._admin()
        me = _object(
            _ok(self.http.request("GET", f"{self.base}/me", headers=self.headers), "me").json()
        )
        if me.get("type") != "admin":
            raise Permanent("me: the token does not act as an admin")
        author = _object(
            _ok(
                self.http.request("GET", f"{self.base}/admins/{admin}", headers=self.headers),
                f"admins/{admin}",
            ).json()
        )
        return f"admin {me.get('email')}; notes by admin {admin} {author.get('email')}"

    def _admin(self) -> str:
        if not _number(self.admin):
            raise Permanent(f"WRITEBACK_INTERCOM_ADMIN_ID {self.admin[:20]!r} is not an admin id")
        return self.admin


def note_html(text: str) -> str:
    """Plain text as an Intercom note's HTML: escaped, a `<p>` per blank-line block, `<br>`
    between its lines."""
    blocks = [b for b in _BLOCKS.split(text.strip("\n")) if b.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line, quote=False) for line in block.split("\n")) + "</p>"
        for block in blocks
    )


def _ok(response: Response, call: str) -> Response:
    """`response` if 2xx; else what its status means, with Intercom's first error code. A 429
    without Retry-After waits until its X-RateLimit-Reset (passed on as an HTTP date)."""
    if 200 <= response.status < 300:
        return response
    code = None
    try:
        body = response.json()
    except Exception:
        body = None
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0].get("code")
        code = str(first)[:80] if isinstance(first, str) else None
    failure = fail_for(response, call, code)
    if isinstance(failure, RateLimited) and failure.retry_after is None:
        reset = response.header("X-RateLimit-Reset")
        if reset is not None and reset.strip().isdigit():
            failure = RateLimited(failure.reason, formatdate(int(reset.strip()), usegmt=True))
    raise failure


def _object(body: Any) -> dict[str, Any]:
    return body if isinstance(body, dict) else {}


def _parts(conversation: dict[str, Any]) -> list[dict[str, Any]]:
    listed = _object(conversation.get("conversation_parts")).get("conversation_parts")
    return [p for p in listed if isinstance(p, dict)] if isinstance(listed, list) else []


def _notes(conversation: dict[str, Any]) -> list[str]:
    return [str(p.get("body") or "") for p in _parts(conversation) if p.get("part_type") == "note"]


def _number(raw: str) -> bool:
    return raw.isascii() and raw.isdigit()


def _conversation_id(raw: str) -> str:
    if not _number(raw):
        raise Permanent(f"ticket id {raw[:40]!r} is not an Intercom conversation id")
    return raw


__all__ = ["API_VERSION", "Intercom", "note_html"]
