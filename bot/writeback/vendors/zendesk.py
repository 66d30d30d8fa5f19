"""Zendesk Support: an internal comment on the ticket; reopened to `open` with it.

Every call, from Zendesk's Ticketing API reference (developer.zendesk.com/api-reference/
ticketing/) and its "Creating and updating tickets" guide:

- **Auth**: HTTP Basic with `{email}/token:{api_token}` (API token authentication; the token
  from Admin Center > Apps and integrations > Zendesk API). A wrong one is 401.
- **Note**: `PUT /api/v2/tickets/{ticket_id}` with `{"ticket": {"comment": {"html_body": ...,
  "public": false}}}`; `public: false` makes it an internal note the requester never sees.
  `html_body` ("the comment formatted as HTML"), escaped, rather than `body`, which Zendesk
  renders as Markdown: a customer's `[text](url)` would become a link in the note.
- **Reopen**: the same call with `"status": "open"` beside the comment, so the note and the
  state change are one audit.
- **Closed tickets**: "Once a ticket is closed (as distinct from solved), it can't be reopened";
  an update answers 422 `RecordInvalid` ("Status: closed prevents ticket update"). Then
  `POST /api/v2/tickets` with `via_followup_source_id` (the closed ticket) creates a follow-up
  ticket, which inherits the parent's tags; its first comment is our note, internal. The
  request carries `Idempotency-Key: <marker>` (Ticketing API introduction, "Idempotency": a
  repeated create with the same key within two hours returns the first ticket), and a retry
  first reads the closed ticket's `followup_ids` for a follow-up already carrying the marker.
  A note alone for a closed ticket (a lead's Handled after that reopen) goes to its newest
  follow-up ticket, the case's live continuation; with none, it fails.
- **Read back**: `GET /api/v2/tickets/{ticket_id}/comments?sort_order=desc`: a retry after a
  timeout looks for its marker in the newest comments (`body`, the plain text) before sending
  again; `GET /api/v2/tickets/{ticket_id}` gives a closed ticket's `followup_ids`.
- **Check**: `GET /api/v2/users/me` (the token's user; `role` must be agent or admin).
- **Limits**: 429 with `Retry-After` (seconds) past the plan's requests per minute, and at most
  30 updates of one ticket by one user in 10 minutes ("Update Ticket" endpoint limit).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.writeback.transport import Http, Permanent, Response
from bot.writeback.vendors.base import Delivered, Job, basic_auth, has_marker, ok, plain_html

CLOSED_MESSAGE = "closed prevents ticket update"
_NUMBER = re.compile(r"[0-9]{1,20}")


class Zendesk:
    def __init__(self, settings: Mapping[str, str], http: Http) -> None:
        self.base = settings["URL"].rstrip("/") + "/api/v2"
        self.http = http
        self.headers = {
            "Authorization": basic_auth(f"{settings['EMAIL']}/token", settings["TOKEN"])
        }

    def deliver(self, job: Job) -> Delivered:
        ticket = _ticket_id(job.ticket)
        if job.retried and self._noted(ticket, job.marker):
            # The note and its status went in one update: both landed. Setting the status
            # again could reopen a ticket someone has solved since.
            return Delivered(
                "note already on the ticket" + ("; status set with it" if job.reopen else "")
            )
        update: dict[str, Any] = {"comment": {"html_body": plain_html(job.body), "public": False}}
        if job.reopen:
            update["status"] = "open"
        answer = self._update(ticket, update)
        if answer.status == 422 and CLOSED_MESSAGE in answer.body.decode("utf-8", "replace"):
            return self._follow_up(ticket, job)
        ok(answer, "update ticket", "error")
        return Delivered("internal note" + ("; status open" if job.reopen else ""))

    def _update(self, ticket: str, update: dict[str, Any]) -> Response:
        return self.http.request(
            "PUT",
            f"{self.base}/tickets/{ticket}",
            headers=self.headers,
            json_body={"ticket": update},
        )

    def _follow_up(self, ticket: str, job: Job) -> Delivered:
        """The ticket is closed for good: a follow-up ticket carries the note (and is the
        reopen, open by default). A note alone goes to the closed ticket's newest follow-up
        ticket, the case's live continuation (a lead's Handled after such a reopen); with
        none, it has nowhere to go."""
        if not job.reopen:
            return self._note_on_follow_up(ticket, job)
        if job.retried:
            for follow_up in self._follow_ups(ticket):
                if self._noted(follow_up, job.marker):
                    return Delivered(f"ticket closed; follow-up ticket {follow_up} already opened")
        body = {
            "ticket": {
                "via_followup_source_id": int(ticket),
                "comment": {"html_body": plain_html(job.body), "public": False},
                "status": "open",
            }
        }
        answer = ok(
            self.http.request(
                "POST",
                f"{self.base}/tickets",
                headers={**self.headers, "Idempotency-Key": job.marker},
                json_body=body,
            ),
            "create follow-up ticket",
            "error",
        )
        created = (answer.json() or {}).get("ticket") or {}
        return Delivered(f"ticket closed; follow-up ticket {created.get('id')} opened")

    def _note_on_follow_up(self, ticket: str, job: Job) -> Delivered:
        follow_ups = self._follow_ups(ticket)
        if not follow_ups:
            raise Permanent("update ticket: HTTP 422 the ticket is closed and takes no notes")
        newest = max(follow_ups, key=int)
        if job.retried and self._noted(newest, job.marker):
            return Delivered(f"ticket closed; note already on its follow-up ticket {newest}")
        note = {"comment": {"html_body": plain_html(job.body), "public": False}}
        ok(self._update(newest, note), "update follow-up ticket", "error")
        return Delivered(f"ticket closed; internal note on its follow-up ticket {newest}")

    def _follow_ups(self, ticket: str) -> list[str]:
        answer = ok(
            self.http.request("GET", f"{self.base}/tickets/{ticket}", headers=self.headers),
            "show ticket",
            "error",
        )
        ids = ((answer.json() or {}).get("ticket") or {}).get("followup_ids") or []
        return [str(i) for i in ids if isinstance(i, int)]

    def _noted(self, ticket: str, marker: str) -> bool:
        answer = ok(
            self.http.request(
                "GET",
                f"{self.base}/tickets/{ticket}/comments?sort_order=desc",
                headers=self.headers,
            ),
            "list comments",
            "error",
        )
        comments = (answer.json() or {}).get("comments") or []
        texts = [str(c.get("body") or "") + str(c.get("html_body") or "") for c in comments]
        return has_marker(texts, marker)

    def check(self) -> str:
        answer = ok(
            self.http.request("GET", f"{self.base}/users/me", headers=self.headers),
            "users/me",
            "error",
        )
        user = (answer.json() or {}).get("user") or {}
        if user.get("role") not in ("agent", "admin"):
            raise Permanent(f"users/me: the token acts as a {user.get('role') or 'non-agent'}")
        return f"{user.get('role')} {user.get('email')}"


def _ticket_id(raw: str) -> str:
    if not _NUMBER.fullmatch(raw):
        raise Permanent(f"ticket id {raw[:40]!r} is not a Zendesk ticket number")
    return raw


__all__ = ["Zendesk"]
