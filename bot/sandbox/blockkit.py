"""Block Kit and view limits as Slack's Web API enforces them, with Slack's own error wording.

Every number is one Slack documents; the comment beside it names the page it comes from (paths
under https://docs.slack.dev/reference/ unless a full address is given). Slack refuses a payload
that breaks one with messages such as
`must be less than 3001 characters [json-pointer:/blocks/0/text/text]`; the checks below return
those messages, each ending in the JSON pointer of the field at fault.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

# Surfaces. block-kit/blocks: "up to 50 blocks in each message, and 100 blocks in modals or Home
# tabs"; views/modal-views and views/home-tab-views: "Max of 100 blocks".
MESSAGE_MAX_BLOCKS = 50
VIEW_MAX_BLOCKS = 100
# https://api.slack.com/changelog/2018-04-truncating-really-long-messages: longer `text` is cut,
# still posted, and the answer carries a `message_truncated` warning (every way of posting).
MESSAGE_TEXT_TRUNCATE_AT = 40_000

# Text objects. block-kit/composition-objects/text-object: "minimum length is 1 and maximum
# length is 3000 characters" (context elements are text objects with no lower limit of their own).
TEXT_MIN = 1
TEXT_MAX = 3000

# Blocks (block-kit/blocks/<name>-block).
BLOCK_ID_MAX = 255  # every block: "Maximum length for this field is 255 characters"
SECTION_TEXT_MAX = 3000  # section-block
SECTION_FIELDS_MAX_ITEMS = 10  # section-block: "Maximum number of items is 10"
SECTION_FIELD_TEXT_MAX = 2000  # section-block: "... text in each item is 2000 characters"
HEADER_TEXT_MAX = 150  # header-block
CONTEXT_MAX_ELEMENTS = 10  # context-block
ACTIONS_MAX_ELEMENTS = 25  # actions-block: "a maximum of 25 elements in each action block"
INPUT_LABEL_MAX = 2000  # input-block
INPUT_HINT_MAX = 2000  # input-block

# Elements (block-kit/block-elements/<name>-element).
ACTION_ID_MAX = 255  # every interactive element; unique among the action_ids of its block
PLACEHOLDER_MAX = 150  # select menus, date/time pickers, text, email and URL inputs
BUTTON_TEXT_MAX = 75  # button-element
BUTTON_VALUE_MAX = 2000  # button-element
BUTTON_URL_MAX = 3000  # button-element
BUTTON_ACCESSIBILITY_LABEL_MAX = 75  # button-element
SELECT_MAX_OPTIONS = 100  # select-menu-element: "Maximum number of options is 100"
SELECT_MAX_OPTION_GROUPS = 100  # select-menu-element: "Maximum number of option groups is 100"
CHOICE_MAX_OPTIONS = 10  # checkboxes-element, radio-button-group-element: "maximum of 10 options"
TEXT_INPUT_LENGTH_MAX = 3000  # plain-text-input-element: max_length 1-3000, min_length 0-3000
TEXT_INPUT_MAX_LENGTH_MIN = 1
TEXT_INPUT_MIN_LENGTH_MIN = 0

# Composition objects (block-kit/composition-objects/<name>-object).
OPTION_TEXT_MAX = 75  # option-object
OPTION_VALUE_MAX = 150  # option-object
OPTION_DESCRIPTION_MAX = 75  # option-object
OPTION_URL_MAX = 3000  # option-object (overflow menus)
OPTION_GROUP_LABEL_MAX = 75  # option-group-object
OPTION_GROUP_MAX_OPTIONS = 100  # option-group-object: "Maximum of 100 items"
CONFIRM_TITLE_MAX = 100  # confirmation-dialog-object
CONFIRM_TEXT_MAX = 300  # confirmation-dialog-object
CONFIRM_BUTTON_MAX = 30  # confirmation-dialog-object: confirm and deny

# Views (views/modal-views, views/home-tab-views).
VIEW_TITLE_MAX = 24
VIEW_SUBMIT_MAX = 24  # also: "submit is required when an input block is within the blocks array"
VIEW_CLOSE_MAX = 24
VIEW_PRIVATE_METADATA_MAX = 3000
VIEW_CALLBACK_ID_MAX = 255
VIEW_EXTERNAL_ID_MAX = 255  # methods/views.open: "it has a max length of 255 characters"

_MAX_OPTIONS = {
    "static_select": SELECT_MAX_OPTIONS,
    "multi_static_select": SELECT_MAX_OPTIONS,
    "checkboxes": CHOICE_MAX_OPTIONS,
    "radio_buttons": CHOICE_MAX_OPTIONS,
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # date-picker-element: "in the format YYYY-MM-DD"
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")  # time-picker-element: "in the format HH:mm"
_TRUNCATED = (
    "[WARN] Your message was truncated but still posted."
    " The `text` field accepts up to 40,000 characters."
)


def truncate_message_text(text: str) -> str:
    """Cut message text the way Slack does: at 40,000 characters (see `truncation_warning`)."""
    return text[:MESSAGE_TEXT_TRUNCATE_AT]


def truncation_warning(text: Any) -> dict[str, Any]:
    """The fields Slack adds to a posting answer whose `text` it truncated; empty otherwise."""
    if text is None or len(str(text)) <= MESSAGE_TEXT_TRUNCATE_AT:
        return {}
    return {
        "warning": "message_truncated",
        "response_metadata": {"messages": [_TRUNCATED], "warnings": ["message_truncated"]},
    }


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
    if kind == "modal":
        if "title" not in view:
            problems.append("missing required field: title")
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(
            isinstance(block, dict) and block.get("type") == "input" for block in blocks
        )
        if has_input and not view.get("submit"):
            problems.append(
                "submit is required when an input block is within the blocks array"
                " [json-pointer:/view/submit]"
            )
    for key, limit in (
        ("title", VIEW_TITLE_MAX),
        ("submit", VIEW_SUBMIT_MAX),
        ("close", VIEW_CLOSE_MAX),
    ):
        problems += _text(view.get(key), limit, f"/view/{key}")
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


# --- blocks --------------------------------------------------------------------------------------


def _check_blocks(blocks: Any, pointer: str, max_blocks: int) -> list[str]:
    if blocks is None:
        return []
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{pointer}]"]
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"no more than {max_blocks} items allowed [json-pointer:{pointer}]")
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        at = f"{pointer}/{index}"
        problems += _check_block(block, at)
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if isinstance(block_id, str):
            # section-block et al.: "block_id should be unique for each message" (or view).
            if block_id in seen:
                problems.append(f"duplicate block_id: {block_id} [json-pointer:{at}/block_id]")
            seen.add(block_id)
    return problems


def _check_block(block: Any, pointer: str) -> list[str]:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return [f"missing required field: type [json-pointer:{pointer}]"]
    problems = _string(block.get("block_id"), BLOCK_ID_MAX, f"{pointer}/block_id")
    kind = block["type"]
    if kind == "section":
        text, fields = block.get("text"), block.get("fields")
        if text is None and fields is None:
            problems.append(f"must define either `text` or `fields` [json-pointer:{pointer}]")
        problems += _text(text, SECTION_TEXT_MAX, f"{pointer}/text")
        problems += _items(fields, SECTION_FIELDS_MAX_ITEMS, f"{pointer}/fields")
        for index, field in enumerate(_list(fields)):
            problems += _text(field, SECTION_FIELD_TEXT_MAX, f"{pointer}/fields/{index}")
        if block.get("accessory") is not None:
            problems += _check_element(block["accessory"], f"{pointer}/accessory")
    elif kind == "header":
        problems += _required_text(block, "text", HEADER_TEXT_MAX, pointer)
    elif kind == "context":
        elements = block.get("elements")
        problems += _items(elements, CONTEXT_MAX_ELEMENTS, f"{pointer}/elements")
        for index, element in enumerate(_list(elements)):
            if not (isinstance(element, dict) and element.get("type") == "image"):
                problems += _text(element, TEXT_MAX, f"{pointer}/elements/{index}")
    elif kind == "actions":
        elements = block.get("elements")
        problems += _items(elements, ACTIONS_MAX_ELEMENTS, f"{pointer}/elements")
        seen: set[str] = set()
        for index, element in enumerate(_list(elements)):
            at = f"{pointer}/elements/{index}"
            problems += _check_element(element, at)
            action_id = element.get("action_id") if isinstance(element, dict) else None
            if isinstance(action_id, str):
                if action_id in seen:
                    problems.append(
                        f"duplicate action_id: {action_id} [json-pointer:{at}/action_id]"
                    )
                seen.add(action_id)
    elif kind == "input":
        problems += _required_text(block, "label", INPUT_LABEL_MAX, pointer)
        problems += _text(block.get("hint"), INPUT_HINT_MAX, f"{pointer}/hint")
        if "element" not in block:
            problems.append(f"missing required field: element [json-pointer:{pointer}]")
        else:
            problems += _check_element(block["element"], f"{pointer}/element")
    return problems


# --- elements ------------------------------------------------------------------------------------


def _check_element(element: Any, pointer: str) -> list[str]:
    if not isinstance(element, dict):
        return [f"must be an object [json-pointer:{pointer}]"]
    kind = element.get("type")
    problems = _string(element.get("action_id"), ACTION_ID_MAX, f"{pointer}/action_id")
    problems += _text(element.get("placeholder"), PLACEHOLDER_MAX, f"{pointer}/placeholder")
    problems += _check_confirm(element.get("confirm"), f"{pointer}/confirm")
    if kind == "button":
        problems += _required_text(element, "text", BUTTON_TEXT_MAX, pointer)
        problems += _string(element.get("value"), BUTTON_VALUE_MAX, f"{pointer}/value")
        problems += _string(element.get("url"), BUTTON_URL_MAX, f"{pointer}/url")
        problems += _string(
            element.get("accessibility_label"),
            BUTTON_ACCESSIBILITY_LABEL_MAX,
            f"{pointer}/accessibility_label",
        )
    elif kind == "plain_text_input":
        problems += _length_setting(
            element.get("max_length"), TEXT_INPUT_MAX_LENGTH_MIN, f"{pointer}/max_length"
        )
        problems += _length_setting(
            element.get("min_length"), TEXT_INPUT_MIN_LENGTH_MIN, f"{pointer}/min_length"
        )
    elif kind == "datepicker":
        problems += _formatted(element.get("initial_date"), "date", f"{pointer}/initial_date")
    elif kind == "timepicker":
        problems += _formatted(element.get("initial_time"), "time", f"{pointer}/initial_time")
    if kind in _MAX_OPTIONS:
        problems += _check_options(element, _MAX_OPTIONS[str(kind)], pointer)
    return problems


def _check_options(element: dict[str, Any], limit: int, pointer: str) -> list[str]:
    options, groups = element.get("options"), element.get("option_groups")
    problems = _items(options, limit, f"{pointer}/options")
    offered = [(option, f"{pointer}/options/{i}") for i, option in enumerate(_list(options))]
    problems += _items(groups, SELECT_MAX_OPTION_GROUPS, f"{pointer}/option_groups")
    for g, group in enumerate(_list(groups)):
        at = f"{pointer}/option_groups/{g}"
        if not isinstance(group, dict):
            problems.append(f"must be an object [json-pointer:{at}]")
            continue
        problems += _required_text(group, "label", OPTION_GROUP_LABEL_MAX, at)
        inner = group.get("options")
        problems += _items(inner, OPTION_GROUP_MAX_OPTIONS, f"{at}/options")
        offered += [(option, f"{at}/options/{i}") for i, option in enumerate(_list(inner))]
    for option, at in offered:
        problems += _check_option(option, at)
    # The initial choices "exactly match" offered options (select, radio and checkbox elements).
    choices = {_option_key(option) for option, _ in offered}
    initial = element.get("initial_option")
    if initial is not None and _option_key(initial) not in choices:
        problems.append(
            f"initial_option must match one of the options [json-pointer:{pointer}/initial_option]"
        )
    for index, option in enumerate(_list(element.get("initial_options"))):
        if _option_key(option) not in choices:
            problems.append(
                "initial_options must match the options"
                f" [json-pointer:{pointer}/initial_options/{index}]"
            )
    return problems


def _check_option(option: Any, pointer: str) -> list[str]:
    if not isinstance(option, dict):
        return [f"must be an object [json-pointer:{pointer}]"]
    problems = _required_text(option, "text", OPTION_TEXT_MAX, pointer)
    problems += _string(option.get("value"), OPTION_VALUE_MAX, f"{pointer}/value")
    problems += _text(option.get("description"), OPTION_DESCRIPTION_MAX, f"{pointer}/description")
    problems += _string(option.get("url"), OPTION_URL_MAX, f"{pointer}/url")
    return problems


def _option_key(option: Any) -> tuple[Any, Any]:
    if not isinstance(option, dict):
        return (None, None)
    text = option.get("text")
    return option.get("value"), text.get("text") if isinstance(text, dict) else text


def _check_confirm(confirm: Any, pointer: str) -> list[str]:
    if confirm is None:
        return []
    if not isinstance(confirm, dict):
        return [f"must be an object [json-pointer:{pointer}]"]
    problems: list[str] = []
    for key, limit in (
        ("title", CONFIRM_TITLE_MAX),
        ("text", CONFIRM_TEXT_MAX),
        ("confirm", CONFIRM_BUTTON_MAX),
        ("deny", CONFIRM_BUTTON_MAX),
    ):
        problems += _text(confirm.get(key), limit, f"{pointer}/{key}")
    return problems


# --- fields --------------------------------------------------------------------------------------


def _required_text(holder: dict[str, Any], key: str, limit: int, pointer: str) -> list[str]:
    if holder.get(key) is None:
        return [f"missing required field: {key} [json-pointer:{pointer}]"]
    return _text(holder[key], limit, f"{pointer}/{key}")


def _text(value: Any, limit: int, pointer: str) -> list[str]:
    """A text object (or a bare string, as slack_sdk sometimes sends): 1 to `limit` characters."""
    if isinstance(value, dict):
        value, pointer = value.get("text"), f"{pointer}/text"
    if isinstance(value, str) and len(value) < TEXT_MIN:
        return [f"must be more than {TEXT_MIN - 1} characters [json-pointer:{pointer}]"]
    return _string(value, limit, pointer)


def _string(value: Any, limit: int, pointer: str) -> list[str]:
    if isinstance(value, str) and len(value) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{pointer}]"]
    return []


def _items(value: Any, limit: int, pointer: str) -> list[str]:
    if isinstance(value, list) and len(value) > limit:
        return [f"no more than {limit} items allowed [json-pointer:{pointer}]"]
    return []


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _length_setting(value: Any, minimum: int, pointer: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, int) or isinstance(value, bool):
        return [f"must be an integer [json-pointer:{pointer}]"]
    if not minimum <= value <= TEXT_INPUT_LENGTH_MAX:
        return [f"must be between {minimum} and {TEXT_INPUT_LENGTH_MAX} [json-pointer:{pointer}]"]
    return []


def _formatted(value: Any, kind: str, pointer: str) -> list[str]:
    if value is None:
        return []
    if kind == "time":
        if isinstance(value, str) and _TIME.match(value):
            return []
        return [f"must be a time in the format HH:mm [json-pointer:{pointer}]"]
    if isinstance(value, str) and _DATE.match(value):
        try:
            date.fromisoformat(value)
            return []
        except ValueError:
            pass
    return [f"must be a date in the format YYYY-MM-DD [json-pointer:{pointer}]"]
