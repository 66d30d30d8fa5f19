"""Jira Service Management: an internal comment on the request; reopened by a workflow
transition into a "To Do" or "In Progress" status.

Every call, from Atlassian's Jira Service Management Cloud REST API reference
(developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/), the Jira Cloud
platform REST API v3 reference (developer.atlassian.com/cloud/jira/platform/rest/v3/) and its
guides "Basic auth for REST APIs" and "Rate limiting":

- **Auth**: HTTP Basic with `{email}:{api_token}` (an API token from id.atlassian.com >
  Security > API tokens; passwords are refused). A wrong pair is 401, and the body is not
  always JSON.
- **Note**: `POST /rest/servicedeskapi/request/{issueIdOrKey}/comment` with `{"body": ...,
  "public": false}`: "Indicates whether the comment is public (true) or private/internal
  (false)". The reference documents this call for internal comments; the platform comment
  with an `sd.public.comment` property is not in it, so we do not use that. "Customers can set
  comments to public visibility only": a comment that comes back `public` fails the job for
  good. The body is a string rendered as Jira wiki markup (unconfirmed: the reference says
  only "Content of the comment"), so `wiki()` escapes markup characters; line breaks stay.
  Unconfirmed: Jira's default text limit of 32,767 characters applies to it.
- **Reopen**: `GET /rest/api/3/issue/{issueIdOrKey}?fields=status` gives
  `status.statusCategory.key` (new, indeterminate or done); only a done request is moved.
  `GET /rest/api/3/issue/{issueIdOrKey}/transitions` lists the transitions available from its
  status, each with `to.statusCategory.key`; `POST` to the same path with
  `{"transition": {"id": "..."}}` answers 204. We take WRITEBACK_JIRA_REOPEN_TRANSITION, or
  else the first transition into a new or indeterminate status. A second run finds the
  request open and does nothing: the reopen is idempotent.
- **Closed**: Jira has no closed-for-good state of its own, but a workflow may have no
  transition out of a final status (like "Closed"): then the request cannot be reopened and
  the job fails for good, naming the status. A transition not available from the current
  status is 400 (`errorMessages`, like "Transition id '41' is not valid for this issue";
  unconfirmed wording); a transition with required screen fields is 400 naming the fields.
- **Read back**: `GET /rest/servicedeskapi/request/{issueIdOrKey}/comment?start=&limit=`
  (public and internal by default; paged: `values`, `isLastPage`). The marker is looked for
  with backslashes removed (unconfirmed: that Jira gives the wiki text back as sent).
- **Agent first**: `GET /rest/api/3/mypermissions?issueId=...&permissions=SERVICEDESK_AGENT`
  (Get my permissions) before each comment: a portal customer's comments are public whatever
  it asks, and JSM emails them; without the permission nothing is posted. A comment that still
  comes back public is deleted at once (`DELETE /rest/api/3/issue/{id}/comment/{id}`).
- **Check**: `GET /rest/api/3/myself`: `accountType` is "atlassian" for a licensed user and
  "customer" for a portal-only customer (who cannot add internal comments).
- **Limits**: rate limits are dynamic (burst per endpoint, and a per-issue write limit,
  `RateLimit-Reason: jira-per-issue-on-write`); a 429 "may be accompanied by Retry-After"
  (seconds) and X-RateLimit-Reset.
- **Errors**: the platform sends `{"errorMessages": [...], "errors": {field: message}}`, the
  servicedeskapi `{"errorMessage": ..., "i18nErrorMessage": {"i18nKey": ..., ...}}`. Reasons
  carry the i18nKey or the field names, never a message (it may quote what we sent).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from bot.writeback.transport import Http, Permanent, Response, WritebackError, fail_for
from bot.writeback.vendors.base import Delivered, Job, basic_auth, has_marker

OPEN_CATEGORIES = ("new", "indeterminate")
"""Status categories that count as open: "To Do" and "In Progress"."""
MAX_BODY = 32_767
PAGE_SIZE = 50
MAX_PAGES = 40
"""Comments read back on a retry: at most this many pages of `PAGE_SIZE`."""

_ISSUE_ID = re.compile(r"^[1-9][0-9]{0,18}$")
_ISSUE_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,254}-[1-9][0-9]{0,18}$")
_MARKUP = frozenset("*_+^~?{}[]|!#")


class Jira:
    def __init__(self, settings: Mapping[str, str], http: Http) -> None:
        self.base = settings["URL"].rstrip("/")
        self.http = http
        self.headers = {"Authorization": basic_auth(settings["EMAIL"], settings["TOKEN"])}
        self.transition = (settings.get("REOPEN_TRANSITION") or "").strip()

    def deliver(self, job: Job) -> Delivered:
        issue = _issue_ref(job.ticket)
        if job.retried and self._noted(issue, job.marker):
            done = "internal comment already there"
        else:
            done = f"internal comment {self._comment(issue, job.body)}"
        if job.reopen:
            done += "; " + self._reopen(issue)
        return Delivered(done)

    def _comment(self, issue: str, body: str) -> str:
        text = wiki(body)
        if len(text) > MAX_BODY:
            raise Permanent(f"add comment: the note is longer than Jira's {MAX_BODY} characters")
        self._must_be_agent(issue)  # a customer's comments are public (and emailed): never
        answer = self._call(
            "POST",
            f"/rest/servicedeskapi/request/{issue}/comment",
            "add comment",
            {"body": text, "public": False},
        )
        comment = _object(answer)
        if comment.get("public") is not False:
            # The account lost its agent role between the check and the post: the customer can
            # see this comment (and JSM may have emailed it). Take it down at once.
            gone = self._delete_comment(issue, str(comment.get("id") or ""))
            raise Permanent(
                "add comment: Jira made the comment public (the account is not an agent of "
                f"this service project); {gone}"
            )
        return str(comment.get("id") or "")

    def _must_be_agent(self, issue: str) -> None:
        """The account holds SERVICEDESK_AGENT on this issue's project: a portal customer (an
        Atlassian account too) only ever posts public comments, which JSM emails out."""
        which = "issueId" if issue.isdigit() else "issueKey"
        answer = self._call(
            "GET",
            f"/rest/api/3/mypermissions?{which}={issue}&permissions={AGENT_PERMISSION}",
            "mypermissions",
        )
        granted = _dig(_object(answer), "permissions", AGENT_PERMISSION)
        if not (isinstance(granted, dict) and granted.get("havePermission") is True):
            raise Permanent(
                f"mypermissions: the account lacks {AGENT_PERMISSION} on this request's "
                "service project (it is not an agent there): nothing was posted"
            )

    def _delete_comment(self, issue: str, comment_id: str) -> str:
        if not comment_id.isdigit():
            return "it could not be deleted (no comment id): delete it by hand"
        try:
            self._call(
                "DELETE", f"/rest/api/3/issue/{issue}/comment/{comment_id}", "delete comment"
            )
        except WritebackError as error:
            return f"it could not be deleted ({error.reason}): delete it by hand"
        return "it was deleted at once"

    def _reopen(self, issue: str) -> str:
        issue_answer = self._call("GET", f"/rest/api/3/issue/{issue}?fields=status", "get issue")
        status = _dig(_object(issue_answer), "fields", "status")
        name = _name(status)
        if _category(status) in OPEN_CATEGORIES:
            return f"status {name} (already open)"
        listed = self._call("GET", f"/rest/api/3/issue/{issue}/transitions", "list transitions")
        transitions = _object(listed).get("transitions")
        chosen = self._pick(transitions if isinstance(transitions, list) else [], name)
        self._call(
            "POST",
            f"/rest/api/3/issue/{issue}/transitions",
            "transition issue",
            {"transition": {"id": str(chosen["id"])}},
        )
        return f"status {_name(chosen.get('to'))}"

    def _pick(self, transitions: list[Any], status: str) -> dict[str, Any]:
        usable = [
            t
            for t in transitions
            if isinstance(t, dict) and t.get("id") is not None and t.get("isAvailable") is not False
        ]
        if self.transition:
            for transition in usable:
                if str(transition["id"]) != self.transition:
                    continue
                if _category(transition.get("to")) not in OPEN_CATEGORIES:
                    raise Permanent(
                        f"reopen: transition {self.transition} (WRITEBACK_JIRA_REOPEN_TRANSITION) "
                        f"leads to {_name(transition.get('to'))}, not a To Do or In Progress status"
                    )
                return transition
            raise Permanent(
                f"reopen: transition {self.transition} (WRITEBACK_JIRA_REOPEN_TRANSITION) is not "
                f"available from status {status}"
            )
        for transition in usable:
            if _category(transition.get("to")) in OPEN_CATEGORIES:
                return transition
        raise Permanent(
            f"reopen: the workflow has no transition from status {status} to a To Do or In "
            "Progress status: the request cannot be reopened"
        )

    def _noted(self, issue: str, marker: str) -> bool:
        start = 0
        for _ in range(MAX_PAGES):
            answer = self._call(
                "GET",
                f"/rest/servicedeskapi/request/{issue}/comment?start={start}&limit={PAGE_SIZE}",
                "list comments",
            )
            page = _object(answer)
            values = page.get("values")
            comments = (
                [c for c in values if isinstance(c, dict)] if isinstance(values, list) else []
            )
            # Without backslashes: Jira may give the wiki text back escaped differently.
            bodies = [str(c.get("body") or "").replace("\\", "") for c in comments]
            if has_marker(bodies, marker):
                return True
            if page.get("isLastPage") is not False or not comments:
                return False
            start += len(comments)
        return False

    def check(self) -> str:
        me = _object(self._call("GET", "/rest/api/3/myself", "myself"))
        kind = me.get("accountType")
        if kind != "atlassian" or me.get("active") is False:
            what = "an inactive" if me.get("active") is False else f"a {kind or 'non-agent'}"
            raise Permanent(f"myself: the token acts as {what} account, not a licensed agent")
        return f"user {me.get('emailAddress') or me.get('displayName') or me.get('accountId')}"

    def _call(
        self, method: str, path: str, call: str, body: dict[str, Any] | None = None
    ) -> Response:
        answer = self.http.request(method, self.base + path, headers=self.headers, json_body=body)
        if 200 <= answer.status < 300:
            return answer
        raise fail_for(answer, call, _error_code(answer))


def wiki(text: str) -> str:
    """Plain text as Jira wiki markup that renders as written: each markup character escaped
    with a backslash, a hyphen too unless it joins two letters or digits (so `fu-...` markers
    and words like e-mail stay whole), a backslash as `&#92;` (two of them are a line break),
    line breaks kept. Unconfirmed: emoticons like `:)` and a line starting `h1. ` still render."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out: list[str] = []
    for index, char in enumerate(text):
        if char == "\\":
            out.append("&#92;")
        elif char in _MARKUP:
            out.append("\\" + char)
        elif char == "-" and not (
            0 < index < len(text) - 1 and text[index - 1].isalnum() and text[index + 1].isalnum()
        ):
            out.append("\\-")
        else:
            out.append(char)
    return "".join(out)


AGENT_PERMISSION = "SERVICEDESK_AGENT"
"""The project permission of a JSM agent (Jira Cloud platform REST API, "Get my permissions":
project permissions include `SERVICEDESK_AGENT`, Jira Service Desk only)."""


def _issue_ref(raw: str) -> str:
    if not (_ISSUE_ID.match(raw) or _ISSUE_KEY.match(raw)):
        raise Permanent(f"ticket id {raw[:40]!r} is not a Jira issue id or key")
    return raw


def _object(answer: Response) -> dict[str, Any]:
    body = answer.json()
    return body if isinstance(body, dict) else {}


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _category(status: Any) -> str | None:
    key = _dig(status, "statusCategory", "key")
    return key if isinstance(key, str) else None


def _name(status: Any) -> str:
    name = _dig(status, "name")
    return repr(name[:60]) if isinstance(name, str) else "(unnamed)"


def _error_code(answer: Response) -> str | None:
    """The servicedeskapi's i18nKey, or the platform's field names: never a message."""
    try:
        body = json.loads(answer.body.decode("utf-8")) if answer.body else None
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(body, dict):
        return None
    key = _dig(body, "i18nErrorMessage", "i18nKey")
    if isinstance(key, str):
        return key[:80]
    errors = body.get("errors")
    if isinstance(errors, dict) and errors:
        return ("fields " + ",".join(sorted(str(k) for k in errors)))[:80]
    return None


__all__ = ["Jira", "wiki"]
