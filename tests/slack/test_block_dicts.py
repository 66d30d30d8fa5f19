"""The fast Block Kit serializer says exactly what slack-sdk's `to_dict` says, and validates."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    RichTextBlock,
    RichTextSectionElement,
    SectionBlock,
    StaticSelectElement,
)

from bot.nudge.blocks import nudge_message, resolved_message
from bot.slack.block_dicts import as_dict
from tests.nudge.test_blocks import HOSTILE, NOW, context, item


def messages() -> list[tuple[str, list[Block]]]:
    """Every shape of nudge DM the dispatcher and the refreshes post."""
    several = [item(follow_up_id=n, priority=n % 3) for n in range(1, 9)]
    flagged = item(ctx=context(subject=None, resolution=None))
    return [
        ("one due", nudge_message([item()], NOW).blocks),
        ("one flagged", nudge_message([flagged], NOW).blocks),
        ("overdue", nudge_message([item(state="overdue")], NOW).blocks),
        ("five and a list", nudge_message(several, NOW, cap=5).blocks),
        ("handed over", nudge_message([item(handed_from="Sam")], NOW).blocks),
        ("hostile", nudge_message([item(ctx=context(subject=HOSTILE))], NOW).blocks),
        ("done", resolved_message(item(state="done"), "They said: fine", NOW).blocks),
        ("snoozed", resolved_message(item(state="snoozed"), "Snoozed", NOW).blocks),
        (
            "due later",
            nudge_message([item(due_at=NOW + timedelta(days=2), state="due")], NOW).blocks,
        ),
    ]


@pytest.mark.parametrize(("name", "blocks"), messages(), ids=[name for name, _ in messages()])
def test_every_nudge_block_serialises_exactly_as_slack_sdk_does(
    name: str, blocks: list[Block]
) -> None:
    assert [as_dict(block) for block in blocks] == [block.to_dict() for block in blocks]


def test_objects_with_their_own_to_dict_keep_it() -> None:
    select = StaticSelectElement(
        action_id="pick",
        placeholder="Pick one",
        options=[Option(text="One", value="1"), Option(text="Two", value="2")],
        confirm=ConfirmObject(title="Sure?", text="Really", confirm="Yes", deny="No"),
    )
    blocks: list[Any] = [
        SectionBlock(block_id="s", text=MarkdownTextObject(text="*x*"), accessory=select),
        ActionsBlock(elements=[ButtonElement(text="Go", action_id="go", value="1")]),
        ContextBlock(elements=[PlainTextObject(text="small")]),
        HeaderBlock(text="Title"),
        # An empty elements list is allowed only for rich text sections, as in slack-sdk.
        RichTextBlock(elements=[RichTextSectionElement(elements=[])]),
    ]
    assert [as_dict(block) for block in blocks] == [block.to_dict() for block in blocks]


def test_it_validates_like_to_dict() -> None:
    too_long = HeaderBlock(text="x" * 151)  # a header's text is at most 150 characters
    with pytest.raises(SlackObjectFormationError):
        too_long.to_dict()
    with pytest.raises(SlackObjectFormationError):
        as_dict(too_long)
