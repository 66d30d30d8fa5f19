"""The nudge DM builders: structure, Slack's limits, escaping, the attention budget."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.ids import ACTION_FOLLOWED_UP, ACTION_SKIP, ACTION_SNOOZE
from bot.nudge.blocks import Message, NudgeItem, nudge_message, resolved_message
from bot.render.drafts import DraftContext
from bot.render.templates import Renderer
from bot.sandbox.blockkit import check_message_blocks

NOW = datetime(2024, 3, 15, 10, 0, tzinfo=UTC)
CLOSED = datetime(2024, 3, 12, 16, 40, tzinfo=UTC)
HOSTILE = "<!channel> refund & <@U123> <https://evil|click>"
RENDERER = Renderer(None)


def context(**changes: Any) -> DraftContext:
    base = DraftContext(
        subject="Double charged for March invoice after plan change",
        resolution="Refunded the duplicate charge and corrected the proration rule",
        customer_name="Dana Whitfield",
        company="Harbour Freight Co",
        case_channel="phone",
        closed_at=CLOSED,
        case_reference="zendesk #48213",
        case_url="https://northwind.zendesk.com/agent/tickets/48213",
        touch_number=1,
        template="complaint_account_manager",
        channel="phone",
        why_now="72 hours after a complaint was closed",
        agent_name="Priya Raman",
        handled_by="Tom Ellis",
        speaker="account_manager",
        agent_phone="+44 20 7946 0123",
    )
    return dataclasses.replace(base, **changes)


def item(follow_up_id: int = 7, ctx: DraftContext | None = None, **changes: Any) -> NudgeItem:
    ctx = ctx or context()
    base = NudgeItem(
        follow_up_id=follow_up_id,
        source="zendesk",
        external_id="48213",
        subject=ctx.subject,
        customer_name=ctx.customer_name,
        company=ctx.company,
        channel=ctx.case_channel,
        closed_at=ctx.closed_at,
        case_url=ctx.case_url,
        why_now=ctx.why_now,
        draft=RENDERER.render_draft(ctx),
        state="due",
        due_at=NOW - timedelta(hours=1),
        assignee="Priya Raman",
    )
    return dataclasses.replace(base, **changes)


def texts(node: Any) -> list[str]:
    """Every text a user can see in a payload: `text` strings, nested anywhere."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                found.append(value)
            else:
                found += texts(value)
    elif isinstance(node, list):
        for value in node:
            found += texts(value)
    return found


def check_limits(message: Message) -> dict[str, Any]:
    """The payload, after checking Slack's limits on it (and the sandbox's own checker)."""
    payload = message.to_dict()  # slack_sdk validates lengths here
    blocks = payload["blocks"]
    assert 1 <= len(blocks) <= 50
    block_ids = [b["block_id"] for b in blocks]
    assert len(set(block_ids)) == len(block_ids), "block ids must be unique"
    for block in blocks:
        assert len(block["block_id"]) <= 255
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
            assert all(len(e["text"]) <= 2000 for e in block["elements"])
        if block["type"] == "actions":
            for element in block["elements"]:
                assert len(element["text"]["text"]) <= 75
                assert len(element["action_id"]) <= 255
                assert len(element.get("value", "")) <= 2000
    assert check_message_blocks(blocks) == []
    assert 0 < len(payload["text"]) <= 300
    return payload


def of_type(payload: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [b for b in payload["blocks"] if b["type"] == kind]


# --- one follow-up -----------------------------------------------------------------------------


def test_single_nudge_shows_case_why_now_draft_buttons_and_state() -> None:
    payload = check_limits(nudge_message([item()], NOW))
    kinds = [b["type"] for b in payload["blocks"]]
    assert kinds == ["header", "section", "section", "actions", "context"]
    case = payload["blocks"][1]["text"]["text"]
    assert "*Double charged for March invoice after plan change*" in case
    assert "Dana Whitfield · Harbour Freight Co · phone case closed <!date^" in case
    assert "<https://northwind.zendesk.com/agent/tickets/48213|open in helpdesk>" in case
    assert "*Why now:* 72 hours after a complaint was closed" in case
    draft = payload["blocks"][2]["text"]["text"]
    assert draft.startswith("*Call script*")
    assert "```\nCall script: Dana Whitfield" in draft and draft.endswith("```")
    buttons = of_type(payload, "actions")[0]["elements"]
    assert [(b["text"]["text"], b["action_id"], b["value"]) for b in buttons] == [
        ("Followed up", ACTION_FOLLOWED_UP, "7"),
        ("Snooze", ACTION_SNOOZE, "7"),
        ("Skip", ACTION_SKIP, "7"),
    ]
    assert buttons[0]["style"] == "primary"
    assert of_type(payload, "context")[0]["elements"][0]["text"] == (
        "Due now · zendesk #48213 · for Priya Raman"
    )
    assert payload["text"] == (
        "Follow up with Dana Whitfield at Harbour Freight Co about"
        " “Double charged for March invoice after plan change”: due now"
    )


@pytest.mark.parametrize(
    ("state", "due_at", "phrase", "headline"),
    [
        ("due", NOW + timedelta(hours=3), "Due in 3 hours", "Follow-up due"),
        ("due", NOW - timedelta(days=2, hours=1), "Overdue by 2 days", "Follow-up overdue"),
        ("overdue", NOW - timedelta(hours=5), "Overdue by 5 hours", "Follow-up overdue"),
        ("snoozed", NOW + timedelta(days=1), "Snoozed until <!date^", "Follow-up snoozed"),
    ],
)
def test_state_line(state: str, due_at: datetime, phrase: str, headline: str) -> None:
    payload = check_limits(nudge_message([item(state=state, due_at=due_at)], NOW))
    assert payload["blocks"][0]["text"]["text"] == headline
    assert of_type(payload, "context")[-1]["elements"][0]["text"].startswith(phrase)


def test_specificity_advice_is_shown_when_flagged() -> None:
    flagged = item(ctx=context(resolution=None))
    payload = check_limits(nudge_message([flagged], NOW))
    advice = [b for b in payload["blocks"] if b["block_id"].endswith("-advice")]
    assert len(advice) == 1
    assert ":warning:" in advice[0]["elements"][0]["text"]
    assert "Add what was fixed" in advice[0]["elements"][0]["text"]
    assert not [
        b for b in check_limits(nudge_message([item()], NOW))["blocks"] if "advice" in b["block_id"]
    ]


def test_an_unfilled_placeholder_is_named_before_you_send_it() -> None:
    payload = check_limits(nudge_message([item(ctx=context(agent_phone=None))], NOW))
    [advice] = [b for b in payload["blocks"] if b["block_id"].endswith("-advice")]
    text = advice["elements"][0]["text"]
    assert "Before you send it" in text
    assert "Fill in your direct number where the draft says “[your direct number]”" in text


@pytest.mark.parametrize(
    "url",
    [None, "", "javascript:alert(1)", "ftp://files.example/x", "https://", "mailto:a@b.example"],
)
def test_helpdesk_link_only_for_http_urls(url: str | None) -> None:
    payload = check_limits(nudge_message([item(case_url=url)], NOW))
    assert "open in helpdesk" not in payload["blocks"][1]["text"]["text"]


def test_helpdesk_link_cannot_break_out_of_its_brackets() -> None:
    url = "https://help.example/t?a=1&b=2|<!channel>"
    case = check_limits(nudge_message([item(case_url=url)], NOW))["blocks"][1]["text"]["text"]
    assert "<https://help.example/t?a=1&amp;b=2%7C&lt;!channel&gt;|open in helpdesk>" in case


def test_handed_over_follow_up_says_from_whom() -> None:
    payload = check_limits(nudge_message([item(handed_from="Sam Okafor")], NOW))
    assert (
        "Handed over to you from Sam Okafor while they are away."
        in (payload["blocks"][1]["text"]["text"])
    )


# --- escaping ------------------------------------------------------------------------------------

ALLOWED_ANGLES = re.compile(
    r"<!date\^\d+\^\{date_short_pretty\} at \{time\}\|[^<>|]*>"
    r"|<https?://[^<>|\s]+\|open in helpdesk>"
)


def hostile_item(state: str = "due") -> NudgeItem:
    ctx = context(
        subject=HOSTILE,
        resolution=HOSTILE,
        customer_name=HOSTILE,
        company=HOSTILE,
        handled_by=HOSTILE,
        why_now=HOSTILE,
    )
    return item(
        ctx=ctx,
        state=state,
        external_id=HOSTILE,
        assignee=HOSTILE,
        handed_from=HOSTILE,
        channel="<!here>",
    )


def assert_escaped(payload: dict[str, Any]) -> None:
    everything = [*texts(payload["blocks"]), payload["text"]]
    for text in everything:
        rest = ALLOWED_ANGLES.sub("", text)
        assert "<" not in rest and ">" not in rest, text
        assert "&amp;lt;" not in text and "&amp;amp;" not in text, text
        assert "&#39;" not in text
    joined = "\n".join(everything)
    assert "&lt;!channel&gt; refund &amp; &lt;@U123&gt; &lt;https://evil|click&gt;" in joined


def test_outside_text_is_escaped_once_on_every_block_and_in_the_fallback() -> None:
    payload = check_limits(nudge_message([hostile_item()], NOW))
    assert_escaped(payload)
    assert "&lt;!channel&gt;" in payload["text"]
    for block in payload["blocks"]:
        if block["type"] == "section" and block["block_id"].endswith(("-case", "-draft-0")):
            assert "&lt;!channel&gt; refund" in block["text"]["text"]
    status = of_type(payload, "context")[-1]["elements"][0]["text"]
    assert "&lt;@U123&gt;" in status  # the case reference and the assignee


def test_escaping_holds_in_lists_and_resolved_messages() -> None:
    many = [dataclasses.replace(hostile_item(), follow_up_id=n) for n in range(9)]
    assert_escaped(check_limits(nudge_message(many, NOW)))
    for state in ("done", "snoozed", "escalated"):
        message = resolved_message(hostile_item(state), f"Customer said: {HOSTILE}", NOW)
        assert_escaped(check_limits(message))


# --- limits ------------------------------------------------------------------------------------


def test_very_long_inputs_stay_within_limits() -> None:
    huge = "Refund & <b>" * 900  # over 10,000 characters
    ctx = context(subject=huge, resolution=huge, customer_name=huge[:5000], company=huge)
    long_item = item(ctx=ctx, why_now=huge, assignee=huge, handed_from=huge, external_id=huge)
    payload = check_limits(nudge_message([long_item], NOW))
    drafts = [b for b in payload["blocks"] if "-draft-" in b["block_id"]]
    assert len(drafts) > 1  # the draft is split over several sections
    assert "…" in payload["blocks"][1]["text"]["text"]
    assert all("```" in b["text"]["text"] for b in drafts)
    for text in texts(payload["blocks"]):
        assert not re.search(r"&[a-z]{0,3}…", text), "never cut inside an escape"
    several = [dataclasses.replace(long_item, follow_up_id=n) for n in range(12)]
    check_limits(nudge_message(several, NOW))
    check_limits(resolved_message(long_item, huge, NOW))


UNICODE = "Ẓ̵̢͎a̴͚͐l̸̰̈g̷̟͠o̶͍͌ 🧾💳🔁👩‍👩‍👧‍👦 مرحبا بالعالم שלום 日本語のテキスト \u200f\u202e"


def test_unicode_heavy_inputs_are_accepted() -> None:
    text = UNICODE * 120
    ctx = context(subject=text[:9000], resolution=text, customer_name=UNICODE, company=UNICODE)
    payload = check_limits(nudge_message([item(ctx=ctx)], NOW))
    assert "🧾" in payload["blocks"][1]["text"]["text"]
    assert "مرحبا" in payload["text"]


def test_draft_with_backticks_cannot_close_the_code_block() -> None:
    ctx = context(resolution="Ran ```rm -rf``` on the cache")
    draft = check_limits(nudge_message([item(ctx=ctx)], NOW))["blocks"][2]["text"]["text"]
    assert draft.count("```") == 2


# --- several follow-ups: the attention budget -------------------------------------------------


def due_items(count: int) -> list[NudgeItem]:
    return [
        item(
            follow_up_id=100 + n,
            ctx=context(subject=f"Case number {n} about invoices"),
            priority=1 if n in (9, 10) else 0,
            due_at=NOW - timedelta(hours=n),
        )
        for n in range(count)
    ]


def test_twelve_due_shows_five_and_lists_the_rest() -> None:
    payload = check_limits(nudge_message(due_items(12), NOW))
    assert len(payload["blocks"]) <= 50
    assert payload["blocks"][0]["text"]["text"] == "12 follow-ups due"
    actions = of_type(payload, "actions")
    # Highest priority first, then the longest waiting.
    assert [a["elements"][0]["value"] for a in actions] == ["110", "109", "111", "108", "107"]
    rest = payload["blocks"][-1]["text"]["text"]
    assert rest.startswith("*7 more due*")
    assert rest.count("• ") == 7
    assert "`/followup due`" in rest
    assert payload["text"].startswith("12 follow-ups due: “Case number 10 about invoices”")


def test_cap_is_honoured_and_blocks_never_exceed_fifty() -> None:
    for count, cap in ((2, 5), (5, 5), (6, 3), (40, 40), (60, 10)):
        payload = check_limits(nudge_message(due_items(count), NOW, cap=cap))
        assert len(of_type(payload, "actions")) <= min(count, cap)
    flagged = [
        dataclasses.replace(i, draft=RENDERER.render_draft(context(resolution=None)))
        for i in due_items(30)
    ]
    check_limits(nudge_message(flagged, NOW, cap=30))


def test_the_same_follow_up_twice_is_shown_once() -> None:
    payload = check_limits(nudge_message([item(), item()], NOW))
    assert len(of_type(payload, "actions")) == 1


def test_an_empty_list_is_refused() -> None:
    with pytest.raises(ValueError):
        nudge_message([], NOW)


# --- after the state changed -------------------------------------------------------------------


@pytest.mark.parametrize("state", ["done", "skipped", "escalated", "cancelled", "failed", "other"])
def test_finished_follow_up_has_no_stale_buttons(state: str) -> None:
    message = resolved_message(item(state=state), "Customer confirmed it is resolved", NOW)
    payload = check_limits(message)
    assert of_type(payload, "actions") == []
    assert not [b for b in payload["blocks"] if "-draft-" in b["block_id"]]
    recorded = next(b for b in payload["blocks"] if b["block_id"].endswith("-outcome"))
    assert "Customer confirmed it is resolved" in recorded["text"]["text"]
    assert "Customer confirmed it is resolved" in payload["text"]


def test_snoozed_follow_up_keeps_its_draft_and_buttons() -> None:
    snoozed = item(state="snoozed", due_at=NOW + timedelta(days=2))
    payload = check_limits(resolved_message(snoozed, "Snoozed for 2 days", NOW))
    assert len(of_type(payload, "actions")) == 1
    assert payload["blocks"][0]["text"]["text"] == "Follow-up snoozed"
    assert payload["blocks"][2]["block_id"] == "fu-7-outcome"
