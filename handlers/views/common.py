"""A modal submission read at the edge: metadata as we wrote it, state as Slack's widgets make it.

Anything else (metadata that is not our JSON, a date that is not a date, an id of the wrong
shape, a NUL character PostgreSQL cannot store) is dropped here, so the recorders below see
either a value they can use or no value, and answer with their own inline errors.
"""

from __future__ import annotations

import json
from datetime import date, time
from typing import Any

from handlers.actions.common import SLACK_CHANNEL, SLACK_USER, slack_id

OUT_OF_DATE = "This form is out of date: close it and click the button again."


def metadata(view: dict[str, Any]) -> dict[str, Any] | None:
    """private_metadata as the JSON object we wrote, or None."""
    try:
        value = json.loads(view.get("private_metadata") or "{}")
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def first_input(view: dict[str, Any]) -> str | None:
    """The block id of the modal's first input: where a whole-form error is shown."""
    for block in view.get("blocks") or []:
        if isinstance(block, dict) and block.get("type") == "input" and block.get("block_id"):
            return str(block["block_id"])
    return None


def _is(parse: Any, value: Any) -> bool:
    try:
        parse(value)
    except (TypeError, ValueError):
        return False
    return True


def _option(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("value"), str)


_PARSERS = {"selected_date": date.fromisoformat, "selected_time": time.fromisoformat}


def _element(state: Any) -> dict[str, Any]:
    """One element's state with every value Slack's widget could not have produced dropped."""
    if not isinstance(state, dict):
        return {}
    clean: dict[str, Any] = {}
    for key, value in state.items():
        if key == "value" and isinstance(value, str):
            clean[key] = value.replace("\x00", "")
        elif key == "selected_option" and _option(value):
            clean[key] = {**value, "value": value["value"].replace("\x00", "")}
        elif key == "selected_options" and isinstance(value, list):
            clean[key] = [o for o in value if _option(o) and "\x00" not in o["value"]]
        elif key in _PARSERS and isinstance(value, str) and _is(_PARSERS[key], value):
            clean[key] = value
        elif key in ("selected_user", "selected_conversation", "selected_channel"):
            pattern = SLACK_USER if key == "selected_user" else SLACK_CHANNEL
            if slack_id(value, pattern):
                clean[key] = value
        elif key == "type" and isinstance(value, str):
            clean[key] = value
    return clean


def values(view: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """`view.state.values` with only well-formed blocks, elements and values."""
    raw = (view.get("state") or {}).get("values")
    if not isinstance(raw, dict):
        return {}
    return {
        str(block_id): {str(a): _element(s) for a, s in elements.items()}
        for block_id, elements in raw.items()
        if isinstance(elements, dict)
    }
