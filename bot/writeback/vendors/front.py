"""Front (Core API): a comment on the conversation; reopened to `open` after it.

Every call, from Front's Core API reference (dev.frontapp.com/reference/) and its OpenAPI
description (github.com/frontapp/front-api-specs, core-api):

- **Auth** (dev.frontapp.com/docs/authentication, .../create-and-revoke-api-tokens): a company
  API token (Settings > Developers > API tokens; admins only) sent as `Authorization: Bearer
  {token}`. It needs the "Access resources" feature, the namespace holding the conversations
  (Shared resources, or the workspace) and the read and write permissions. A wrong one is 401.
- **Note** (reference/add-comment): `POST /conversations/{conversation_id}/comments` with
  `{"body": ...}` answers `201` and the comment (`id` "com_..."). Comments are internal by
  nature: they are only ever shown to teammates, never sent. Without `author_id` the comment is
  posted by the API token's bot teammate. `body` "Can include markdown formatting", so the plain
  text is escaped for Markdown (HTML's `<`, `>` and `&` as entities, Markdown punctuation with a
  backslash) and each line break is a hard break (two trailing spaces).
- **Reopen** (reference/update-conversation): `PATCH /conversations/{conversation_id}` with
  `{"status": "open"}` (of archived, open, deleted, spam) answers `204`; the conversation becomes
  assigned or unassigned again. Setting the status it already has is harmless: the reopen is
  idempotent. With ticketing on, `status_id` sets a ticket status instead; `status` still
  moves the conversation out of archived (unconfirmed: which ticket status it then shows).
- **Can't note**: a merged conversation answers `301` to the merged one. Our transport never
  follows a redirect (it would turn the POST into a GET, so the comment is not posted, and the
  conversation's comment list) and does not follow it for a PATCH: both are Permanent here,
  naming the conversation it was merged into when the answer tells. An unknown one is 404.
  unconfirmed: whether a comment alone moves an archived conversation back to open (Front's
  help says "new activity" reopens an archived conversation); this client never re-archives.
- **Read back** (reference/list-conversation-comments): `GET /conversations/{id}/comments`,
  newest first, `_results[].body`, then `_pagination.next` (followed only on this API address).
- **Check** (reference/api-token-details): `GET /me`, the token's company (`id` "cmp_...",
  `name`).
- **Limits** (dev.frontapp.com/docs/rate-limiting): per company, 50, 100 or 200 requests a
  minute by plan, plus short "burst" limits on some resources; past them `429` with
  `Retry-After` in seconds (and `X-Front-Tier` for a burst limit).
- **Errors**: `{"_error": {"status", "title", "message", "details"}}`; only `title` goes into a
  failure's reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from bot.writeback.transport import Http, Permanent, Response, Transient, fail_for
from bot.writeback.vendors.base import Delivered, Job, has_marker

REOPEN_STATUS = "open"
MAX_COMMENT_PAGES = 5

_CONVERSATION_ID = re.compile(r"^cnv_[0-9a-z]{1,40}$")
_MERGED_INTO = re.compile(r"/conversations/(cnv_[0-9a-z]{1,40})(?:[/?]|$)")
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+!|~])")
_LINE_START = re.compile(r"^(\s*\d*)([-=.)])")


class Front:
    def __init__(self, settings: Mapping[str, str], http: Http) -> None:
        self.base = settings["URL"].rstrip("/")
        self.http = http
        self.headers = {"Authorization": f"Bearer {settings['TOKEN']}"}

    def deliver(self, job: Job) -> Delivered:
        conversation = _conversation_id(job.ticket)
        if job.retried and self._noted(conversation, job.marker):
            if not job.reopen:
                return Delivered("comment already on the conversation")
            self._reopen(conversation)
            return Delivered(f"comment already there; status {REOPEN_STATUS}")
        answer = self.http.request(
            "POST",
            f"{self.base}/conversations/{conversation}/comments",
            headers=self.headers,
            json_body={"body": comment_markdown(job.body, job.marker)},
        )
        if answer.status in (301, 302, 307, 308):  # merged (the transport never follows)
            raise Permanent("add comment: " + _merged(answer))
        _ok(answer, "add comment")
        comment = answer.json()
        if not isinstance(comment, dict) or not str(comment.get("id") or "").startswith("com_"):
            raise Transient(f"add comment: HTTP {answer.status}: the answer was not a comment")
        done = f"comment {comment['id']}"
        if job.reopen:
            self._reopen(conversation)
            done += f"; status {REOPEN_STATUS}"
        return Delivered(done)

    def _reopen(self, conversation: str) -> None:
        answer = self.http.request(
            "PATCH",
            f"{self.base}/conversations/{conversation}",
            headers=self.headers,
            json_body={"status": REOPEN_STATUS},
        )
        if answer.status in (301, 302, 307, 308):
            raise Permanent("reopen: " + _merged(answer))
        _ok(answer, "reopen")

    def _noted(self, conversation: str, marker: str) -> bool:
        url: str | None = f"{self.base}/conversations/{conversation}/comments"
        for _ in range(MAX_COMMENT_PAGES):
            if url is None:
                break
            answer = self.http.request("GET", url, headers=self.headers)
            _ok(answer, "list comments")
            found = answer.json() or {}
            comments = found.get("_results") or []
            if has_marker([str(c.get("body") or "") for c in comments], marker):
                return True
            following = (found.get("_pagination") or {}).get("next")
            # The token goes only to this API's own address.
            url = (
                following
                if isinstance(following, str) and _same_api(following, self.base)
                else None
            )
        return False

    def check(self) -> str:
        answer = self.http.request("GET", f"{self.base}/me", headers=self.headers)
        _ok(answer, "me")
        company = answer.json() or {}
        return f"company {company.get('name')} ({company.get('id')})"


_MENTION = re.compile(r"(?<![\w.+-])@")
"""An "@" where a mention could start: at a line's start or after a space or punctuation,
never inside an address like priya@example.com."""


def comment_markdown(text: str, keep: str = "") -> str:
    """The plain-text note as Markdown that renders as the same text: HTML's special
    characters as entities, Markdown punctuation escaped, no "@" mention, line breaks kept as
    hard breaks.
    `keep` (the marker) is left exactly as it is, so a read-back finds it; `-` is escaped only
    at a line's start, so a marker like `fu-...` needs no help anyway."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "  \n".join(_kept(line, keep, _markdown_line) for line in lines)


def _markdown_line(line: str) -> str:
    line = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # "@name" in a comment mentions a teammate, who is notified and given access to the
    # conversation (Front's changelog on comment mentions): a word joiner after an "@" that
    # could start one (not inside an email address) keeps a customer's words from mentioning
    # anyone, and shows nothing.
    line = _MENTION.sub("@\u2060", line)
    line = _MARKDOWN.sub(r"\\\1", line)
    return _LINE_START.sub(r"\1\\\2", line, count=1)


def _kept(line: str, keep: str, escape: Callable[[str], str]) -> str:
    if not keep or keep not in line:
        return escape(line)
    return keep.join(escape(part) for part in line.split(keep))


def _same_api(url: str, base: str) -> bool:
    return url == base or url.startswith(base + "/")


def _merged(answer: Response) -> str:
    """What a redirected comment or reopen means: the conversation was merged (into the one
    `Location`, or the followed answer's `_links.self`, names)."""
    into = answer.header("Location") or ""
    if not into:
        try:
            body = answer.json()
        except Transient:
            body = None
        if isinstance(body, dict):
            into = str((body.get("_links") or {}).get("self") or "")
    target = _MERGED_INTO.search(into)
    where = f" into {target.group(1)}" if target else ""
    status = answer.status if answer.status >= 300 else 301  # a followed redirect
    return f"HTTP {status} the conversation was merged{where}; nothing was changed"


def _ok(answer: Response, call: str) -> None:
    """Raise what a non-2xx answer means (429 carries Front's `Retry-After`, in seconds);
    the code is the `_error` object's `title`."""
    if 200 <= answer.status < 300:
        return
    raise fail_for(answer, call, _code(answer))


def _code(answer: Response) -> str | None:
    try:
        body = answer.json()
    except Transient:
        return None
    error = body.get("_error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("title"), str):
        return str(error["title"])[:80]
    return None


def _conversation_id(raw: str) -> str:
    if not _CONVERSATION_ID.match(raw):
        raise Permanent(f"ticket id {raw[:40]!r} is not a Front conversation id (cnv_...)")
    return raw


__all__ = ["Front", "comment_markdown"]
