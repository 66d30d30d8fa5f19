"""Sandbox answers for the external file upload flow used by `files_upload_v2`.

What Slack refuses, the sandbox refuses (docs.slack.dev/reference/methods/
files.getUploadURLExternal and files.completeUploadExternal, their Errors tables):
`missing_argument` for a `length` of 0, `alt_txt_too_large` over 1000 characters,
`channels_limit_exceeded` over 100 channels, `channel_not_found`, `not_in_channel` when the
bot is not a member, and a second completion of the same file ("This method can only be called
once"; the page names no error for it, so the sandbox answers `file_not_found`, the ticket
being spent). `thread_ts` with more than one channel is refused `invalid_arguments`: the page
says "make sure to provide only one channel" without naming an error. The shared file carries
its `alt_txt` (the file object's field, as in @slack/web-api's `File` type).
"""

from __future__ import annotations

import copy
import mimetypes
import secrets
from typing import Any

from bot.sandbox.apiargs import int_arg, optional_text, text_arg
from bot.sandbox.workspace import ApiError, Workspace

MAX_ALT_TXT = 1000
"""`alt_txt_too_large`: "longer than the limit of 1000 character"."""
MAX_CHANNELS = 100
"""`channels_limit_exceeded`: "A maximum of 100 channels is allowed per request"."""


def files_get_upload_url_external(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """files.getUploadURLExternal: reserve a file id and an upload URL on the sandbox."""
    filename = text_arg(args, "filename")
    length = int_arg(args, "length", 0)
    if length <= 0:
        raise ApiError("missing_argument")
    alt_txt = optional_text(args, "alt_txt")
    if alt_txt is not None and len(alt_txt) > MAX_ALT_TXT:
        raise ApiError("alt_txt_too_large")
    file_id = ws.new_id("F")
    upload_key = secrets.token_urlsafe(12)
    ws.files[file_id] = {
        "id": file_id,
        "name": filename,
        "title": filename,
        "alt_txt": alt_txt,
        "length": length,
        "upload_key": upload_key,
        "content": None,
        "channels": [],
        "completed": False,
    }
    return {"ok": True, "upload_url": f"{ws.base_url}/upload/v1/{upload_key}", "file_id": file_id}


def receive_upload(ws: Workspace, upload_key: str, content: bytes) -> bool:
    """Store bytes posted to an upload URL; False when the URL is unknown."""
    for record in ws.files.values():
        if record["upload_key"] == upload_key:
            record["content"] = content
            return True
    return False


def files_complete_upload_external(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """files.completeUploadExternal: finish uploads and share them as one message."""
    requested = args.get("files")
    if not isinstance(requested, list) or not requested:
        raise ApiError("invalid_arguments")
    channel_ids = _share_targets(ws, args)
    records = []
    for item in requested:
        file_id = item.get("id") if isinstance(item, dict) else None
        record = ws.files.get(file_id) if isinstance(file_id, str) else None
        if record is None or record["content"] is None or record["completed"]:
            raise ApiError("file_not_found")
        if item.get("title"):
            record["title"] = item["title"]
        records.append(record)
    for record in records:
        record["completed"] = True
        record["channels"] = channel_ids
    shared = [_file_object(ws, record) for record in records]
    thread_ts = optional_text(args, "thread_ts")
    for channel_id in channel_ids:
        fields: dict[str, Any] = {
            "text": optional_text(args, "initial_comment") or "",
            "files": copy.deepcopy(shared),
            "upload": True,
        }
        if thread_ts is not None:
            fields["thread_ts"] = thread_ts
        ws.append_message(channel_id, ws.bot_message(fields))
    return {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in shared]}


def _share_targets(ws: Workspace, args: dict[str, Any]) -> list[str]:
    """The conversations to share in: `channel_id` and `channels`, checked as Slack does."""
    targets = [optional_text(args, "channel_id")]
    targets += str(args.get("channels") or "").split(",")
    named = [c.strip() for c in targets if c and c.strip()]
    if len(named) > MAX_CHANNELS:
        raise ApiError("channels_limit_exceeded")
    channel_ids = list(dict.fromkeys(ws.resolve_channel(c) for c in named))
    for channel_id in channel_ids:
        if not ws.is_im(channel_id) and not ws.channels[channel_id].get("is_member", True):
            raise ApiError("not_in_channel")
    if optional_text(args, "thread_ts") is not None and len(channel_ids) > 1:
        raise ApiError("invalid_arguments")
    return channel_ids


def _file_object(ws: Workspace, record: dict[str, Any]) -> dict[str, Any]:
    mimetype = mimetypes.guess_type(record["name"])[0] or "application/octet-stream"
    return {
        "id": record["id"],
        "created": int(ws.clock()),
        "timestamp": int(ws.clock()),
        "name": record["name"],
        "title": record["title"],
        "alt_txt": record["alt_txt"],
        "mimetype": mimetype,
        "filetype": record["name"].rsplit(".", 1)[-1] if "." in record["name"] else "binary",
        "user": ws.bot_user_id,
        "size": len(record["content"] or b""),
        "url_private": f"https://files.slack.com/files-pri/{ws.team_id}-{record['id']}/"
        + record["name"],
        "permalink": f"https://{ws.team_domain}.slack.com/files/{ws.bot_user_id}/{record['id']}/"
        + record["name"],
        "channels": list(record["channels"]),
    }


FILE_METHODS = {
    "files.getUploadURLExternal": files_get_upload_url_external,
    "files.completeUploadExternal": files_complete_upload_external,
}
