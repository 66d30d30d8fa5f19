"""The sandbox's workspace state: users, conversations, messages, views, files, triggers."""

from __future__ import annotations

import copy
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

# Slack labels zones with long names; zoneinfo only knows abbreviations, so map the common ones.
_TZ_LABELS = {
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "UTC": "Coordinated Universal Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "EET": "Eastern European Time",
    "EEST": "Eastern European Summer Time",
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time",
    "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "IST": "India Standard Time",
    "JST": "Japan Standard Time",
    "AEST": "Australian Eastern Standard Time",
    "AEDT": "Australian Eastern Daylight Time",
}

TRIGGER_LIFETIME_SECONDS = 3.0


class ApiError(Exception):
    """A Slack error answer (`{"ok": false, "error": ...}`) with optional extra fields."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON body Slack would send."""
        return {"ok": False, "error": self.error, **self.extra}


@dataclass
class RecordedCall:
    """One Web API call as the sandbox saw and answered it."""

    method: str
    args: dict[str, Any]
    response: dict[str, Any]
    status: int
    time: float
    token: str | None = None


@dataclass
class RecordedResponse:
    """One POST to a `response_url`, with whom and where the URL was issued for."""

    url_id: str
    user_id: str
    channel_id: str | None
    message_ts: str | None
    body: dict[str, Any]
    time: float


@dataclass
class Trigger:
    """A trigger id: whose, when issued (monotonic) and whether already exchanged."""

    user_id: str
    issued: float
    used: bool = False


@dataclass
class ResponseUrl:
    """Where a response_url answers to."""

    user_id: str
    channel_id: str | None
    message_ts: str | None


@dataclass
class ViewRecord:
    """A view the app opened, pushed or published, and for whom."""

    view: dict[str, Any]
    user_id: str
    closed: bool = False


@dataclass
class Workspace:
    """All state of one sandboxed workspace; callers hold the sandbox's lock."""

    team_id: str
    bot_user_id: str
    team_domain: str = "sandbox"
    team_name: str = "Sandbox"
    bot_id: str = "B0SANDBOX"
    app_id: str = "A0SANDBOX"
    clock: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic
    messages_tab_enabled: bool = True
    base_url: str = ""
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    views: dict[str, ViewRecord] = field(default_factory=dict)
    home_views: dict[str, str] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    triggers: dict[str, Trigger] = field(default_factory=dict)
    response_urls: dict[str, ResponseUrl] = field(default_factory=dict)
    responses: list[RecordedResponse] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _last_ts_us: int = 0

    def new_id(self, prefix: str) -> str:
        """A fresh Slack-looking id such as `V00000A1`."""
        return f"{prefix}{next(self._ids):07X}"

    def next_ts(self) -> str:
        """A message ts: `seconds.micros` from the clock, strictly increasing and unique."""
        now_us = int(self.clock() * 1_000_000)
        self._last_ts_us = max(self._last_ts_us + 1, now_us)
        seconds, micros = divmod(self._last_ts_us, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        email: str | None = None,
        tz: str = "Europe/London",
        is_bot: bool = False,
        deleted: bool = False,
    ) -> dict[str, Any]:
        """Create or replace a user; return it in `users.info` shape."""
        ZoneInfo(tz)  # fail now, not on the first users.info, for a misspelt zone
        name = name or user_id.lower()
        real_name = real_name or name
        self.users[user_id] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": deleted,
            "color": "9f69e7",
            "real_name": real_name,
            "tz": tz,
            "profile": {
                "real_name": real_name,
                "real_name_normalized": real_name,
                "display_name": name,
                "display_name_normalized": name,
                "email": email,
                "team": self.team_id,
                "image_48": f"https://avatars.example.invalid/{user_id}_48.png",
            },
            "is_admin": False,
            "is_owner": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": int(self.clock()),
        }
        return self.user_object(user_id)

    def deactivate_user(self, user_id: str) -> dict[str, Any]:
        """Mark a user deleted, as an admin deactivating them does; return them in `users.info`
        shape. They stay in users.list; their IM, if open, says `is_user_deleted`."""
        user = self.users[user_id]
        user["deleted"] = True
        user["updated"] = int(self.clock())
        im = self.channels.get("D" + user_id)
        if im is not None:
            im["is_user_deleted"] = True
        return self.user_object(user_id)

    def user_object(self, user_id: str) -> dict[str, Any]:
        """The user in `users.info` shape, time zone fields computed for the clock's now."""
        user = copy.deepcopy(self.users[user_id])
        local = datetime.fromtimestamp(self.clock(), ZoneInfo(user["tz"]))
        offset = local.utcoffset()
        abbreviation = local.tzname() or user["tz"]
        user["tz_label"] = _TZ_LABELS.get(abbreviation, abbreviation)
        user["tz_offset"] = int(offset.total_seconds()) if offset is not None else 0
        if user["profile"]["email"] is None:
            del user["profile"]["email"]
        return user

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        members: list[str] | None = None,
        bot_is_member: bool = True,
    ) -> dict[str, Any]:
        """Create or replace a channel; return it in `conversations.info` shape, whose
        `is_member` says whether the bot is in it (Slack's conversations.info page)."""
        self.channels[channel_id] = {
            "id": channel_id,
            "name": name,
            "is_channel": not is_private,
            "is_group": is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": is_private,
            "is_archived": False,
            "is_general": False,
            "is_member": bot_is_member,
            "created": int(self.clock()),
            "creator": self.bot_user_id,
            "members": list(members or []),
        }
        self.history.setdefault(channel_id, [])
        return copy.deepcopy(self.channels[channel_id])

    def open_im(self, user_id: str) -> str:
        """The IM channel id between the bot and `user_id`, created on first use."""
        channel_id = "D" + user_id
        if channel_id not in self.channels:
            self.channels[channel_id] = {
                "id": channel_id,
                "created": int(self.clock()),
                "is_im": True,
                "is_org_shared": False,
                "user": user_id,
                "is_user_deleted": self.users[user_id]["deleted"],
                "priority": 0,
            }
            self.history.setdefault(channel_id, [])
        return channel_id

    def resolve_channel(self, channel: Any) -> str:
        """A conversation id from an id, a user id (their IM) or a `#name`."""
        if not isinstance(channel, str) or not channel:
            raise ApiError("channel_not_found")
        if channel in self.channels:
            return channel
        if channel in self.users:
            return self.open_im(channel)
        name = channel.removeprefix("#")
        for channel_id, info in self.channels.items():
            if info.get("name") == name:
                return channel_id
        raise ApiError("channel_not_found")

    def is_im(self, channel_id: str) -> bool:
        """Whether the conversation is a bot-user IM."""
        return bool(self.channels.get(channel_id, {}).get("is_im"))

    def append_message(self, channel_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """Store a message, giving it a fresh ts; return the stored dict."""
        message = {"type": "message", **message, "ts": self.next_ts(), "team": self.team_id}
        self.history.setdefault(channel_id, []).append(message)
        return message

    def bot_message(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Fields every message posted by the app's bot user carries."""
        return {
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            **fields,
        }

    def find_message(self, channel_id: str, ts: str) -> dict[str, Any]:
        """The stored message at `ts`, or `message_not_found`."""
        for message in self.history.get(channel_id, []):
            if message["ts"] == ts:
                return message
        raise ApiError("message_not_found")

    def new_trigger(self, user_id: str) -> str:
        """Issue a trigger id for `user_id`, shaped like Slack's `1234.5678.abcdef`."""
        trigger_id = f"{next(self._ids)}.{int(self.clock())}.{secrets.token_hex(16)}"
        self.triggers[trigger_id] = Trigger(user_id, self.monotonic())
        return trigger_id

    def exchange_trigger(self, trigger_id: Any) -> str:
        """Use up a trigger id; return its user or raise Slack's error for it."""
        trigger = self.triggers.get(trigger_id) if isinstance(trigger_id, str) else None
        if trigger is None:
            raise ApiError("invalid_trigger_id")
        if trigger.used:
            raise ApiError("exchanged_trigger_id")
        if self.monotonic() - trigger.issued > TRIGGER_LIFETIME_SECONDS:
            raise ApiError("expired_trigger_id")
        trigger.used = True
        return trigger.user_id

    def new_response_url(
        self, user_id: str, channel_id: str | None, message_ts: str | None = None
    ) -> str:
        """Issue a response_url on the sandbox for a user in a conversation."""
        url_id = secrets.token_urlsafe(12)
        self.response_urls[url_id] = ResponseUrl(user_id, channel_id, message_ts)
        return f"{self.base_url}/response/{url_id}"
