"""Sandbox answers for the external file upload flow used by `files_upload_v2`."""

from __future__ import annotations

import copy
import mimetypes
import secrets
from typing import Any

from bot.sandbox.apiargs import int_arg, optional_text, text_arg
from bot.sandbox.workspace import ApiError, Workspace


def files_get_upload_url_external(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """files.getUploadURLExternal: reserve a file id and an upload URL on the sandbox."""
    filename = text_arg(args, "filename")
    length = int_arg(args, "length", 0)
    if length <= 0:
        raise ApiError("invalid_arguments")
    file_id = ws.new_id("F")
    upload_key = secrets.token_urlsafe(12)
    ws.files[file_id] = {
        "id": file_id,
        "name": filename,
        "title": filename,
        "alt_txt": optional_text(args, "alt_txt"),
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
    records = []
    for item in requested:
        file_id = item.get("id") if isinstance(item, dict) else None
        record = ws.files.get(file_id) if isinstance(file_id, str) else None
        if record is None or record["content"] is None:
            raise ApiError("file_not_found")
        if item.get("title"):
            record["title"] = item["title"]
        records.append(record)
    targets = [optional_text(args, "channel_id")]
    targets += str(args.get("channels") or "").split(",")
    channel_ids = list(dict.fromkeys(ws.resolve_channel(c) for c in targets if c))
    for record in records:
        record["completed"] = True
        record["channels"] = channel_ids
    shared = [_file_object(ws, record) for record in records]
    for channel_id in channel_ids:
        fields: dict[str, Any] = {
            "text": optional_text(args, "initial_comment") or "",
            "files": copy.deepcopy(shared),
            "upload": True,
        }
        thread_ts = optional_text(args, "thread_ts")
        if thread_ts is not None:
            fields["thread_ts"] = thread_ts
        ws.append_message(channel_id, ws.bot_message(fields))
    return {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in shared]}


def _file_object(ws: Workspace, record: dict[str, Any]) -> dict[str, Any]:
    mimetype = mimetypes.guess_type(record["name"])[0] or "application/octet-stream"
    return {
        "id": record["id"],
        "created": int(ws.clock()),
        "timestamp": int(ws.clock()),
        "name": record["name"],
        "title": record["title"],
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
