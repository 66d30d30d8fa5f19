"""Zammad: an internal note article on the ticket; reopened to `open` with it.

Every call, from Zammad's REST API documentation (docs.zammad.org/en/latest/api/, sources in
github.com/zammad/zammad-documentation under api/) and, where the docs are silent, Zammad's
own code (github.com/zammad/zammad):

- **Auth**: `Authorization: Token token={access token}` ("Introduction" > Authentication); an
  agent creates the token under Avatar > Profile > Token Access, with the `ticket.agent`
  permission. A wrong token is 401 `{"error": "Can't find User for Token", "error_human":
  ...}`, no credentials 403 `"Authentication required"`
  (app/controllers/application_controller/authenticates.rb and handles_errors.rb; every error
  body is `{"error": ..., "error_human": ...}`).
- **Note and reopen**: one `PUT /api/v1/tickets/{id}` with `{"state": "open", "article":
  {"body": ..., "content_type": "text/plain", "type": "note", "internal": true, "sender":
  "Agent"}}` ("Tickets" > Update: "This article is a new article"; "Articles": `internal: true`
  is visible to agents only, `note` is the type for internal notes and not a communication
  article, `text/plain` is accepted as is, so the note needs no HTML). `article.internal`
  defaults to false, so it is always sent. Without a reopen only `article` is sent; on a
  retry whose note is there, only `state`.
- **Current state**: `GET /api/v1/tickets/{id}?expand=true` gives `state` by name ("Response
  Payloads (Expand)"): a ticket already `open` is not set again (the reopen is idempotent), and
  a `merged` ticket is refused before anything is written. Unconfirmed: whether Zammad itself
  refuses updates of a merged ticket (its policy does not); a note or a reopen there would land
  on a husk whose articles moved to the target, so we stop (Permanent), the stricter choice.
- **Closed tickets**: agents may always update and reopen them (app/policies/ticket_policy.rb
  `follow_up?`: "Agents are always allowed to reopen tickets"). An agent with only read access
  to the ticket's group gets 422 `"Cannot follow-up on a closed ticket. Please create a new
  ticket."` (and 403 `"Not authorized"` on an open one): Permanent, for an admin to fix the
  group permissions.
- **Read back**: `GET /api/v1/ticket_articles/by_ticket/{id}` (every article of the ticket, no
  pagination: ticket_articles_controller.rb `index_by_ticket`).
- **Check**: `GET /api/v1/users/me?expand=true` ("Users" > Me; any permission): `roles` by name
  must include `Agent`. Unconfirmed: a custom role may grant `ticket.agent` under another
  name; we require the Agent role (stricter).
- **Limits**: Zammad throttles only password resets, admin auth and web-form submits
  (config/initializers/rack_attack.rb); ticket calls have no documented limit. A 429 (a proxy,
  or hosted Zammad, unconfirmed) still waits for its `Retry-After`.
- **Errors**: unknown state or article type: 422 `"No lookup value found for 'state': ..."`;
  no body: 422 `Need at least article: { body: "some text" }`; no ticket: 404 `"Couldn't
  find Ticket with 'id'=..."`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.writeback.transport import Http, Permanent, Response, Transient, fail_for
from bot.writeback.vendors.base import Delivered, Job, has_marker

OPEN = "open"
MERGED = "merged"
FOLLOW_UP_REFUSED = "Cannot follow-up on a closed ticket"


class Zammad:
    def __init__(self, settings: Mapping[str, str], http: Http) -> None:
        self.base = settings["URL"].rstrip("/") + "/api/v1"
        self.http = http
        self.headers = {"Authorization": f"Token token={settings['TOKEN']}"}

    def deliver(self, job: Job) -> Delivered:
        ticket = _ticket_id(job.ticket)
        state = self._state(ticket)
        if state == MERGED:
            raise Permanent("show ticket: the ticket was merged into another; note that one")
        noted = job.retried and self._noted(ticket, job.marker)
        update: dict[str, Any] = {}
        if not noted:
            update["article"] = {
                "body": job.body,
                "content_type": "text/plain",
                "type": "note",
                "internal": True,
                "sender": "Agent",
            }
        if job.reopen and state != OPEN:
            update["state"] = OPEN
        done = "internal note" if not noted else "note already on the ticket"
        if job.reopen:
            done += "; state open" if state != OPEN else "; already open"
        if not update:
            return Delivered(done)
        answer = self.http.request(
            "PUT", f"{self.base}/tickets/{ticket}", headers=self.headers, json_body=update
        )
        if answer.status == 422 and FOLLOW_UP_REFUSED in answer.body.decode("utf-8", "replace"):
            raise Permanent(
                "update ticket: HTTP 422 the ticket is closed and the token's agent may not "
                "change tickets of its group"
            )
        _ok(answer, "update ticket", job)
        return Delivered(done)

    def _state(self, ticket: str) -> str:
        answer = _ok(
            self.http.request(
                "GET", f"{self.base}/tickets/{ticket}?expand=true", headers=self.headers
            ),
            "show ticket",
        )
        shown = answer.json()
        state = shown.get("state") if isinstance(shown, dict) else None
        if not isinstance(state, str):
            raise Transient("show ticket: the answer has no state")
        return state

    def _noted(self, ticket: str, marker: str) -> bool:
        answer = _ok(
            self.http.request(
                "GET", f"{self.base}/ticket_articles/by_ticket/{ticket}", headers=self.headers
            ),
            "list articles",
        )
        articles = answer.json()
        if not isinstance(articles, list):
            raise Transient("list articles: the answer was not a list")
        return has_marker(
            [str(a.get("body") or "") for a in articles if isinstance(a, dict)], marker
        )

    def check(self) -> str:
        answer = _ok(
            self.http.request("GET", f"{self.base}/users/me?expand=true", headers=self.headers),
            "users/me",
        )
        user = answer.json()
        if not isinstance(user, dict):
            raise Transient("users/me: the answer was not a user")
        roles = user.get("roles")
        if not isinstance(roles, list) or "Agent" not in roles:
            raise Permanent("users/me: the token's user does not have the Agent role")
        return f"agent {user.get('email') or user.get('login')}"


def _ok(response: Response, call: str, job: Job | None = None) -> Response:
    """`response` if 2xx, else the failure its status means, with Zammad's `error` text (it
    names the problem, like "No lookup value found for 'state'"), dropped if it could echo the
    note back."""
    if 200 <= response.status < 300:
        return response
    raise fail_for(response, call, _error(response, job))


def _error(response: Response, job: Job | None) -> str | None:
    try:
        body = response.json()
    except Exception:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, str) or not error.strip():
        return None
    error = " ".join(error.split())[:80]
    if job is not None:
        lines = [line.strip() for line in job.body.splitlines() if len(line.strip()) >= 4]
        if job.marker in error or any(line[:40] in error for line in lines):
            return None
    return error


def _ticket_id(raw: str) -> str:
    if not (raw.isascii() and raw.isdigit()):
        raise Permanent(f"ticket id {raw[:40]!r} is not a Zammad ticket id")
    return raw


__all__ = ["Zammad"]
