"""What a POST to a `response_url` does: record it, then show, replace or delete messages."""

from __future__ import annotations

import copy
from typing import Any

from bot.sandbox.blockkit import check_message_blocks, truncate_message_text
from bot.sandbox.workspace import ApiError, RecordedResponse, Workspace


def receive_response(ws: Workspace, url_id: str, payload: dict[str, Any], now: float) -> bool:
    """Record and apply a response_url POST; False when the URL was never issued.

    Blocks over Slack's limits raise `ApiError("invalid_blocks")` and change nothing: Slack
    answers such a post `400 invalid_blocks`, as it does an incoming webhook's.
    """
    issued = ws.response_urls.get(url_id)
    if issued is None:
        return False
    blocks = payload.get("blocks")
    if blocks is not None and not isinstance(blocks, list):
        raise ApiError("invalid_blocks_format")
    problems = check_message_blocks(blocks)
    if problems:
        raise ApiError("invalid_blocks", errors=problems)
    ws.responses.append(
        RecordedResponse(
            url_id,
            issued.user_id,
            issued.channel_id,
            issued.message_ts,
            copy.deepcopy(payload),
            now,
        )
    )
    channel_id, message_ts = issued.channel_id, issued.message_ts
    content: dict[str, Any] = {key: payload[key] for key in ("text", "blocks") if key in payload}
    if isinstance(content.get("text"), str):
        content["text"] = truncate_message_text(content["text"])
    original = _original(ws, channel_id, message_ts)
    if payload.get("delete_original") and original is not None and channel_id is not None:
        ws.history[channel_id].remove(original)
    elif payload.get("replace_original") and original is not None:
        original.update(content)
    elif payload.get("response_type") == "in_channel" and channel_id is not None:
        ws.append_message(channel_id, ws.bot_message({"text": "", **content}))
    elif channel_id is not None:
        # Slack's default response_type is ephemeral: only the user who acted sees it.
        ws.ephemerals.append(
            {"channel": channel_id, "user": issued.user_id, "ts": ws.next_ts(), **content}
        )
    return True


def _original(
    ws: Workspace, channel_id: str | None, message_ts: str | None
) -> dict[str, Any] | None:
    if channel_id is None or message_ts is None:
        return None
    try:
        return ws.find_message(channel_id, message_ts)
    except ApiError:
        return None
