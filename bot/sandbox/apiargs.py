"""Reading Web API arguments the way Slack does, whether they came as form fields or JSON."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from bot.sandbox.workspace import ApiError

# Fields Slack takes as JSON-encoded strings in form bodies (and as objects in JSON bodies).
JSON_FIELDS = ("blocks", "attachments", "metadata", "view", "files", "event_payload")


def decode_json_fields(args: dict[str, Any]) -> dict[str, Any]:
    """Decode JSON-string fields in place where they parse; leave others for the method to judge."""
    for name in JSON_FIELDS:
        value = args.get(name)
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):
                args[name] = json.loads(value)
    return args


def text_arg(args: dict[str, Any], name: str, *, error: str = "invalid_arguments") -> str:
    """A required non-empty string argument, else `error`."""
    value = args.get(name)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise ApiError(error)
    return value


def optional_text(args: dict[str, Any], name: str) -> str | None:
    """An optional string argument; empty counts as absent."""
    value = args.get(name)
    if value is None or value == "":
        return None
    return str(value)


def flag(args: dict[str, Any], name: str) -> bool:
    """A boolean argument: Slack accepts true/1 in forms and booleans in JSON."""
    value = args.get(name)
    if isinstance(value, str):
        return value.lower() in ("1", "true")
    return bool(value)


def int_arg(args: dict[str, Any], name: str, default: int) -> int:
    """An integer argument with a default; garbage is `invalid_arguments`."""
    value = args.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError("invalid_arguments") from None
