"""Pure Block Kit builders for the weekly digest: the channel message and the drill-down modal."""

from __future__ import annotations

import re
from typing import Final

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot import ids
from bot.digest.content import DigestText
from bot.slack.text import shorten

DRILL_NOT_HELD: Final = "not_held"
DRILL_OVERDUE: Final = "overdue"
DRILL_CAUSES: Final = "root_causes"
DRILL_COMING_BACK: Final = "coming_back"
DRILLDOWNS: Final = {
    DRILL_NOT_HELD: "Didn't hold",
    DRILL_OVERDUE: "Overdue",
    DRILL_CAUSES: "Root causes",
    DRILL_COMING_BACK: "Keeps coming back",
}
"""Drill-down kind → button label (also the modal's title)."""

DRILLDOWN_ACTION: Final = re.compile(rf"^{ids.ACTION_DIGEST_DRILLDOWN}_({'|'.join(DRILLDOWNS)})$")
"""Each button's action id is `digest_drilldown_<kind>` (ids must differ within a block)."""

MAX_MESSAGE_BLOCKS: Final = 50
MAX_MODAL_BLOCKS: Final = 100
MODAL_ITEMS: Final = 40
"""Cases listed in one modal; the rest are counted ("and N more") and are in the CSV export."""
SECTION_LIMIT: Final = 3000
CONTEXT_LIMIT: Final = 2000


def drilldown_value(digest_id: int, kind: str) -> str:
    return f"{digest_id}:{kind}"


def parse_drilldown_value(value: str) -> tuple[int, str]:
    """(digest id, kind) from a button value; ValueError when it is not one of ours."""
    digest_id, _, kind = value.partition(":")
    if kind not in DRILLDOWNS:
        raise ValueError(f"unknown drill-down {value!r}")
    return int(digest_id), kind


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=shorten(text, SECTION_LIMIT)))


def digest_blocks(text: DigestText, digest_id: int | None) -> list[Block]:
    """The digest message: header, one section per part, the drill-down buttons (when posted)."""
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=shorten(text.header, 150)))]
    blocks += [_section(part) for part in text.sections()[:-1]]
    blocks.append(DividerBlock())
    blocks.append(_section(text.sections()[-1]))
    if digest_id is not None:
        blocks.append(
            ActionsBlock(
                block_id="digest_drilldown",
                elements=[
                    ButtonElement(
                        text=label,
                        action_id=f"{ids.ACTION_DIGEST_DRILLDOWN}_{kind}",
                        value=drilldown_value(digest_id, kind),
                    )
                    for kind, label in DRILLDOWNS.items()
                ],
            )
        )
    blocks.append(
        ContextBlock(elements=[MarkdownTextObject(text=shorten(text.footer, CONTEXT_LIMIT))])
    )
    assert len(blocks) <= MAX_MESSAGE_BLOCKS
    return blocks


def drilldown_view(kind: str, intro: str, items: list[str], more: int, more_text: str) -> View:
    """A modal listing cases: `items` are rendered, escaped mrkdwn lines, at most MODAL_ITEMS."""
    blocks: list[Block] = [_section(intro)]
    shown = items[:MODAL_ITEMS]
    for item in shown:
        blocks.append(_section(item))
    hidden = more + len(items) - len(shown)
    if hidden:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=shorten(f"…and {hidden} more. {more_text}", CONTEXT_LIMIT)
                    )
                ]
            )
        )
    assert len(blocks) <= MAX_MODAL_BLOCKS
    return View(
        type="modal",
        callback_id=ids.VIEW_DIGEST_DRILLDOWN,
        title=PlainTextObject(text=DRILLDOWNS[kind][:24]),
        close=PlainTextObject(text="Close"),
        blocks=blocks,
    )
