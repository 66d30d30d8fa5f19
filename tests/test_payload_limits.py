"""Every Block Kit payload the bot builds, fed the longest and nastiest input it accepts, passes
the sandbox's validator: Slack's documented limits (bot/sandbox/blockkit.py), so no message,
modal or Home tab of ours is refused by a real workspace.

Inputs are as long as intake lets them be (bot/cases.py) and full of `&`, `<` and `>`, which
escaping turns into five characters each: the builders must shorten after escaping.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from sqlalchemy import select

from bot import ids
from bot.cases import MAX_ID, MAX_RESOLUTION, MAX_SHORT, MAX_SUBJECT
from bot.digest.blocks import DRILLDOWNS, MODAL_ITEMS, digest_blocks, drilldown_view
from bot.digest.causes import TREND_WEEKS as CAUSE_WEEKS
from bot.digest.causes import CauseTrend
from bot.digest.content import (
    TOP_CAUSES,
    Cause,
    DigestContent,
    TrendPoint,
    Week,
    render_digest,
    trim_quote,
)
from bot.dispatch.dispatcher import dispatch_pass
from bot.intake.log_case import log_case_modal
from bot.loop import views as loop_views
from bot.loop.queue import due_reply, home_view
from bot.nudge.blocks import ID_MAX, OPEN_STATES, NudgeItem, nudge_message, resolved_message
from bot.people.triage import triage_blocks
from bot.render.drafts import DraftContext
from bot.render.templates import Renderer
from bot.sandbox import SlackSandbox
from bot.sandbox.blockkit import MESSAGE_TEXT_TRUNCATE_AT, check_message_blocks, check_view
from db.cases import agent_by_slack_id
from db.digest import CaseRow, DueCounts, HoldCounts
from db.models import Agent
from handlers.commands.followup import help_reply

RENDERER = Renderer(None)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
CLOSED = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
_NASTY = "<!channel> & <@U0BOSS> <https://evil.example|click> > "


def hostile(length: int) -> str:
    """`length` characters of mentions, links and the three characters Slack escapes."""
    return (_NASTY * (length // len(_NASTY) + 1))[:length]


LONG_URL = ("https://help.example/tickets?q=" + "&a=<b>" * MAX_SHORT)[:MAX_SHORT]


def blocks_of(blocks: list[Block] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b if isinstance(b, dict) else b.to_dict() for b in blocks]


def assert_message(blocks: list[Block] | list[dict[str, Any]], text: str | None = None) -> None:
    """A message Slack takes as it is: blocks within every limit, text never truncated."""
    assert check_message_blocks(blocks_of(blocks)) == []
    assert text is None or 0 < len(text) <= MESSAGE_TEXT_TRUNCATE_AT


def assert_view(view: Any) -> dict[str, Any]:
    payload = view if isinstance(view, dict) else view.to_dict()
    assert check_view(payload) == []
    return payload


# --- the nudge DM --------------------------------------------------------------------------------

TEMPLATES = (
    "check_in",
    "complaint_owner",
    "complaint_account_manager",
    "fix_held",
    "no_reply_nudge",
)


def nudge_item(
    follow_up_id: int | str,
    *,
    template: str = "complaint_account_manager",
    channel: str = "email",
    state: str = "due",
) -> NudgeItem:
    context = DraftContext(
        subject=hostile(MAX_SUBJECT),
        resolution=hostile(MAX_RESOLUTION),
        customer_name=hostile(MAX_SHORT),
        company=hostile(MAX_SHORT),
        case_channel=channel,
        closed_at=CLOSED,
        case_reference=f"zendesk #{hostile(MAX_ID)}",
        case_url=LONG_URL,
        touch_number=3,
        template=template,
        channel=channel,
        why_now=hostile(300),
        agent_name=hostile(MAX_SHORT),
        review_invite=True,
        referral_ask=True,
        handled_by=hostile(MAX_SHORT),
        team_name=hostile(MAX_SHORT),
        agent_phone=hostile(40),
        review_url=LONG_URL,
    )
    return NudgeItem(
        follow_up_id=follow_up_id,
        source=hostile(40),
        external_id=hostile(MAX_ID),
        subject=context.subject,
        customer_name=context.customer_name,
        company=context.company,
        channel=channel,
        closed_at=CLOSED,
        case_url=LONG_URL,
        why_now=context.why_now,
        draft=RENDERER.render_draft(context),
        state=state,
        due_at=NOW - timedelta(days=3),
        assignee=hostile(MAX_SHORT),
        handed_from=hostile(MAX_SHORT),
        priority=hash(str(follow_up_id)) % 3,
    )


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("channel", ["email", "phone", "chat"])
def test_a_single_nudge_for_every_draft(template: str, channel: str) -> None:
    message = nudge_message([nudge_item("9" * ID_MAX, template=template, channel=channel)], NOW)
    assert_message(message.blocks, message.text)


@pytest.mark.parametrize("count", [2, 5, 6, 30])
@pytest.mark.parametrize("cap", [1, 5, 100])
def test_a_nudge_listing_several_follow_ups(count: int, cap: int) -> None:
    items = [nudge_item(f"{n:0{ID_MAX}d}") for n in range(count)]
    message = nudge_message(items, NOW, cap=cap)
    assert_message(message.blocks, message.text)


@pytest.mark.parametrize("state", sorted({*OPEN_STATES, "done", "skipped", "escalated", "failed"}))
def test_the_nudge_after_its_outcome_is_recorded(state: str) -> None:
    item = nudge_item("9" * ID_MAX, state=state)
    message = resolved_message(item, hostile(MAX_RESOLUTION), NOW)
    assert_message(message.blocks, message.text)


# --- the weekly digest ---------------------------------------------------------------------------


def case_row(n: int) -> CaseRow:
    return CaseRow(
        followup_id=n,
        source=hostile(40),
        external_id=hostile(MAX_ID),
        subject=hostile(MAX_SUBJECT),
        url=LONG_URL,
        due_at=NOW,
        result="not_resolved",
        root_cause=hostile(200),
        customer_said=hostile(loop_views.SAID_LIMIT),
        recorded_at=NOW,
    )


def digest_content(busy: bool) -> DigestContent:
    week = Week.containing(NOW, UTC)
    scale = 10**6 if busy else 0
    trend = tuple(
        TrendPoint(week.shifted(-n).label, scale, scale // 2, scale // 4, scale // 8, scale, scale)
        for n in range(4, -1, -1)
    )
    weekly = (scale,) * CAUSE_WEEKS
    return DigestContent(
        team_name=hostile(MAX_SHORT),
        team_slug=hostile(60),
        week=week,
        as_of=NOW,
        loops=DueCounts(scale, scale // 2, scale // 4, scale // 8, scale),
        hold=HoldCounts(scale, scale, scale // 2, scale // 3, scale),
        overdue=scale,
        medians={"first check-in": 1e6, "30-day check": 1e6} if busy else {},
        results={"resolved": scale, "not_resolved": scale, "no_reply": scale} if busy else {},
        not_held=tuple(case_row(n) for n in range(5)) if busy else (),
        causes=tuple(
            Cause(hostile(200), scale, (hostile(140), hostile(140)), "rising", 4)
            for _ in range(TOP_CAUSES)
        )
        if busy
        else (),
        cause_trends=tuple(
            CauseTrend(hostile(200), weekly, "rising") for _ in range(50 if busy else 0)
        ),
        review_asked=scale,
        review_given=scale,
        referral_asked=scale,
        referral_given=scale,
        triaged=scale,
        triage_waiting=scale,
        trend=trend,
    )


@pytest.mark.parametrize("busy", [True, False], ids=["busy week", "empty week"])
@pytest.mark.parametrize("digest_id", [2**63 - 1, None], ids=["posted", "preview"])
def test_the_digest_message(busy: bool, digest_id: int | None) -> None:
    text = render_digest(RENDERER, digest_content(busy))
    assert_message(digest_blocks(text, digest_id), text.as_text())


@pytest.mark.parametrize("kind", sorted(DRILLDOWNS))
def test_the_digest_drill_down_modals(kind: str) -> None:
    rows = [case_row(n) for n in range(MODAL_ITEMS * 3)]
    items = [
        RENDERER.render(
            "digest/drilldown_item.j2",
            {
                "reference": row.reference,
                "subject": trim_quote(row.subject, 150),
                "detail": f"Root cause: {row.root_cause}",
                "said": trim_quote(row.customer_said or ""),
            },
        ).strip()
        for row in rows
    ]
    intro = "\n".join(f"• {hostile(200)}: {n}" for n in range(20))
    assert_view(drilldown_view(kind, intro, items, 10**6, hostile(300)))


# --- the outcome, skip, snooze and log-case modals -----------------------------------------------

CASE = loop_views.ModalCase(
    followup_id=2**63 - 1,
    reference=hostile(MAX_ID + 40),
    subject=hostile(MAX_SUBJECT),
    customer=hostile(MAX_SHORT),
    review_eligible=True,
    referral_eligible=True,
)
META = loop_views.metadata(
    loop_views.ModalMeta(2**63 - 1, "D" + "0" * 20, "1700000000.000100", "command")
)


def test_the_outcome_modal_with_every_ask_and_many_root_causes() -> None:
    causes = [f"{n} {hostile(200)}" for n in range(150)]
    view = assert_view(loop_views.outcome_modal(CASE, causes, META))
    assert {b.get("block_id") for b in view["blocks"]} >= {ids.OUTCOME_CAUSE, ids.OUTCOME_ASKS}


def test_the_skip_and_snooze_modals() -> None:
    assert_view(loop_views.skip_modal(CASE, META))
    assert_view(loop_views.snooze_modal(CASE, META, date(2026, 12, 31)))


def test_the_log_case_modal() -> None:
    view = assert_view(
        log_case_modal("U" + "0" * 30, date(2026, 11, 23), "America/Argentina/ComodRivadavia", "C0")
    )
    [resolution] = [b for b in view["blocks"] if b["block_id"] == ids.LOG_RESOLUTION]
    assert resolution["element"]["max_length"] == 3000  # Slack's most; a webhook may send more


def test_the_log_case_modal_opens_through_the_sandbox_and_would_not_at_4000(
    sandbox: SlackSandbox,
) -> None:
    sandbox.add_user("U0AGENT")
    client = WebClient(base_url=sandbox.api_url, token=sandbox.bot_token)
    view = log_case_modal("U0AGENT", date(2026, 11, 23), "Europe/London", "C0").to_dict()
    assert client.views_open(trigger_id=sandbox.new_trigger_id("U0AGENT"), view=view)["ok"]

    as_before = copy.deepcopy(view)
    [resolution] = [b for b in as_before["blocks"] if b["block_id"] == ids.LOG_RESOLUTION]
    resolution["element"]["max_length"] = MAX_RESOLUTION  # what the modal asked for until now
    with pytest.raises(SlackApiError) as refused:
        client.views_open(trigger_id=sandbox.new_trigger_id("U0AGENT"), view=as_before)
    index = as_before["blocks"].index(resolution)
    assert refused.value.response["error"] == "invalid_arguments"
    assert refused.value.response["response_metadata"]["messages"] == [
        f"[ERROR] must be between 1 and 3000 [json-pointer:/view/blocks/{index}/element/max_length]"
    ]


# --- the triage and escalation posts, the help reply --------------------------------------------


@pytest.mark.parametrize("assigned_to", [None, "U" + "0" * 30])
def test_the_triage_post(assigned_to: str | None) -> None:
    blocks = triage_blocks(
        2**63 - 1,
        f"{hostile(40)} #{hostile(MAX_ID)}",
        hostile(MAX_SUBJECT),
        hostile(MAX_SHORT),
        assigned_to=assigned_to,
    )
    assert_message(blocks)


@pytest.mark.parametrize("handled_by", [None, "U" + "0" * 30])
def test_the_escalation_post(handled_by: str | None) -> None:
    blocks = loop_views.escalation_blocks(
        followup_id=2**63 - 1,
        reference=f"{hostile(40)} #{hostile(MAX_ID)}",
        subject=hostile(MAX_SUBJECT),
        customer=hostile(MAX_SHORT),
        customer_said=hostile(loop_views.SAID_LIMIT),
        agent_id="U" + "0" * 30,
        lead_id="U" + "1" * 30,
        permalink="https://sandbox.slack.com/archives/D0123456789/p1700000000000100" + "0" * 200,
        handled_by=handled_by,
    )
    assert_message(blocks)


def test_the_help_reply() -> None:
    class Call:
        class deps:
            renderer = RENDERER

    reply = help_reply(Call())  # type: ignore[arg-type]
    assert_message(reply.blocks, reply.text)


# --- App Home and `/followup due`, from hostile cases through the running bot --------------------


def _hostile_case(n: int, closed: datetime) -> dict[str, Any]:
    return {
        "case_id": f"{n:03d}{hostile(MAX_ID - 3)}",
        "subject": hostile(MAX_SUBJECT),
        "resolution": hostile(MAX_RESOLUTION),
        "customer_name": hostile(MAX_SHORT),
        "company": hostile(MAX_SHORT),
        "url": LONG_URL,
        "kind": "complaint",
        "channel": "phone",
        "closed_at": closed.isoformat(),
        "owner_email": "ada@example.com",
    }


def test_app_home_and_the_due_reply_for_a_long_hostile_queue(bot: Any) -> None:
    for n in range(12):
        assert bot.post_generic(_hostile_case(n, CLOSED))[0] == 202
    for n in range(12, 24):
        assert bot.post_generic(_hostile_case(n, NOW))[0] == 202
    bot.clock.set(NOW)
    report = dispatch_pass(bot.deps)
    assert report.delivered >= 1 and report.failed == 0 and not report.errors
    assert bot.sandbox.dm_messages("U0AGENT"), "the sandbox accepted the nudge DMs"
    with bot.deps.session_factory.begin() as session:
        lead = agent_by_slack_id(session, "U0LEAD", NOW)
        ada = session.scalar(select(Agent).where(Agent.slack_user_id == "U0AGENT"))
        assert ada is not None
        lead.is_lead, lead.team_id, ada.lead_id = True, ada.team_id, lead.id

    bot.clock.set(NOW + timedelta(days=5))  # the sent follow-ups are overdue for the lead
    for user in ("U0AGENT", "U0LEAD"):
        view = assert_view(home_view(bot.deps, user))
        assert bot.deps.client.views_publish(user_id=user, view=view)["ok"]
    reply = due_reply(bot.deps, "U0AGENT")
    assert reply.blocks, "the due list shows the follow-ups with their buttons"
    assert_message(reply.blocks, reply.text)
