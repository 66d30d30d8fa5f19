"""Pure builders for the request bodies Slack sends an app: commands, interactions, events.

Shapes follow Slack's interaction payload and Events API references and the payloads in
bolt-python's own scenario tests.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

VERIFICATION_TOKEN = "sandbox-verification-token"

# Where each element type keeps its value, in view state and in block_actions.
_VALUE_KEYS = {
    "plain_text_input": "value",
    "email_text_input": "value",
    "url_text_input": "value",
    "number_input": "value",
    "static_select": "selected_option",
    "external_select": "selected_option",
    "radio_buttons": "selected_option",
    "overflow": "selected_option",
    "multi_static_select": "selected_options",
    "multi_external_select": "selected_options",
    "checkboxes": "selected_options",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "rich_text_input": "rich_text_value",
}
_INITIAL_KEYS = {
    "value": "initial_value",
    "selected_option": "initial_option",
    "selected_options": "initial_options",
    "selected_date": "initial_date",
    "selected_time": "initial_time",
    "selected_date_time": "initial_date_time",
    "selected_user": "initial_user",
    "selected_users": "initial_users",
    "selected_conversation": "initial_conversation",
    "selected_conversations": "initial_conversations",
    "selected_channel": "initial_channel",
    "selected_channels": "initial_channels",
    "rich_text_value": "initial_value",
}


def sign(secret: str, timestamp: str, body: str) -> str:
    """Slack's v0 request signature of a raw body."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def user_ref(user: dict[str, Any]) -> dict[str, Any]:
    """The `user` object of an interaction payload."""
    return {
        "id": user["id"],
        "username": user["name"],
        "name": user["name"],
        "team_id": user["team_id"],
    }


def iter_elements(blocks: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every interactive element with its block_id, in block order."""
    for block in blocks:
        block_id = str(block.get("block_id", ""))
        candidates: list[Any] = []
        if block.get("type") == "actions":
            candidates = list(block.get("elements") or [])
        elif block.get("type") == "input":
            candidates = [block.get("element")]
        elif block.get("type") == "section":
            candidates = [block.get("accessory")]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id"):
                yield block_id, element


def find_element(
    blocks: list[dict[str, Any]], action_id: str, block_id: str | None = None
) -> tuple[str, dict[str, Any]] | None:
    """The (block_id, element) whose action_id matches, or None."""
    for found_block_id, element in iter_elements(blocks):
        if element["action_id"] == action_id and block_id in (None, found_block_id):
            return found_block_id, element
    return None


def element_value(element: dict[str, Any], value: Any) -> dict[str, Any]:
    """The typed state of an element holding `value` (plain values become options)."""
    kind = str(element.get("type", "plain_text_input"))
    key = _VALUE_KEYS.get(kind, "value")
    if key == "selected_option":
        value = _option(element, value)
    elif key == "selected_options":
        value = [_option(element, item) for item in (value or [])]
    elif key == "value" and value is not None:
        value = str(value)
    return {"type": kind, key: value}


def initial_state(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """`state.values` as Slack shows it before the user changes anything."""
    values: dict[str, dict[str, Any]] = {}
    for block_id, element in iter_elements(blocks):
        if element.get("type") in ("button", "overflow", "workflow_button"):
            continue
        key = _VALUE_KEYS.get(str(element.get("type")), "value")
        initial = copy.deepcopy(element.get(_INITIAL_KEYS[key]))
        if initial is None and key.endswith("s") and key != "selected_date_time":
            initial = []
        values.setdefault(block_id, {})[element["action_id"]] = {
            "type": element.get("type"),
            key: initial,
        }
    return values


def filled_state(blocks: list[dict[str, Any]], values: dict[str, Any]) -> dict[str, Any]:
    """`state.values` after the user entered `values`.

    `values` maps action_id (or "block_id.action_id") to a plain value: text, an option's
    value, a list of them, a date, a user id; or block_id to Slack's own nested form.
    """
    state = initial_state(blocks)
    for key, value in values.items():
        if (
            key in state
            and isinstance(value, dict)
            and all(isinstance(v, dict) for v in value.values())
        ):
            state[key].update(copy.deepcopy(value))
            continue
        block_id, _, action_id = key.rpartition(".")
        found = find_element(blocks, action_id, block_id or None)
        if found is None:
            raise LookupError(f"no input with action_id {action_id!r} in these blocks")
        state.setdefault(found[0], {})[action_id] = element_value(found[1], value)
    return state


def button_action(
    element: dict[str, Any], block_id: str, action_ts: str, value: str | None = None
) -> dict[str, Any]:
    """One entry of `actions` for a clicked button."""
    action: dict[str, Any] = {
        "action_id": element["action_id"],
        "block_id": block_id,
        "text": copy.deepcopy(element.get("text") or {"type": "plain_text", "text": ""}),
        "value": value if value is not None else element.get("value"),
        "type": "button",
        "action_ts": action_ts,
    }
    if action["value"] is None:
        del action["value"]
    if element.get("style"):
        action["style"] = element["style"]
    return action


def event_envelope(
    event: dict[str, Any],
    *,
    team_id: str,
    api_app_id: str,
    bot_user_id: str,
    event_id: str,
    event_time: int,
) -> dict[str, Any]:
    """The Events API `event_callback` wrapper around one event."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{event_id}-{team_id}",
    }


def _option(element: dict[str, Any], value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return copy.deepcopy(value)
    options: list[dict[str, Any]] = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options") or []
    for option in options:
        if option.get("value") == value:
            return copy.deepcopy(option)
    if options:
        raise LookupError(f"no option with value {value!r} in {element.get('action_id')!r}")
    # External selects have no options in the blocks; Slack echoes the chosen one back.
    return {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}
