"""Help Scout (Mailbox API 2.0): a note on the conversation; reopened to `active` with it.

Every call, from Help Scout's Mailbox API 2.0 reference (developer.helpscout.com/mailbox-api/):

- **Auth** (overview/authentication/): OAuth2 client credentials. `POST /v2/oauth2/token` with
  `grant_type=client_credentials`, `client_id` (the app's App ID) and `client_secret` (its App
  Secret), as JSON, form or query; it answers `{"token_type": "bearer", "access_token": ...,
  "expires_in": 172800}` (two days; no refresh token in this flow). Every other call sends
  `Authorization: Bearer {access_token}`; an expired or revoked token is 401. The token is
  cached per app and fetched again once on a 401. Wrong app credentials are answered
  `{"error": "invalid_client", "error_description": "Invalid client authentication"}`
  (unconfirmed: with 400 or 401; either is a Permanent failure here). The token acts as the
  user who created the app (Your Profile > My Apps), who must be an active user.
- **Note** (endpoints/conversations/threads/note/): `POST /v2/conversations/{id}/notes` with
  `{"text": ...}` answers `201 Created` and the thread's id in `Resource-ID`. A note is internal
  by nature: the customer never sees notes. `text` is HTML (Help Scout renders thread bodies as
  HTML; unconfirmed in the reference, which says only "The note text"), so the plain text is
  escaped and its line breaks become `<br>`.
- **Reopen**: the same call with `"status": "active"` ("Use this field to change conversation
  status when adding a thread"), so note and state change are one write. A retry that finds its
  note reopens with `PATCH /v2/conversations/{id}` `{"op": "replace", "path": "/status",
  "value": "active"}` (endpoints/conversations/update/, `204 No Content`); replacing the status
  with the one it has is harmless, so the reopen is idempotent. Statuses are active, pending,
  closed and spam; only a reply thread reactivates a conversation by itself, so a note alone
  leaves a closed conversation closed.
- **Can't note**: a merged conversation "is no longer accessible using the old ID" and this
  request "will return a HTTP 404 Not Found" (as does a deleted one); a conversation with 100
  threads is locked, `412 Precondition Failed`, and company policy can lock old conversations
  (unconfirmed: that this is also 412). Both are Permanent: nothing to retry, nothing to
  reopen.
- **Read back**: `GET /v2/conversations/{id}/threads?page=N` (endpoints/conversations/threads/
  list/), newest first, `_embedded.threads[].body` (HTML), paged by `page.totalPages`.
- **Check**: `GET /v2/users/me`, the resource owner (`email`, `role`: owner, admin or user).
- **Limits** (overview/rate-limiting/): an account-wide per-minute limit that depends on the
  plan; writes (POST, PUT, PATCH, DELETE) count as 2. Past it: 429 with
  `X-RateLimit-Retry-After` (seconds), read here before a plain `Retry-After`.
- **Errors** (overview/errors/): `{"logRef": ..., "message": "Bad request", "_embedded":
  {"errors": [{"path", "message", "rejectedValue", "source"}]}}`; only the top-level `message`
  (never a rejected value) goes into a failure's reason.
"""

from __future__ import annotations

import hashlib
import html
import re
import threading
import time
from collections.abc import Mapping
from typing import Any

from bot.writeback.transport import Http, Permanent, RateLimited, Response, Transient, fail_for
from bot.writeback.vendors.base import Delivered, Job, has_marker

TOKEN_PATH = "/v2/oauth2/token"
TOKEN_MARGIN_SECONDS = 300.0
"""Fetch a new token this long before the cached one expires."""
REOPEN_STATUS = "active"
MAX_THREAD_PAGES = 5
"""A conversation holds at most 100 threads: a few pages always cover them."""

_CONVERSATION_ID = re.compile(r"^[1-9][0-9]{0,18}$")

_tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
"""Access tokens by (API address, App ID, digest of App Secret): (token, monotonic expiry)."""
_tokens_lock = threading.Lock()


def forget_tokens() -> None:
    """Drop every cached access token (tests; a changed secret is a new key anyway)."""
    with _tokens_lock:
        _tokens.clear()


class HelpScout:
    def __init__(self, settings: Mapping[str, str], http: Http) -> None:
        self.base = settings["URL"].rstrip("/")
        self.http = http
        self._app_id = settings["APP_ID"]
        self._app_secret = settings["APP_SECRET"]
        digest = hashlib.sha256(self._app_secret.encode()).hexdigest()
        self._key = (self.base, self._app_id, digest)

    # --- write-back -------------------------------------------------------------------------

    def deliver(self, job: Job) -> Delivered:
        conversation = _conversation_id(job.ticket)
        if job.retried and self._noted(conversation, job.marker):
            if not job.reopen:
                return Delivered("note already on the conversation")
            self._reopen(conversation)
            return Delivered(f"note already there; status {REOPEN_STATUS}")
        note: dict[str, Any] = {"text": note_html(job.body, job.marker)}
        if job.reopen:
            note["status"] = REOPEN_STATUS
        answer = self._call("POST", f"/v2/conversations/{conversation}/notes", note)
        _cannot_change(answer, "add note")
        _ok(answer, "add note")
        thread = answer.header("Resource-ID")
        done = f"note {thread}" if thread else "note"
        return Delivered(done + (f"; status {REOPEN_STATUS}" if job.reopen else ""))

    def _reopen(self, conversation: str) -> None:
        patch = {"op": "replace", "path": "/status", "value": REOPEN_STATUS}
        answer = self._call("PATCH", f"/v2/conversations/{conversation}", patch)
        _cannot_change(answer, "reopen")
        _ok(answer, "reopen")

    def _noted(self, conversation: str, marker: str) -> bool:
        page, pages = 1, 1
        while page <= min(pages, MAX_THREAD_PAGES):
            answer = self._call("GET", f"/v2/conversations/{conversation}/threads?page={page}")
            if answer.status == 404:
                raise Permanent("list threads: HTTP 404 no such conversation (deleted or merged)")
            _ok(answer, "list threads")
            found = answer.json() or {}
            threads = (found.get("_embedded") or {}).get("threads") or []
            if has_marker([str(t.get("body") or "") for t in threads], marker):
                return True
            total = (found.get("page") or {}).get("totalPages")
            pages = total if isinstance(total, int) else 1
            page += 1
        return False

    def check(self) -> str:
        answer = self._call("GET", "/v2/users/me")
        _ok(answer, "users/me")
        user = answer.json() or {}
        return f"{user.get('role') or 'user'} {user.get('email')}"

    # --- transport ----------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Any = None) -> Response:
        """One authenticated call; a 401 (the token expired or was revoked) fetches a new token
        and sends it once more."""
        token = self._token()
        answer = self._send(method, path, token, body)
        if answer.status == 401:
            self._forget(token)
            answer = self._send(method, path, self._token(), body)
        return answer

    def _send(self, method: str, path: str, token: str, body: Any) -> Response:
        return self.http.request(
            method,
            self.base + path,
            headers={"Authorization": f"Bearer {token}"},
            json_body=body,
        )

    def _token(self) -> str:
        with _tokens_lock:
            cached = _tokens.get(self._key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        answer = self.http.request(
            "POST",
            self.base + TOKEN_PATH,
            json_body={
                "grant_type": "client_credentials",
                "client_id": self._app_id,
                "client_secret": self._app_secret,
            },
        )
        _ok(answer, "oauth2 token")
        issued = answer.json() or {}
        token = issued.get("access_token")
        if not isinstance(token, str) or not token:
            raise Transient("oauth2 token: the answer carried no access_token")
        lifetime = issued.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float) else 0.0
        expiry = time.monotonic() + max(0.0, seconds - TOKEN_MARGIN_SECONDS)
        with _tokens_lock:
            _tokens[self._key] = (token, expiry)
        return token

    def _forget(self, token: str) -> None:
        with _tokens_lock:
            if _tokens.get(self._key, ("", 0.0))[0] == token:
                del _tokens[self._key]


def note_html(text: str, keep: str = "") -> str:
    """The plain-text note as Help Scout's HTML: escaped, each line break a `<br>`; `keep`
    (the marker) is left exactly as it is, so a read-back finds it."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "<br>".join(_escaped(line, keep) for line in lines)


def _escaped(line: str, keep: str) -> str:
    if not keep or keep not in line:
        return html.escape(line)
    return keep.join(html.escape(part) for part in line.split(keep))


def _cannot_change(answer: Response, call: str) -> None:
    if answer.status == 404:
        raise Permanent(f"{call}: HTTP 404 no such conversation (deleted, or merged into another)")
    if answer.status == 412:
        raise Permanent(
            f"{call}: HTTP 412 the conversation is locked (100 threads, or too old to change)"
        )


def _ok(answer: Response, call: str) -> None:
    """Raise what a non-2xx answer means. Help Scout says how long to wait in
    `X-RateLimit-Retry-After`; its error code is `error` (OAuth) or the top-level `message`."""
    if 200 <= answer.status < 300:
        return
    if answer.status == 429:
        wait = answer.header("X-RateLimit-Retry-After") or answer.header("Retry-After")
        raise RateLimited(f"{call}: HTTP 429", wait)
    raise fail_for(answer, call, _code(answer))


def _code(answer: Response) -> str | None:
    try:
        body = answer.json()
    except Transient:
        return None
    if not isinstance(body, dict):
        return None
    for key in ("error", "message"):
        if isinstance(body.get(key), str):
            return str(body[key])[:80]
    return None


def _conversation_id(raw: str) -> str:
    if not _CONVERSATION_ID.match(raw):
        raise Permanent(f"ticket id {raw[:40]!r} is not a Help Scout conversation id")
    return raw


__all__ = ["HelpScout", "forget_tokens", "note_html"]
