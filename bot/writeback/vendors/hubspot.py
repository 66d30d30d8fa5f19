"""HubSpot: a note (a CRM activity, seen only by HubSpot users) associated with the ticket;
reopened by moving the ticket's `hs_pipeline_stage` to WRITEBACK_HUBSPOT_REOPEN_STAGE.

Every call, from HubSpot's developer docs (developers.hubspot.com/docs/): the CRM guides
"Notes", "Tickets" and "Associations v4", "Account information API", "Error handling" and "API
usage guidelines and limits" (with the changelog "Increasing our API limits"):

- **Auth**: `Authorization: Bearer <access token>` of a private app (Settings > Integrations >
  Private Apps). A wrong or revoked token is 401 `INVALID_AUTHENTICATION`; a token without the
  scope a call needs is 403 `MISSING_SCOPES`.
- **Ticket**: `GET /crm/v3/objects/tickets/{ticketId}?properties=hs_pipeline,hs_pipeline_stage`
  first: a deleted ticket is 404 before any note is written, and its stage makes the reopen
  idempotent (a ticket already in the stage is not touched).
- **Note**: `POST /crm/v3/objects/notes` with `{"properties": {"hs_timestamp": ...,
  "hs_note_body": ...}, "associations": [{"to": {"id": ticket}, "types":
  [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 228}]}]}`. `hs_timestamp`
  is required (milliseconds or UTC ISO 8601); `hs_note_body` is rich text (HTML), at most
  65,536 characters, so the plain text is HTML-escaped with `<br>` line breaks. 228 is the
  default "note to ticket" type (from the v4 association type list; not in the stored copy of
  the docs we read, but used by every public client we found). A note is never visible to the
  customer: there is no public note in HubSpot.
- **Reopen**: `PATCH /crm/v3/objects/tickets/{ticketId}` with `{"properties":
  {"hs_pipeline_stage": stage}}` ("You must use the internal ID of a ticket stage"). The
  default pipeline "0" has stages 1 New, 2 Waiting on contact, 3 Waiting on us, 4 Closed; a
  stage that is not in the ticket's pipeline is 400 `VALIDATION_ERROR`, which fails the job for
  good naming the setting.
- **Closed tickets**: HubSpot has none for good: "Closed" is a stage like the others, whose
  tickets take notes and can be moved back. Only a deleted ticket (404) cannot be noted.
- **Read back**: `GET /crm/v4/objects/ticket/{ticketId}/associations/note?limit=500` (paged
  by `paging.next.after`) lists the ticket's note ids, then `POST
  /crm/v3/objects/notes/batch/read` (at most 100 `inputs`) reads their `hs_note_body`. Not
  the search API: it is eventually consistent and may miss a note made a moment ago.
- **Check**: `GET /crm/v3/objects/tickets?limit=1` proves the token and its `tickets` scope;
  then `GET /account-info/v3/details` names the account (`portalId`, `uiDomain`; its docs list
  only the `oauth` scope, so a 403 there is not held against the token).
- **Limits**: per account, shared by its apps: private apps get 100 requests per 10 seconds
  (Free, Starter), 190 (Professional, Enterprise), and 250,000 to 1,000,000 a day. A 429 has
  `{"status": "error", "errorType": "RATE_LIMIT", "policyName": ...}` (policyName says which
  limit). Unconfirmed: whether a 429 carries Retry-After; without one the outbox's own backoff
  applies.
- **Errors**: `{"status": "error", "message", "correlationId", "category", "errors": [...]}`
  (any field may be missing); reasons carry `category` (or `policyName`), never a message.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from bot.writeback.transport import Http, Permanent, Response, fail_for
from bot.writeback.vendors.base import Delivered, Job, has_marker

DEFAULT_URL = "https://api.hubapi.com"
NOTE_TO_TICKET = 228
MAX_NOTE = 65_536
ASSOCIATION_PAGE = 500
MAX_ASSOCIATION_PAGES = 10
BATCH_READ = 100

_TICKET_ID = re.compile(r"^[1-9][0-9]{0,19}$")


class HubSpot:
    def __init__(self, settings: Mapping[str, str], http: Http) -> None:
        self.base = (settings.get("URL") or DEFAULT_URL).rstrip("/")
        self.stage = (settings.get("REOPEN_STAGE") or "3").strip()
        self.http = http
        self.headers = {"Authorization": f"Bearer {settings['TOKEN']}"}

    def deliver(self, job: Job) -> Delivered:
        ticket = _ticket_id(job.ticket)
        properties = _dig(
            self._call(
                "GET",
                f"/crm/v3/objects/tickets/{ticket}?properties=hs_pipeline,hs_pipeline_stage",
                "get ticket",
            ),
            "properties",
        )
        if job.retried and self._noted(ticket, job.marker):
            done = "note already there"
        else:
            done = f"note {self._note(ticket, job.body)}"
        if job.reopen:
            if _dig(properties, "hs_pipeline_stage") == self.stage:
                done += f"; stage {self.stage} (already)"
            else:
                self._move(ticket, _dig(properties, "hs_pipeline"))
                done += f"; stage {self.stage}"
        return Delivered(done)

    def _note(self, ticket: str, body: str) -> str:
        content = note_html(body)
        if len(content) > MAX_NOTE:
            raise Permanent(f"create note: the note is longer than HubSpot's {MAX_NOTE} characters")
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        created = self._call(
            "POST",
            "/crm/v3/objects/notes",
            "create note",
            {
                "properties": {"hs_timestamp": now, "hs_note_body": content},
                "associations": [
                    {
                        "to": {"id": ticket},
                        "types": [
                            {
                                "associationCategory": "HUBSPOT_DEFINED",
                                "associationTypeId": NOTE_TO_TICKET,
                            }
                        ],
                    }
                ],
            },
        )
        return str(_dig(created, "id") or "")

    def _move(self, ticket: str, pipeline: Any) -> None:
        answer = self.http.request(
            "PATCH",
            f"{self.base}/crm/v3/objects/tickets/{ticket}",
            headers=self.headers,
            json_body={"properties": {"hs_pipeline_stage": self.stage}},
        )
        if answer.status == 400:
            code = _error_code(answer)
            raise Permanent(
                "move ticket: HTTP 400" + (f" {code}" if code else "") + f": stage {self.stage} "
                "(WRITEBACK_HUBSPOT_REOPEN_STAGE) is not a stage of the ticket's pipeline "
                f"{str(pipeline)[:40]!r}"
            )
        _ok(answer, "move ticket")

    def _noted(self, ticket: str, marker: str) -> bool:
        ids: list[str] = []
        after = ""
        for _ in range(MAX_ASSOCIATION_PAGES):
            page = self._call(
                "GET",
                f"/crm/v4/objects/ticket/{ticket}/associations/note?limit={ASSOCIATION_PAGE}"
                + (f"&after={quote(after, safe='')}" if after else ""),
                "list ticket notes",
            )
            results = _dig(page, "results")
            for row in results if isinstance(results, list) else []:
                note_id = _dig(row, "toObjectId")
                if isinstance(note_id, int | str) and str(note_id).isdigit():
                    ids.append(str(note_id))
            next_after = _dig(page, "paging", "next", "after")
            if not isinstance(next_after, str) or not next_after or len(next_after) > 200:
                break
            after = next_after
        ids.sort(key=int, reverse=True)  # newest first: the note we look for is recent
        for start in range(0, len(ids), BATCH_READ):
            read = self._call(
                "POST",
                "/crm/v3/objects/notes/batch/read",
                "read notes",
                {
                    "properties": ["hs_note_body"],
                    "inputs": [{"id": note_id} for note_id in ids[start : start + BATCH_READ]],
                },
            )
            notes = _dig(read, "results")
            bodies = [
                str(_dig(note, "properties", "hs_note_body") or "")
                for note in (notes if isinstance(notes, list) else [])
            ]
            if has_marker(bodies, marker):
                return True
        return False

    def check(self) -> str:
        self._call("GET", "/crm/v3/objects/tickets?limit=1", "list tickets")
        answer = self.http.request(
            "GET", f"{self.base}/account-info/v3/details", headers=self.headers
        )
        if answer.status == 403:  # unconfirmed whether every private app may read it
            return "a token with the tickets scope (account details not readable)"
        account = _ok(answer, "account details").json()
        return f"portal {_dig(account, 'portalId')} ({_dig(account, 'uiDomain')})"

    def _call(self, method: str, path: str, call: str, body: Any = None) -> Any:
        answer = self.http.request(method, self.base + path, headers=self.headers, json_body=body)
        return _ok(answer, call).json()


def note_html(text: str) -> str:
    """Plain text as `hs_note_body` rich text: HTML-escaped, a paragraph per blank-line block,
    `<br>` for the line breaks inside one. The `fu-...` marker has nothing to escape."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    blocks = re.split(r"\n[ \t]*\n", text)
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in block.split("\n")) + "</p>"
        for block in blocks
    )


def _ticket_id(raw: str) -> str:
    if not _TICKET_ID.match(raw):
        raise Permanent(f"ticket id {raw[:40]!r} is not a HubSpot ticket id")
    return raw


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _ok(answer: Response, call: str) -> Response:
    # 207: a batch read where some ids were not found (deleted notes): the rest still count.
    if 200 <= answer.status < 300:
        return answer
    raise fail_for(answer, call, _error_code(answer))


def _error_code(answer: Response) -> str | None:
    try:
        body = json.loads(answer.body.decode("utf-8")) if answer.body else None
    except (UnicodeDecodeError, ValueError):
        return None
    for key in ("category", "policyName", "errorType"):
        value = _dig(body, key)
        if isinstance(value, str) and value:
            return value[:80]
    return None


__all__ = ["HubSpot", "note_html"]
