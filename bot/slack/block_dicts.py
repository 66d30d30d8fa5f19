"""Block Kit objects to the dicts `chat.postMessage` takes: slack-sdk's `to_dict`, faster.

slack-sdk's `JsonObject.to_dict` walks every nested object's already-converted dict once more
for each level above it, the largest cost of a DM after the HTTP call (docs/performance.md).
This does the same in one walk: every object's validators run (lengths, counts, shapes),
objects with a `to_dict` of their own keep it, and the output is identical
(tests/slack/test_block_dicts.py compares them on every message the bot builds).
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.basic_objects import (
    EMPTY_ALLOWED_TYPE_AND_PROPERTY_LIST,
    JsonObject,
    _class_validator_names,
)

_EMPTY_ALLOWED = {(item["type"], item["property"]) for item in EMPTY_ALLOWED_TYPE_AND_PROPERTY_LIST}
_BASE_TO_DICT = JsonObject.to_dict


def as_dict(obj: JsonObject) -> dict[str, Any]:
    """`obj.to_dict()`: validated, null and empty attributes left out, nested objects as dicts."""
    if type(obj).to_dict is not _BASE_TO_DICT:
        return obj.to_dict()  # its own rules (options, confirm dialogs, …)
    for name in sorted(_class_validator_names(type(obj))):
        getattr(obj, name)()
    kind = getattr(obj, "type", None)
    found: dict[str, Any] = {}
    for key in sorted(obj.attributes):
        value = obj.get_object_attribute(key)
        if value is None:
            continue
        if hasattr(value, "__len__") and len(value) == 0 and (kind, key) not in _EMPTY_ALLOWED:
            continue
        found[key] = _converted(value)
    return found


def _converted(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_converted(item) for item in value]
    if isinstance(value, JsonObject):
        return as_dict(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return {key: _converted(item) for key, item in to_dict().items()}
    return value
