"""Sandbox answers for auth, chat, conversations, users and apps Web API methods."""

from __future__ import annotations

import base64
import binascii
import copy
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.sandbox.apiargs import flag, int_arg, optional_text, text_arg
from bot.sandbox.blockkit import (
    check_message_blocks,
    slack_error_messages,
    truncate_message_text,
    truncation_warning,
)
from bot.sandbox.workspace import ApiError, Workspace

HISTORY_DEFAULT_LIMIT = 100
HISTORY_MAX_LIMIT = 999


def auth_test(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """auth.test: who the bot token belongs to."""
    return {
        "ok": True,
        "url": f"https://{ws.team_domain}.slack.com/",
        "team": ws.team_name,
        "user": "followup",
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


def chat_post_message(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """chat.postMessage: store a bot message in a channel or a user's IM."""
    channel_id = ws.resolve_channel(args.get("channel"))
    if ws.is_im(channel_id) and not ws.messages_tab_enabled:
        raise ApiError("messages_tab_disabled")
    content = _message_content(args, required=True)
    thread_ts = optional_text(args, "thread_ts")
    if thread_ts is not None:
        content["thread_ts"] = thread_ts
    message = ws.append_message(channel_id, ws.bot_message(content))
    answer = {"ok": True, "channel": channel_id, "ts": message["ts"], "message": dict(message)}
    return {**answer, **truncation_warning(args.get("text"))}


def chat_update(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """chat.update: replace the text, blocks, attachments or metadata of a bot message."""
    channel_id = ws.resolve_channel(args.get("channel"))
    ts = text_arg(args, "ts", error="message_not_found")
    message = ws.find_message(channel_id, ts)
    if message.get("user") != ws.bot_user_id:
        raise ApiError("cant_update_message")
    content = _message_content(args, required=True)
    # Slack keeps fields the update leaves out (an empty list clears blocks).
    message.update(content)
    message["edited"] = {"user": ws.bot_user_id, "ts": ws.next_ts()}
    return {
        "ok": True,
        "channel": channel_id,
        "ts": ts,
        "text": message.get("text", ""),
        "message": dict(message),
        **truncation_warning(args.get("text")),
    }


def chat_delete(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """chat.delete: remove a message."""
    channel_id = ws.resolve_channel(args.get("channel"))
    ts = text_arg(args, "ts", error="message_not_found")
    message = ws.find_message(channel_id, ts)
    ws.history[channel_id].remove(message)
    return {"ok": True, "channel": channel_id, "ts": ts}


def chat_post_ephemeral(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """chat.postEphemeral: a message only `user` sees, recorded in `ephemerals`."""
    channel_id = ws.resolve_channel(args.get("channel"))
    user_id = text_arg(args, "user", error="user_not_found")
    if user_id not in ws.users:
        raise ApiError("user_not_found")
    channel = ws.channels[channel_id]
    members = channel.get("members") or []
    if (channel.get("is_im") and channel.get("user") != user_id) or (
        members and user_id not in members
    ):
        raise ApiError("user_not_in_channel")
    content = _message_content(args, required=True)
    ts = ws.next_ts()
    ws.ephemerals.append({"channel": channel_id, "user": user_id, "ts": ts, **content})
    return {"ok": True, "message_ts": ts, **truncation_warning(args.get("text"))}


def chat_get_permalink(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """chat.getPermalink: the message's web link, never fetched."""
    channel_id = ws.resolve_channel(args.get("channel"))
    ts = text_arg(args, "message_ts", error="message_not_found")
    ws.find_message(channel_id, ts)
    link = f"https://{ws.team_domain}.slack.com/archives/{channel_id}/p{ts.replace('.', '')}"
    return {"ok": True, "channel": channel_id, "permalink": link}


def conversations_open(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """conversations.open: the IM with one user (multi-person IMs are not sandboxed)."""
    users = [user for user in str(args.get("users") or "").split(",") if user]
    if len(users) != 1:
        raise ApiError("invalid_arguments" if users else "users_list_not_supplied")
    user_id = users[0]
    if user_id not in ws.users:
        raise ApiError("user_not_found")
    if ws.users[user_id]["deleted"]:
        raise ApiError("user_disabled")
    already_open = ("D" + user_id) in ws.channels
    channel_id = ws.open_im(user_id)
    channel = copy.deepcopy(ws.channels[channel_id]) if flag(args, "return_im") else {}
    channel["id"] = channel_id
    answer: dict[str, Any] = {"ok": True, "channel": channel}
    if already_open:
        answer.update(no_op=True, already_open=True)
    return answer


def conversations_info(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """conversations.info: the conversation object, without its member list; `is_member` says
    whether the bot is in it. A private channel the bot is not in is hidden from it, so it is
    `channel_not_found` like an unknown id (Slack's conversations.info page, errors)."""
    channel_id = args.get("channel")
    if not isinstance(channel_id, str) or channel_id not in ws.channels:
        raise ApiError("channel_not_found")
    if ws.channels[channel_id].get("is_private") and not ws.channels[channel_id]["is_member"]:
        raise ApiError("channel_not_found")
    channel = copy.deepcopy(ws.channels[channel_id])
    channel.pop("members", None)
    return {"ok": True, "channel": channel}


def conversations_history(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """conversations.history: newest first, time bounds and cursor pagination."""
    channel_id = args.get("channel")
    if not isinstance(channel_id, str) or channel_id not in ws.channels:
        raise ApiError("channel_not_found")
    limit = min(max(int_arg(args, "limit", HISTORY_DEFAULT_LIMIT), 1), HISTORY_MAX_LIMIT)
    oldest = _ts_bound(args, "oldest", "invalid_ts_oldest")
    latest = _ts_bound(args, "latest", "invalid_ts_latest")
    inclusive = flag(args, "inclusive")
    before = _cursor_ts(args.get("cursor"))
    selected = []
    for message in reversed(ws.history.get(channel_id, [])):
        if message.get("thread_ts") not in (None, message["ts"]):
            continue  # thread replies live in conversations.replies, as on Slack
        ts = Decimal(message["ts"])
        if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
            continue
        if latest is not None and (ts > latest or (ts == latest and not inclusive)):
            continue
        if before is not None and ts >= before:
            continue
        selected.append(message)
    page = selected[:limit]
    with_metadata = flag(args, "include_all_metadata")
    answer: dict[str, Any] = {
        "ok": True,
        "messages": [_history_view(message, with_metadata) for message in page],
        "has_more": len(selected) > limit,
        "pin_count": 0,
    }
    if answer["has_more"]:
        cursor = base64.b64encode(f"next_ts:{page[-1]['ts']}".encode()).decode()
        answer["response_metadata"] = {"next_cursor": cursor}
    if latest is not None:
        answer["latest"] = args["latest"]
    return answer


def users_info(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """users.info: the user object with time zone fields for now."""
    user_id = args.get("user")
    if not isinstance(user_id, str) or user_id not in ws.users:
        raise ApiError("user_not_found")
    return {"ok": True, "user": ws.user_object(user_id)}


def users_lookup_by_email(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """users.lookupByEmail: active users only, as on Slack."""
    email = str(args.get("email") or "").strip().lower()
    for user_id, user in ws.users.items():
        if (user["profile"]["email"] or "").lower() == email and email and not user["deleted"]:
            return {"ok": True, "user": ws.user_object(user_id)}
    raise ApiError("users_not_found")


def _message_content(args: dict[str, Any], *, required: bool) -> dict[str, Any]:
    content: dict[str, Any] = {}
    text = args.get("text")
    if text is not None:
        content["text"] = truncate_message_text(str(text))
    blocks = args.get("blocks")
    if blocks is not None:
        if not isinstance(blocks, list):
            raise ApiError("invalid_blocks_format")
        problems = check_message_blocks(blocks)
        if problems:
            raise ApiError(
                "invalid_blocks",
                errors=problems,
                response_metadata={"messages": slack_error_messages(problems)},
            )
        content["blocks"] = blocks
    attachments = args.get("attachments")
    if attachments is not None:
        if not isinstance(attachments, list):
            raise ApiError("invalid_attachments")
        content["attachments"] = attachments
    if required and not (content.get("text") or blocks or attachments):
        raise ApiError("no_text")
    content.setdefault("text", "")
    metadata = args.get("metadata")
    if metadata is not None:
        content["metadata"] = _metadata(metadata)
    return content


def _metadata(metadata: Any) -> dict[str, Any]:
    if not isinstance(metadata, dict):
        raise ApiError("invalid_metadata_format")
    event_type = metadata.get("event_type")
    payload = metadata.get("event_payload")
    if not isinstance(event_type, str) or not event_type or not isinstance(payload, dict):
        raise ApiError("invalid_metadata_schema")
    return {"event_type": event_type, "event_payload": payload}


def _history_view(message: dict[str, Any], with_metadata: bool) -> dict[str, Any]:
    shown = copy.deepcopy(message)
    if not with_metadata:
        shown.pop("metadata", None)
    return shown


def _ts_bound(args: dict[str, Any], name: str, error: str) -> Decimal | None:
    value = args.get(name)
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ApiError(error) from None


def _cursor_ts(cursor: Any) -> Decimal | None:
    if not cursor:
        return None
    try:
        decoded = base64.b64decode(str(cursor), validate=True).decode()
        prefix, _, ts = decoded.partition(":")
        if prefix != "next_ts":
            raise ValueError(decoded)
        return Decimal(ts)
    except (ValueError, binascii.Error, InvalidOperation, UnicodeDecodeError):
        raise ApiError("invalid_cursor") from None


CHAT_METHODS = {
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.delete": chat_delete,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.getPermalink": chat_get_permalink,
    "conversations.open": conversations_open,
    "conversations.info": conversations_info,
    "conversations.history": conversations_history,
    "users.info": users_info,
    "users.lookupByEmail": users_lookup_by_email,
}
