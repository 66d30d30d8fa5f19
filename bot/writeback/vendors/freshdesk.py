"""Freshdesk: a private note on the ticket; reopened to Open (status 2) after it.

Every call, from the Freshdesk API v2 reference (developers.freshdesk.com/api/) and Freshdesk's
support articles; where only SDKs confirm a detail, they are named:

- **Auth**: HTTP Basic with the agent's API key as the user name and any password (`X` by
  convention): "Authentication" in the reference; the key is under Profile settings > View API
  key. A wrong or missing key is 401 `{"code": "invalid_credentials", "message": ...}`; an
  agent without the right is 403 `access_denied` (support.freshdesk.com article 225440, "status
  codes and its reasons"). The API answers only on the account's `*.freshdesk.com` address,
  not on a custom CNAME ("What's new" in the reference).
- **Note**: `POST /api/v2/tickets/{id}/notes` with `{"body": <HTML>, "private": true}` ("Create
  a Note"): `body` is HTML, `private: true` makes it an agent-only note (private is the
  default; we send it anyway). 201 with the conversation (`id`, `body`, `body_text`,
  `private`). The plain-text note becomes HTML: every line escaped, lines joined with `<br>`.
- **Reopen**: `PUT /api/v2/tickets/{id}` with `{"status": 2}` ("Update a Ticket"; statuses 2
  Open, 3 Pending, 4 Resolved, 5 Closed). Setting Open on an open ticket changes nothing, so a
  repeated reopen is harmless. Agents may reopen Resolved and Closed tickets.
- **Read back**: `GET /api/v2/tickets/{id}/conversations?page=N&per_page=100` ("List all
  Conversations of a Ticket"; oldest first, 100 a page at most, a `Link: <...>; rel="next"`
  header while more pages follow); a retry looks for its marker in `body` and `body_text`.
- **Check**: `GET /api/v2/agents/me` ("View Me": the key's agent, `contact.email`,
  `ticket_scope` 1 global, 2 group, 3 restricted access).
- **Errors**: 400 `{"description": "Validation failed", "errors": [{"field", "message",
  "code"}]}` with codes like `missing_field`, `invalid_value`, `datatype_mismatch`,
  `invalid_field` (reference "Error Handling"; the shapes and codes as in Freshdesk.NET's
  Core/Error.cs and Core/ErrorFieldCode.cs). We report `code field`, never `message`.
- **Limits**: per account and per minute by plan (support.freshdesk.com article 225439: Growth
  200 calls, Ticket Update 80; Pro 400/160; Enterprise 700/280; trials 50 a minute); every
  call counts, failed ones too. Past it: 429 with `Retry-After` in seconds, and
  `X-RateLimit-Total` / `-Remaining` / `-Used-CurrentRequest` on each answer (the reference's
  "Rate Limit" section as summarised by apis.io's Freshdesk profile and python-freshdesk; the
  section itself was not read first-hand).
- **Closed tickets**: unconfirmed: archived tickets (closed ones the account's archive moved
  away) are read through `/api/v2/tickets/archived/{id}` and do not take notes; how the plain
  ticket calls answer for them is not documented where we looked. Whatever 4xx they give is
  `Permanent` (a 404 reads "HTTP 404"), which is the stricter choice: an operator decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.writeback.transport import Http, Permanent, Response, Transient, fail_for
from bot.writeback.vendors.base import Delivered, Job, basic_auth, has_marker, plain_html

OPEN = 2
SCOPES: dict[Any, str] = {1: "global", 2: "group", 3: "restricted"}
PER_PAGE = 100
MAX_PAGES = 20
"""Conversations read back at most (2,000): past that the retry cannot tell whether its note
landed, and gives up rather than risk a second one."""


class Freshdesk:
    def __init__(self, settings: Mapping[str, str], http: Http) -> None:
        self.base = settings["URL"].rstrip("/") + "/api/v2"
        self.http = http
        self.headers = {"Authorization": basic_auth(settings["API_KEY"], "X")}

    def deliver(self, job: Job) -> Delivered:
        ticket = _ticket_id(job.ticket)
        if job.retried and self._noted(ticket, job.marker):
            done = "note already on the ticket"
        else:
            answer = _ok(
                self.http.request(
                    "POST",
                    f"{self.base}/tickets/{ticket}/notes",
                    headers=self.headers,
                    json_body={"body": note_html(job.body), "private": True},
                ),
                "add note",
            )
            created = answer.json()
            note_id = created.get("id") if isinstance(created, dict) else None
            done = f"private note {note_id}" if note_id is not None else "private note"
        if job.reopen:
            _ok(
                self.http.request(
                    "PUT",
                    f"{self.base}/tickets/{ticket}",
                    headers=self.headers,
                    json_body={"status": OPEN},
                ),
                "update ticket",
            )
            done += "; status Open"
        return Delivered(done)

    def _noted(self, ticket: str, marker: str) -> bool:
        for page in range(1, MAX_PAGES + 1):
            answer = _ok(
                self.http.request(
                    "GET",
                    f"{self.base}/tickets/{ticket}/conversations?page={page}&per_page={PER_PAGE}",
                    headers=self.headers,
                ),
                "list conversations",
            )
            items = answer.json()
            if not isinstance(items, list):
                raise Transient("list conversations: the answer was not a list")
            texts = [
                f"{item.get('body') or ''}\n{item.get('body_text') or ''}"
                for item in items
                if isinstance(item, dict)
            ]
            if has_marker(texts, marker):
                return True
            more = 'rel="next"' in (answer.header("Link") or "")
            if len(items) < PER_PAGE and not more:
                return False
        raise Permanent(
            f"list conversations: over {MAX_PAGES * PER_PAGE} conversations; cannot tell "
            "whether an earlier attempt added the note"
        )

    def check(self) -> str:
        answer = _ok(
            self.http.request("GET", f"{self.base}/agents/me", headers=self.headers),
            "agents/me",
        )
        agent = answer.json()
        contact = agent.get("contact") if isinstance(agent, dict) else None
        if not isinstance(contact, dict) or not contact.get("email"):
            raise Permanent("agents/me: the API key does not belong to an agent")
        scope = SCOPES.get(agent.get("ticket_scope"), "unknown")
        return f"agent {contact['email']} ({scope} ticket access)"


def note_html(text: str) -> str:
    """The plain-text note as the HTML Freshdesk wants (`plain_html`)."""
    return plain_html(text)


def _ok(response: Response, call: str) -> Response:
    """`response` if 2xx, else the failure its status means, with Freshdesk's error code: the
    top-level `code` (401/403), or the first validation error's `code` and `field` (400)."""
    if 200 <= response.status < 300:
        return response
    raise fail_for(response, call, _code(response))


def _code(response: Response) -> str | None:
    try:
        body = response.json()
    except Exception:
        return None
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("code"), str):
        return str(body["code"])[:80]
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        return " ".join(str(first[k]) for k in ("code", "field") if first.get(k))[:80] or None
    return None


def _ticket_id(raw: str) -> str:
    if not (raw.isascii() and raw.isdigit()):
        raise Permanent(f"ticket id {raw[:40]!r} is not a Freshdesk ticket number")
    return raw


__all__ = ["Freshdesk", "note_html"]
