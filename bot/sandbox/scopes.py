"""The bot token's OAuth scopes, as Slack checks them on every Web API call.

Sources:
- Slack's method reference pages, "Required scopes" (mirrored in tonnenpinguin/slack-api-docs,
  methods/*.md): `conversations.info` needs `channels:read`, `groups:read`, `im:read` or
  `mpim:read` "depending on the type of channel-like object"; `conversations.history` the
  matching `*:history`; `chat.*` `chat:write`; `users.info` and `users.list` `users:read`;
  `users.lookupByEmail` `users:read.email`; the file upload steps `files:write`;
  `conversations.open` one of `channels:manage`, `groups:write`, `im:write`, `mpim:write`.
- Slack's "Working with scopes" (api.slack.com/legacy/oauth-scopes#working-with-scopes, quoted
  in zulip/zulip#16788 and slack-go/slack#1076): every response, a failed one too, carries the
  token's scopes in the `X-OAuth-Scopes` header, comma-separated.
- A call without the scope answers `{"ok": false, "error": "missing_scope", "needed": ...,
  "provided": ...}` (a recorded answer in slackapi/java-slack-sdk's users_Test:
  `"needed":"identity.basic","provided":"identify,read,post,..."`).

Not confirmed: which scope Slack names in `needed` for a channel id it does not know; the
sandbox then asks for any of the four `*:read` scopes and otherwise says `channel_not_found`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from bot.sandbox.workspace import ApiError, Workspace

DEFAULT_BOT_SCOPES = frozenset(
    {
        "channels:history",
        "channels:read",
        "chat:write",
        "commands",
        "files:write",
        "groups:history",
        "groups:read",
        "im:history",
        "im:read",
        "im:write",
        "users:read",
        "users:read.email",
    }
)
"""What a workspace grants the bot unless a test grants fewer (Followup's manifest, and more)."""

METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "conversations.open": ("im:write", "channels:manage", "groups:write", "mpim:write"),
    "users.info": ("users:read",),
    "users.list": ("users:read",),
    "users.lookupByEmail": ("users:read.email",),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
}
"""Methods whose bot scope does not depend on the conversation: any one listed will do."""

CONVERSATION_SCOPES: dict[str, str] = {
    "conversations.info": "read",
    "conversations.history": "history",
}
"""Methods whose scope is `<type>:<action>` for the conversation's type."""


def scope_error(
    ws: Workspace, method: str, args: dict[str, Any], granted: Collection[str]
) -> ApiError | None:
    """Slack's `missing_scope` answer when `granted` lacks what `method` needs, else None."""
    if method in CONVERSATION_SCOPES:
        needed = _conversation_scopes(ws, CONVERSATION_SCOPES[method], args.get("channel"))
    else:
        needed = METHOD_SCOPES.get(method, ())
    if not needed or any(scope in granted for scope in needed):
        return None
    return ApiError("missing_scope", needed=",".join(needed), provided=",".join(sorted(granted)))


def _conversation_scopes(ws: Workspace, action: str, channel: Any) -> tuple[str, ...]:
    info = ws.channels.get(channel) if isinstance(channel, str) else None
    if info is None:
        return tuple(f"{kind}:{action}" for kind in ("channels", "groups", "im", "mpim"))
    if info.get("is_im"):
        return (f"im:{action}",)
    if info.get("is_mpim"):
        return (f"mpim:{action}",)
    return (f"groups:{action}",) if info.get("is_private") else (f"channels:{action}",)
