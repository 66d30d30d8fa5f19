"""Sandbox answer for users.list: every member, deactivated ones too, in cursor pages."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from bot.sandbox.apiargs import int_arg
from bot.sandbox.workspace import ApiError, Workspace

USERS_LIST_MAX_LIMIT = 1000
""""The limit parameter maximum is 1000" (https://docs.slack.dev/apis/web-api/pagination);
a larger limit gets at most that many, as Slack may always return "fewer than the requested
number of items"."""

_CURSOR_PREFIX = "user:"
"""Slack's cursors for users.list decode to `user:<id>` (its example, `dXNlcjpVMDYxTkZUVDI=`)."""


def users_list(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """users.list: members in `users.info` shape, deleted ones included, ordered by id.

    Without a `limit` (or with 0, the documented default) the whole set comes back at once.
    `response_metadata.next_cursor` is the next page's cursor, an empty string after the last.
    """
    limit = int_arg(args, "limit", 0)
    user_ids = sorted(ws.users)
    start = _cursor_start(args.get("cursor"), user_ids)
    size = min(limit, USERS_LIST_MAX_LIMIT) if limit > 0 else len(user_ids)
    page = user_ids[start : start + size]
    rest = user_ids[start + size :]
    next_cursor = _cursor(rest[0]) if rest else ""
    return {
        "ok": True,
        "members": [ws.user_object(user_id) for user_id in page],
        "cache_ts": int(ws.clock()),
        "response_metadata": {"next_cursor": next_cursor},
    }


def _cursor(user_id: str) -> str:
    return base64.b64encode(f"{_CURSOR_PREFIX}{user_id}".encode()).decode()


def _cursor_start(cursor: Any, user_ids: list[str]) -> int:
    """The index of the first member on the page `cursor` points at (0 without one)."""
    if not cursor:
        return 0
    try:
        decoded = base64.b64decode(str(cursor), validate=True).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError("invalid_cursor") from None
    user_id = decoded.removeprefix(_CURSOR_PREFIX)
    if not decoded.startswith(_CURSOR_PREFIX) or user_id not in user_ids:
        raise ApiError("invalid_cursor")
    return user_ids.index(user_id)


USER_METHODS = {
    "users.list": users_list,
}
