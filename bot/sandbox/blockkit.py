"""Block Kit limits as Slack's Web API enforces them, with Slack's own error wording.

The numbers come from Slack's Block Kit reference (mirrored in slack_sdk.models): Slack rejects
a payload over any of them with messages such as
`must be less than 3001 characters [json-pointer:/blocks/0/text/text]`.
"""

from __future__ import annotations

from typing import Any

MESSAGE_MAX_BLOCKS = 50
VIEW_MAX_BLOCKS = 100
MESSAGE_TEXT_TRUNCATE_AT = 40_000

BLOCK_ID_MAX = 255
ACTION_ID_MAX = 255
SECTION_TEXT_MAX = 3000
SECTION_FIELDS_MAX_ITEMS = 10
SECTION_FIELD_TEXT_MAX = 2000
HEADER_TEXT_MAX = 150
CONTEXT_MAX_ELEMENTS = 10
ACTIONS_MAX_ELEMENTS = 25
INPUT_LABEL_MAX = 2000
INPUT_HINT_MAX = 2000
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
BUTTON_URL_MAX = 3000
SELECT_MAX_OPTIONS = 100
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
PLACEHOLDER_MAX = 150

VIEW_TITLE_MAX = 24
VIEW_SUBMIT_MAX = 24
VIEW_CLOSE_MAX = 24
VIEW_PRIVATE_METADATA_MAX = 3000
VIEW_CALLBACK_ID_MAX = 255
VIEW_EXTERNAL_ID_MAX = 255


def truncate_message_text(text: str) -> str:
    """Cut message text the way Slack does: silently, at 40,000 characters."""
    return text[:MESSAGE_TEXT_TRUNCATE_AT]


def check_message_blocks(blocks: Any) -> list[str]:
    """Problems with a message's `blocks`, each ending in its JSON pointer; empty when valid."""
    return _check_blocks(blocks, "/blocks", MESSAGE_MAX_BLOCKS)


def check_view(view: Any) -> list[str]:
    """Problems with a view payload (modal or home), pointers rooted at `/view`."""
    if not isinstance(view, dict):
        return ["must be an object [json-pointer:/view]"]
    problems: list[str] = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        problems.append("must be one of modal, home [json-pointer:/view/type]")
    if kind == "modal" and "title" not in view:
        problems.append("missing required field: title")
    for key, limit in (("title", VIEW_TITLE_MAX), ("submit", VIEW_SUBMIT_MAX)):
        problems += _text_object(view.get(key), limit, f"/view/{key}")
    problems += _text_object(view.get("close"), VIEW_CLOSE_MAX, "/view/close")
    for key, limit in (
        ("private_metadata", VIEW_PRIVATE_METADATA_MAX),
        ("callback_id", VIEW_CALLBACK_ID_MAX),
        ("external_id", VIEW_EXTERNAL_ID_MAX),
    ):
        problems += _string(view.get(key), limit, f"/view/{key}")
    problems += _check_blocks(view.get("blocks"), "/view/blocks", VIEW_MAX_BLOCKS)
    return problems


def slack_error_messages(problems: list[str]) -> list[str]:
    """Prefix problems as Slack does in `response_metadata.messages`."""
    return [f"[ERROR] {problem}" for problem in problems]


def _check_blocks(blocks: Any, pointer: str, max_blocks: int) -> list[str]:
    if blocks is None:
        return []
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{pointer}]"]
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"no more than {max_blocks} items allowed [json-pointer:{pointer}]")
    for index, block in enumerate(blocks):
        problems += _check_block(block, f"{pointer}/{index}")
    return problems


def _check_block(block: Any, pointer: str) -> list[str]:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return [f"missing required field: type [json-pointer:{pointer}]"]
    problems = _string(block.get("block_id"), BLOCK_ID_MAX, f"{pointer}/block_id")
    kind = block["type"]
    if kind == "section":
        problems += _text_object(block.get("text"), SECTION_TEXT_MAX, f"{pointer}/text")
        problems += _items(block.get("fields"), SECTION_FIELDS_MAX_ITEMS, f"{pointer}/fields")
        for index, field in enumerate(block.get("fields") or []):
            problems += _text_object(field, SECTION_FIELD_TEXT_MAX, f"{pointer}/fields/{index}")
        if isinstance(block.get("accessory"), dict):
            problems += _check_element(block["accessory"], f"{pointer}/accessory")
    elif kind == "header":
        problems += _text_object(block.get("text"), HEADER_TEXT_MAX, f"{pointer}/text")
    elif kind == "context":
        problems += _items(block.get("elements"), CONTEXT_MAX_ELEMENTS, f"{pointer}/elements")
    elif kind == "actions":
        elements = block.get("elements")
        problems += _items(elements, ACTIONS_MAX_ELEMENTS, f"{pointer}/elements")
        for index, element in enumerate(elements if isinstance(elements, list) else []):
            problems += _check_element(element, f"{pointer}/elements/{index}")
    elif kind == "input":
        problems += _text_object(block.get("label"), INPUT_LABEL_MAX, f"{pointer}/label")
        problems += _text_object(block.get("hint"), INPUT_HINT_MAX, f"{pointer}/hint")
        if isinstance(block.get("element"), dict):
            problems += _check_element(block["element"], f"{pointer}/element")
    return problems


def _check_element(element: Any, pointer: str) -> list[str]:
    if not isinstance(element, dict):
        return [f"must be an object [json-pointer:{pointer}]"]
    problems = _string(element.get("action_id"), ACTION_ID_MAX, f"{pointer}/action_id")
    problems += _text_object(element.get("placeholder"), PLACEHOLDER_MAX, f"{pointer}/placeholder")
    if element.get("type") == "button":
        problems += _text_object(element.get("text"), BUTTON_TEXT_MAX, f"{pointer}/text")
        problems += _string(element.get("value"), BUTTON_VALUE_MAX, f"{pointer}/value")
        problems += _string(element.get("url"), BUTTON_URL_MAX, f"{pointer}/url")
    options = element.get("options")
    if isinstance(options, list):
        problems += _items(options, SELECT_MAX_OPTIONS, f"{pointer}/options")
        for index, option in enumerate(options):
            if isinstance(option, dict):
                at = f"{pointer}/options/{index}"
                problems += _text_object(option.get("text"), OPTION_TEXT_MAX, f"{at}/text")
                problems += _string(option.get("value"), OPTION_VALUE_MAX, f"{at}/value")
    return problems


def _text_object(value: Any, limit: int, pointer: str) -> list[str]:
    if isinstance(value, dict):
        return _string(value.get("text"), limit, f"{pointer}/text")
    return _string(value, limit, pointer)


def _string(value: Any, limit: int, pointer: str) -> list[str]:
    if isinstance(value, str) and len(value) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{pointer}]"]
    return []


def _items(value: Any, limit: int, pointer: str) -> list[str]:
    if isinstance(value, list) and len(value) > limit:
        return [f"no more than {limit} items allowed [json-pointer:{pointer}]"]
    return []
